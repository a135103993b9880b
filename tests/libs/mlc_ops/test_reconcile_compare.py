from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from mapper.admin import map_event
from mlc_core.contracts import Entity
from mlc_ops.reconcile_compare import compare, differing_fields
from mlc_ops.reconcile_sources import expected_records

from tests.services.mapper.rows import order_row


def test_each_record_lands_in_one_of_four_groups() -> None:
    expected = {
        "01-A": {"Account_Name": "Alpha", "Phone": "1"},
        "01-B": {"Account_Name": "Beta", "Phone": "2"},
        "01-C": {"Account_Name": "Gamma"},
    }
    zoho = {
        "01-A": {"id": "1", "Account_Name": "Alpha ", "Phone": "1"},
        "01-B": {"id": "2", "Account_Name": "Beta", "Phone": "9"},
        "01-Z": {"id": "3", "Account_Name": "Zombie"},
    }
    found = {f.key: f for f in compare("ar_customer", expected, zoho)}
    assert found["01-A"].status == "equal"
    assert found["01-B"].status == "different" and found["01-B"].fields == ("Phone",)
    assert found["01-C"].status == "only_in_sage" and found["01-C"].zoho_id is None
    assert found["01-Z"].status == "only_in_zoho" and found["01-Z"].zoho_id == "3"


def test_missing_and_empty_are_the_same_but_a_lost_value_is_a_difference() -> None:
    assert differing_fields({"Fax": ""}, {}) == ()
    assert differing_fields({"Fax": "555"}, {"Fax": None}) == ("Fax",)


def test_a_value_cleared_in_sage_but_kept_in_zoho_is_a_difference_named_so() -> None:
    """The mapper sends a field Sage cleared as null; Zoho still holding a value differs."""
    [finding] = compare("ar_customer", {"01-A": {"Fax": None}}, {"01-A": {"id": "1", "Fax": "5"}})
    assert finding.status == "different" and finding.cleared == ("Fax",)
    assert finding.as_row()[-1] == "Fax(Sage empty)"
    [same] = compare("ar_customer", {"01-A": {"Fax": None}}, {"01-A": {"id": "1", "Fax": None}})
    assert same.status == "equal"


def test_an_order_is_expected_in_sales_orders_and_its_items_in_products() -> None:
    """A sales order's own record is its last command; the products before it are expected
    in Products under their item codes, each naming an order that writes it."""
    tenant = cast(Any, SimpleNamespace(tenant_id="acme", config=_config()))
    rows = [order_row(SalesOrderNo=n) for n in ("0000001", "0000002")]
    expected = expected_records(
        tenant,
        Entity.SALES_ORDER,
        rows,
        key_of=lambda row: str(row["SalesOrderNo"]),
        version_of=lambda row: "1",
        mapper=map_event,
    )
    assert sorted(expected.own) == ["0000001", "0000002"] and not expected.refused
    assert {c.module for c in expected.own.values()} == {"Sales_Orders"}
    products = expected.related["Products"]
    assert sorted(products) == ["1001-HON", "2002-BLU"]
    assert products["2002-BLU"][1] == "0000001"


def _config() -> SimpleNamespace:
    return SimpleNamespace(sage=SimpleNamespace(company_code="ABC"))
