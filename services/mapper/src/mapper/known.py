"""The names a tenant's mapping file may refer to: Sage columns per entity and the Zoho
fields each entity's default mapping writes, so a typo in the file is caught when it loads.

Sage columns: each entity's SageTable.columns (mlc_core.entities.sage). `UDF_*` columns are
site-specific and always allowed.
"""

from __future__ import annotations

import difflib

from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES

from mapper.drafts import EXTERNAL_FIELDS, STATUS_FIELD
from mapper.limits import TEXT_LENGTHS
from mapper.zoho_schema import CUSTOM_FIELDS

UDF_PREFIX = "UDF_"
SAGE_COLUMNS: dict[Entity, frozenset[str]] = {
    entity: frozenset(table.columns) for entity, table in SAGE_TABLES.items()
}
# Zoho fields the document and reference mappings write besides those in the limit tables.
_DOCUMENT_FIELDS = "Subject Due_Date Sub_Total Tax Adjustment Discount Grand_Total Deal_Name"
_EXTRA_FIELDS = {
    "Sales_Orders": f"{_DOCUMENT_FIELDS} Ordered_Items",
    "Invoices": f"{_DOCUMENT_FIELDS} Invoiced_Items Invoice_Date",
    "Sage_Invoices": "Name",
    "Sage_AP_Invoices": "Name",
    "Sage_GL_Accounts": "Name",
    "Sage_GL_Account_Groups": "Name",
}


def module_fields(module: str) -> frozenset[str]:
    """The Zoho fields our mapping of `module` can write."""
    names = set(TEXT_LENGTHS.get(module, {})) | {EXTERNAL_FIELDS[module], STATUS_FIELD}
    names |= {spec.api_name for spec in CUSTOM_FIELDS.get(module, [])}
    return frozenset(names | set(_EXTRA_FIELDS.get(module, "").split()))


def is_known_column(entity: Entity, column: str) -> bool:
    return column.startswith(UDF_PREFIX) or column in SAGE_COLUMNS[entity]


def did_you_mean(name: str, known: frozenset[str] | set[str]) -> str:
    """' (did you mean 'X'?)' for the closest known name, or '' when none is close."""
    by_case = {k.lower(): k for k in known}
    if name.lower() in by_case:
        return f"; did you mean {by_case[name.lower()]!r}?"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
