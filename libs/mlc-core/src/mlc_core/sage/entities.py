"""Per-entity facts shared by the agent, its client and the poller: table, key columns, the
source_key format, and the content hash used for dedupe and reconciliation.

source_key: when the first key column is a division ("01"), the key starts "01-"; the remaining
key columns follow, joined by ":". Examples: "01-ABF", "01-ABF:JSMITH", "000000010", "0000123",
"0100234:000000". ":" never appears inside a valid key value, so a key parses back unambiguously.
docs/sage-entities.md documents each entity's key and columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlc_core.contracts import Entity

# Stamp columns change on every touch; leaving them out of the content hash means a re-touch
# without a real change costs no Kafka event and no Zoho call.
STAMP_COLUMNS = frozenset({"DateUpdated", "TimeUpdated", "UserUpdatedKey"})
KEY_SEPARATOR = ":"


class SourceKeyError(ValueError):
    """A source_key that does not fit the entity's key format."""


@dataclass(frozen=True)
class EntitySpec:
    entity: Entity
    table: str
    key_columns: tuple[str, ...]
    path: str  # the agent's URL segment
    division: bool = False  # first key column is a 2-digit division

    def source_key(self, values: Mapping[str, Any]) -> str:
        parts = [str(values.get(column, "")) for column in self.key_columns]
        if self.division:
            return f"{parts[0]}-{KEY_SEPARATOR.join(parts[1:])}"
        return KEY_SEPARATOR.join(parts)

    def key_values(self, source_key: str) -> dict[str, str]:
        rest, parts = source_key, []
        expected = self.source_key({c: c for c in self.key_columns})
        if self.division:
            if len(source_key) < 4 or source_key[2] != "-":
                raise SourceKeyError(f"{self.entity} key {source_key!r}: expected {expected}")
            parts, rest = [source_key[:2]], source_key[3:]
        parts += rest.split(KEY_SEPARATOR)
        if len(parts) != len(self.key_columns) or not all(parts):
            raise SourceKeyError(f"{self.entity} key {source_key!r}: expected {expected}")
        return dict(zip(self.key_columns, parts, strict=True))


SPECS: dict[Entity, EntitySpec] = {
    spec.entity: spec
    for spec in (
        EntitySpec(
            Entity.AR_CUSTOMER, "AR_Customer", ("ARDivisionNo", "CustomerNo"), "ar_customers", True
        ),
        EntitySpec(
            Entity.CUSTOMER_CONTACT,
            "AR_CustomerContact",
            ("ARDivisionNo", "CustomerNo", "ContactCode"),
            "customer_contacts",
            True,
        ),
        EntitySpec(Entity.AP_VENDOR, "AP_Vendor", ("APDivisionNo", "VendorNo"), "ap_vendors", True),
        EntitySpec(
            Entity.AP_OPEN_INVOICE,
            "AP_OpenInvoice",
            ("APDivisionNo", "VendorNo", "InvoiceNo", "HeaderSeqNo"),
            "ap_open_invoices",
            True,
        ),
        EntitySpec(Entity.GL_ACCOUNT, "GL_Account", ("AccountKey",), "gl_accounts"),
        EntitySpec(
            Entity.GL_ACCOUNT_GROUP, "GL_AccountGroup", ("AccountGroup",), "gl_account_groups"
        ),
        EntitySpec(Entity.SALES_ORDER, "SO_SalesOrderHeader", ("SalesOrderNo",), "sales_orders"),
        EntitySpec(
            Entity.AR_INVOICE,
            "AR_InvoiceHistoryHeader",
            ("InvoiceNo", "HeaderSeqNo"),
            "ar_invoices",
        ),
        EntitySpec(
            Entity.AR_OPEN_INVOICE,
            "AR_OpenInvoice",
            ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType"),
            "ar_open_invoices",
            True,
        ),
    )
}
BY_PATH = {spec.path: spec for spec in SPECS.values()}


def content_hash(record: Mapping[str, Any]) -> bytes:
    """sha256 of the record without its update stamps (same function in agent and poller)."""
    body = {k: v for k, v in record.items() if k not in STAMP_COLUMNS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
