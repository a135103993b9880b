"""A Sage table of one company, keyed by its KPRIMARY columns: writes, renumbering, change feed.

Writes come in three flavours, like on a real server:
- a normal UI/BOI write stamps DateUpdated/TimeUpdated (and DateCreated/TimeCreated when new);
- a Visual Integrator style bulk import (`stamp=None`) changes data without touching stamps;
- `raw=True` stores values unvalidated, to plant the damaged records some sites do have
  (over-long values, bad dates, undecodable bytes), which the connector must survive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sage100_emulator.clock import parse_hours
from sage100_emulator.columns import (
    AUDIT_COLUMNS,
    Kind,
    RecordError,
    Row,
    Value,
    _normalize_value,
    normalize_customer_no,
    normalize_patch,
)
from sage100_emulator.customers import (
    ChangePage,
    SortKey,
    WriteStamp,
    _stamp_created,
    _stamp_updated,
    encode_cursor,
)
from sage100_emulator.schema import AR_CUSTOMER, TableSpec

Key = tuple[str, ...]
Normalizer = Callable[[Mapping[str, object]], Row]


def bytes_value(raw: object) -> object:
    """{"$bytes_hex": "636166e9"} -> text holding those bytes (undecodable ones escaped)."""
    if isinstance(raw, dict) and set(raw) == {"$bytes_hex"}:
        return bytes.fromhex(str(raw["$bytes_hex"])).decode("utf-8", "surrogateescape")
    return raw


def spec_normalizer(spec: TableSpec) -> Normalizer:
    columns = spec.by_name

    def normalize(raw: Mapping[str, object]) -> Row:
        patch: Row = {}
        for name, value in raw.items():
            column = columns.get(name)
            if column is None:
                raise RecordError(name, f"unknown {spec.name} column")
            width = spec.zero_fill.get(name)
            text = str(value).strip() if value is not None else ""
            if width and text.isdigit() and len(text) <= width:
                patch[name] = text.zfill(width)
            elif name == "CustomerNo" and text:
                patch[name] = normalize_customer_no(text)
            else:
                patch[name] = _normalize_value(column, value)
        return patch

    return normalize


def raw_patch(raw: Mapping[str, object]) -> Row:
    """Values as given (no validation); numbers stay numbers, everything else becomes text."""
    patch: Row = {}
    for name, value in raw.items():
        value = bytes_value(value)
        patch[name] = value if isinstance(value, float | int) else str(value)
    return patch


class Table:
    """Rows keyed by the spec's key columns (Sage's KPRIMARY)."""

    def __init__(self, spec: TableSpec, normalize: Normalizer | None = None) -> None:
        self.spec = spec
        self._normalize = normalize or spec_normalizer(spec)
        self._rows: dict[Key, Row] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def key_of(self, row: Mapping[str, Value]) -> Key:
        return tuple(str(row.get(column, "")) for column in self.spec.key)

    def primary_keys(self) -> list[Key]:
        return sorted(self._rows)

    def get(self, *key: str) -> Row | None:
        row = self._rows.get(tuple(key))
        return dict(row) if row is not None else None

    def rows(self) -> list[Row]:
        return [dict(self._rows[key]) for key in self.primary_keys()]

    def normalize(self, raw: Mapping[str, object], *, raw_values: bool = False) -> Row:
        patch = raw_patch(raw) if raw_values else self._normalize(raw)
        missing = [column for column in self.spec.key if not raw_values and column not in patch]
        if missing:
            raise RecordError(missing[0], "is required (key column)")
        return patch

    def blank(self) -> Row:
        return {column.name: column.default for column in self.spec.columns}

    def upsert(self, patch: Row, stamp: WriteStamp | None) -> Row:
        """Merge `patch` into its row; stamp it if new or changed (and a stamp is given)."""
        key = self.key_of(patch)
        data = {k: v for k, v in patch.items() if stamp is None or k not in AUDIT_COLUMNS}
        existing = self._rows.get(key)
        row = (existing or self.blank()) | data
        if existing is None:
            self.on_create(row)
        if stamp is not None and existing is None:
            _stamp_created(row, stamp)
        if stamp is not None and row != existing:
            _stamp_updated(row, stamp)
        self._rows[key] = row
        return dict(row)

    def on_create(self, row: Row) -> None:
        """Defaults Sage fills in on a new record."""

    def delete(self, *key: str) -> bool:
        return self._rows.pop(tuple(key), None) is not None

    def renumber(self, old: Key, new: Key) -> Row:
        """Sage's renumbering utility: the record moves to a new key, stamps untouched."""
        if new in self._rows:
            raise RecordError(self.spec.key[-1], f"{'-'.join(new)} already exists")
        row = self._rows.pop(old)
        row.update(zip(self.spec.key, new, strict=True))
        self._rows[new] = row
        return dict(row)

    def sort_key(self, row: Row) -> SortKey:
        return (
            str(row.get("DateUpdated", "")),
            parse_hours(str(row.get("TimeUpdated", ""))),
            "".join(self.key_of(row)),
        )

    def changes(
        self, since: tuple[str, float] | None, after: SortKey | None, limit: int
    ) -> ChangePage:
        """Rows with (DateUpdated, TimeUpdated) >= since, strictly after the cursor."""
        selected = sorted(self._matching(since, after), key=self.sort_key)
        page = selected[:limit]
        has_more = len(selected) > limit
        cursor = encode_cursor(self.sort_key(page[-1])) if has_more and page else None
        return ChangePage([dict(row) for row in page], cursor)

    def _matching(self, since: tuple[str, float] | None, after: SortKey | None) -> Iterable[Row]:
        for row in self._rows.values():
            key = self.sort_key(row)
            if since is not None and (key[0], key[1]) < since:
                continue
            if after is not None and key <= after:
                continue
            yield row


class CustomerTable(Table):
    """AR_Customer: customer-number padding, UDF columns, salesperson division default."""

    def __init__(self) -> None:
        super().__init__(AR_CUSTOMER, normalize_patch)

    def on_create(self, row: Row) -> None:
        if not row["SalespersonDivisionNo"]:
            row["SalespersonDivisionNo"] = row["ARDivisionNo"]


def is_number_column(spec: TableSpec, name: str) -> bool:
    column = spec.by_name.get(name)
    return column is not None and column.kind is Kind.NUMBER
