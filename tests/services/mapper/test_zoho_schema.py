"""What `mlc zoho setup` plans for an org (pure); the HTTP side is in tests/e2e."""

from __future__ import annotations

from mapper.drafts import EXTERNAL_FIELDS
from mapper.zoho_schema import (
    CUSTOM_FIELDS,
    field_instruction,
    fields_needed,
    missing_fields,
    setup_plan,
)
from mlc_core.contracts import Entity

EVERYTHING = {"Accounts", "Contacts", "Vendors", "Products", "Sales_Orders", "Invoices"}


def test_full_edition_needs_only_the_custom_modules() -> None:
    result = setup_plan(list(Entity), EVERYTHING, "Invoices")
    assert result.unavailable == [] and result.warnings == []
    assert result.create_modules == [
        "Sage_AP_Invoices",
        "Sage_GL_Accounts",
        "Sage_GL_Account_Groups",
    ]
    assert result.invoice_module == "Invoices"


def test_missing_modules_switch_entities_off_and_invoices_move_to_a_custom_module() -> None:
    result = setup_plan(list(Entity), {"Accounts", "Contacts", "Products"}, "Invoices")
    assert set(result.unavailable) == {Entity.AP_VENDOR, Entity.AP_OPEN_INVOICE, Entity.SALES_ORDER}
    assert result.invoice_module == "Sage_Invoices" and "Sage_Invoices" in result.create_modules
    assert len(result.warnings) == 3 and "no Vendors module" in result.warnings[0]
    assert "Vendors" not in result.modules_needed(list(Entity))


def test_fields_start_with_the_external_key_and_skip_what_exists() -> None:
    for module in CUSTOM_FIELDS:
        assert fields_needed(module)[0].api_name == EXTERNAL_FIELDS[module]
        assert fields_needed(module)[0].body(external=True)["external"] == {"type": "org"}
    existing = {spec.api_name for spec in fields_needed("Accounts")} - {"Sage_Credit_Limit"}
    assert [s.api_name for s in missing_fields("Accounts", existing)] == ["Sage_Credit_Limit"]


def test_labels_give_back_the_api_names_and_instructions_are_exact() -> None:
    spec = next(s for s in fields_needed("Accounts") if s.api_name == "Sage_Aging_1")
    assert spec.label == "Sage Aging 1" and spec.body(external=False)["data_type"] == "currency"
    text = field_instruction("Accounts", spec)
    assert "Modules and Fields > Accounts" in text and "Currency" in text
    assert "'Sage Aging 1'" in text and "API name must be Sage_Aging_1" in text
    key = field_instruction("Contacts", fields_needed("Contacts")[0])
    assert "External field" in key
