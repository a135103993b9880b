"""`mlc zoho setup` lists, as a manual step, every field the tenant's mapping writes that the
org still lacks after it ran (pure: an in-memory org behind setup's settings calls)."""

from __future__ import annotations

from typing import Any, cast

from mapper.admin import parse_map
from mlc_core.contracts import Entity
from mlc_core.entities.zoho import ZohoField
from mlc_ops.zoho_setup import run_setup

STANDARD_ACCOUNTS = {
    "Account_Name", "Account_Number", "Phone", "Fax", "Website", "Account_Type",
    *(f"{side}_{part}" for side in ("Billing", "Shipping")
      for part in ("Street", "City", "State", "Code", "Country")),
}  # fmt: skip


class Org:
    """Accounts with Zoho's standard fields; every field setup asks for is created."""

    def __init__(self) -> None:
        self.fields: dict[str, set[str]] = {"Accounts": set(STANDARD_ACCOUNTS)}

    async def modules(self) -> set[str]:
        return set(self.fields)

    async def field_names(self, module: str) -> set[str]:
        return set(self.fields[module])

    async def create_module(self, module: str) -> str | None:
        return "not here"

    async def create_fields(
        self, module: str, specs: list[ZohoField], key: str
    ) -> list[str | None]:
        self.fields[module] |= {spec.api_name for spec in specs}
        return [None] * len(specs)


async def test_a_field_added_in_the_mapping_file_is_a_manual_step_naming_module_and_field() -> None:
    tenant_map = parse_map("entities:\n  ar_customer:\n    fields: {Region: {column: UDF_R}}\n")
    org = Org()
    out = await run_setup(cast(Any, org), [Entity.AR_CUSTOMER], tenant_map, dry_run=False)
    assert "Sage_Credit_Limit" in org.fields["Accounts"]  # the default mapping's: created
    [step] = out.manual
    assert "Accounts.Region is mapped but not in Zoho" in step and "API name must be Region" in step


async def test_nothing_to_do_when_the_org_has_every_mapped_field() -> None:
    org = Org()
    out = await run_setup(cast(Any, org), [Entity.AR_CUSTOMER], parse_map(""), dry_run=False)
    assert out.manual == []
