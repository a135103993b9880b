"""What an entity mapping produces: Zoho records still to be checked and turned into commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlc_core.contracts import ZohoLookup
from mlc_core.entities.zoho import OPEN_INVOICE_FIELD as OPEN_INVOICE_FIELD
from mlc_core.entities.zoho import ZOHO_MODULES

# The upsert key (an org-wide external text field, zoho-crm.md §4.3) of each module we write.
EXTERNAL_FIELDS: dict[str, str] = {name: m.upsert_key for name, m in ZOHO_MODULES.items()}
# Set on a record whose Sage source is gone, when the tenant deactivates rather than deletes.
STATUS_FIELD = "Sage_Status"
DELETED_STATUS = "Deleted in Sage"


@dataclass(frozen=True)
class Options:
    """Tenant choices that change the default mapping (from the tenant's mapping file)."""

    invoice_module: str = "Invoices"
    deal_id_column: str = "CRMOpportunityID"
    deal_stage: str = "Closed Won"  # the stage an invoiced deal moves to


@dataclass
class Draft:
    """One Zoho record to upsert. `sources` maps Zoho fields to the Sage columns they come
    from, so a value Zoho would refuse is reported under the column to fix."""

    module: str
    external_value: str
    record: dict[str, Any]
    sources: dict[str, str]
    lookups: list[ZohoLookup] = field(default_factory=list)
    key_field: str | None = None  # upsert key other than the module's usual one
    also_match: list[str] = field(default_factory=list)  # more duplicate-check fields, in order
    warnings: list[str] = field(default_factory=list)  # left out of an otherwise good record

    @property
    def external_field(self) -> str:
        return self.key_field or EXTERNAL_FIELDS[self.module]


# A Deal is named by its Zoho id (Sage holds it, no external key): the writer updates it with
# PUT by id, and resolves a link to it by reading it.
DEAL_MODULE, ZOHO_ID = "Deals", "id"


def deal_lookup(path: str, deal_id: str) -> ZohoLookup:
    """A link to a Deal by its Zoho id; not required: a deal Zoho does not have leaves the
    record without it (the writer reads the deal first and says so on the outcome)."""
    return ZohoLookup(
        path=path, module=DEAL_MODULE, external_field=ZOHO_ID, external_value=deal_id,
        required=False,
    )  # fmt: skip


def lookup(path: str, module: str, key: str, *, required: bool = True) -> ZohoLookup:
    """A link to the Zoho record of `module` that was upserted under Sage key `key`."""
    return ZohoLookup(
        path=path,
        module=module,
        external_field=EXTERNAL_FIELDS[module],
        external_value=key,
        required=required,
    )
