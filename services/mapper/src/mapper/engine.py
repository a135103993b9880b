"""The mapping engine: an entity's default mapping (mapper.fields) with a tenant's overrides,
compiled once per tenant map into steps over its Zoho fields, and run for every record.

Every entity, master data, documents and reference data alike, is mapped here. The overrides
are applied in one place (`_overridden`), in the order the mapping file documents: rename,
skip, added fields, code tables, defaults. Each step reads its value, translates and defaults
it, and holds it to Zoho's limits for the field (length, format, text) as it goes, so a record
is one pass over its steps. A field the tenant skips is not read at all.

A step is a closure with its columns, field names, limits and checks bound when it is
compiled: one per field, or one per run of consecutive plain texts, amounts or copies (a field
read from the same column(s) as an earlier one, Shipping_City after Billing_City, copies its
value). No code is generated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from mapper import values as v
from mapper.drafts import Draft
from mapper.fields import NOTHING_PREPARED, Field, Prepared, RecordMapping, bound
from mapper.limits import FORMATS, TEXT_LENGTHS, mandatory_fields, max_length
from mapper.profile import READERS, AddedField, EntityMap, Scalar, translate
from mapper.steps import (
    NO_DEFAULT,
    Step,
    Value,
    checker,
    copy_run,
    copy_step,
    derive_step,
    general_step,
    key_step,
    money_run,
    read_step,
    text_run,
)
from mapper.values import MappingError, Row

Tables = Mapping[str, Mapping[str, Scalar]]


@dataclass(frozen=True)
class CompiledMapping:
    """An entity's RecordMapping with one tenant's overrides: what maps its records."""

    module: str
    steps: tuple[Step, ...]
    sources: dict[str, str]
    mandatory: tuple[str, ...]
    mapping: RecordMapping
    # (field, its Sage columns): sent as null when empty and any of the columns is in the row.
    clearable: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fields: tuple[str, ...] = ()  # every Zoho field a record may carry, after the overrides

    def fill(self, row: Row, key: str, found: Prepared = NOTHING_PREPARED) -> dict[str, Any]:
        """The record's fields, in the steps' order, checked; then, in the mapping's order,
        null for each field whose Sage column(s) the row holds blank (raises MappingError)."""
        record: dict[str, Any] = {}
        for step in self.steps:
            step(row, key, found, record)
        for name, columns in self.clearable:
            if name not in record:
                for column_name in columns:
                    if column_name in row:
                        record[name] = None
                        break
        return record

    def drafts(self, row: Row, key: str) -> list[Draft]:
        """The records to upsert for one Sage row (products first, the entity's own last);
        raises MappingError naming the Sage column on the first problem."""
        mapping = self.mapping
        found = NOTHING_PREPARED if mapping.prepare is None else mapping.prepare(row, key)
        record = self.fill(row, key, found)
        for name in self.mandatory:
            if record.get(name) in (None, "", []):
                source = self.sources.get(name, name)
                raise MappingError(source, f"is empty; Zoho {self.module} require {name}")
        # `sources` is shared by every draft of this mapping: nothing downstream changes it.
        draft = Draft(self.module, key, record, self.sources, mapping.links(row, key, found))
        draft.key_field = mapping.key_field
        if found.also_match:
            draft.also_match = found.also_match
        if found.warnings:
            draft.warnings = found.warnings
        if found.before or found.after:
            return [*found.before, draft, *found.after]
        return [draft]


@dataclass
class _Planned:
    """A Zoho field after the overrides: its default field, code tables, default, or the
    added field's reader that replaced it."""

    name: str
    field: Field
    codes: tuple[Mapping[str, Scalar], ...] = ()
    default: Any = NO_DEFAULT
    added: Value | None = None


def compile_mapping(
    mapping: RecordMapping, overrides: EntityMap | None = None, tables: Tables | None = None
) -> CompiledMapping:
    planned = _overridden(mapping, overrides or EntityMap(), tables or {})
    sources = {p.name: p.field.source for p in planned if p.field.source is not None}
    module = mapping.module
    parts: list[Part] = []
    first: dict[object, str] = {}  # what a plain field reads -> the first field reading it
    for p in planned:
        source = sources.get(p.name, p.name)
        reads = _reads(p)
        earlier = None if reads is None else first.setdefault(reads, p.name)
        if earlier is None or earlier == p.name:
            parts.append(_part(module, p, source))
        elif _same_rules(module, p.name, earlier):
            parts.append((_COPY, (p.name, earlier)))
        else:
            parts.append((_STEP, copy_step(module, p.name, earlier, source)))
    steps = tuple(_runs(module, parts))
    clearable = tuple(_clearable(planned))
    names = tuple(p.name for p in planned)
    mandatory = mandatory_fields(module)
    return CompiledMapping(module, steps, sources, mandatory, mapping, clearable, names)


def _clearable(planned: list[_Planned]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Fields read from Sage columns: blank in Sage, they clear the value in Zoho. A constant,
    a default, a key or a computed total always has a value; a field marked `clears=False`
    keeps Zoho's."""
    for p in planned:
        field = p.field
        if field.clears and not field.key and p.default is NO_DEFAULT:
            columns = tuple(c for c in field.columns() if "[" not in c)
            if columns:
                yield p.name, columns


# A compiled field: a step of its own, or one of a run of consecutive plain texts, amounts or
# copies that one step maps in a loop: one call per run rather than per field.
_STEP, _TEXT, _MONEY, _COPY = range(4)
Part = tuple[int, Any]


def _runs(module: str, parts: list[Part]) -> Iterator[Step]:
    for kind, run in groupby(parts, key=lambda part: part[0]):
        items = [item for _, item in run]
        if kind == _STEP:
            yield from items
        elif kind == _TEXT:
            yield text_run(module, items)
        elif kind == _MONEY:
            yield money_run(items)
        else:
            yield copy_run(items)


def _overridden(mapping: RecordMapping, overrides: EntityMap, tables: Tables) -> list[_Planned]:
    """The one place a tenant's overrides apply: rename, skip, added, codes, defaults."""
    planned = {}
    for field in mapping.fields:
        name = overrides.rename.get(field.name, field.name)
        planned[name] = _Planned(name, field)  # a rename onto a mapped field replaces it
    for skipped in overrides.skip:
        planned.pop(skipped, None)
    for name, added in overrides.fields.items():
        previous = planned.get(name)
        source = added.column or (previous.field.source if previous else None)
        read = _added(added, tables, None if previous is None else _value(previous))
        planned[name] = _Planned(name, Field(name, source), added=read)
    for name, table in overrides.codes.items():
        if name in planned:
            planned[name].codes += (tables[table],)
    for name, value in overrides.defaults.items():
        planned.setdefault(name, _Planned(name, Field(name, None))).default = value
    return list(planned.values())


def _reads(p: _Planned) -> object | None:
    """What a plain step reads (its column or reader), to copy a repeated one; None for the
    others."""
    field = p.field
    if p.codes or p.default is not NO_DEFAULT or p.added is not None or field.amount:
        return None
    if field.column is not None and not field.required:
        return ("text", field.column)
    return field.read


def _part(module: str, p: _Planned, source: str) -> Part:
    name, field = p.name, p.field
    check = checker(module, name, source)
    constant = field.read is None and field.column is None and field.derive is None
    if (
        p.codes
        or p.default is not NO_DEFAULT
        or p.added is not None
        or (constant and not field.key)
    ):
        return _STEP, general_step(p.name, _value(p), check, p.codes, p.default)
    if field.key:
        return _STEP, key_step(module, name, max_length(module, name))
    checked = field.text_value or name in TEXT_LENGTHS.get(module, {})
    if field.amount and field.column is not None:
        if not checked:
            return _MONEY, (name, field.column)
        read = bound(v.money, field.column)  # renamed onto a text field: refused
        return _STEP, read_step(module, name, read, check)
    if field.column is not None:
        return _TEXT, (name, field.column, field.required)
    if field.read is not None:
        return _STEP, read_step(module, name, field.read, check if checked else None)
    derive = field.derive
    assert derive is not None
    return _STEP, derive_step(module, name, derive, check if checked else None)


def _value(p: _Planned) -> Value:
    """The field's value as a function, for the general step and the added field over it."""
    field = p.field
    if p.added is not None:
        return p.added
    if field.key:
        return lambda row, key, found: key
    if field.column is not None:
        column_name, name = field.column, field.name
        if field.amount:
            return lambda row, key, found: v.money(row, column_name)
        if field.required:
            return lambda row, key, found: v.required_text(row, column_name, name)
        return lambda row, key, found: v.text(row, column_name)
    if field.read is not None:
        read = field.read
        return lambda row, key, found: read(row)
    if field.derive is not None:
        return field.derive
    return lambda row, key, found: None  # a field that only has a default


def _added(added: AddedField, tables: Tables, previous: Value | None) -> Value:
    """An added field's value, through its own code table; when it is empty, the value of
    the field it was added over (if any) stays."""
    table = None if added.codes is None else tables[added.codes]
    column_name, constant = added.column, added.value
    convert = READERS[added.type]

    def read(row: Row, key: str, found: Prepared) -> Any:
        # The field it replaces is still read first: its errors stop the record.
        earlier = None if previous is None else previous(row, key, found)
        value = constant if column_name is None else convert(row, column_name)
        if table is not None:
            value = translate(value, table)
        return earlier if value is None else value

    return read


def _same_rules(module: str, name: str, earlier: str) -> bool:
    """Whether every value the earlier field let through passes this one's check too."""
    textual = TEXT_LENGTHS.get(module, {})
    return (
        max_length(module, name) >= max_length(module, earlier)
        and FORMATS.get(name) is FORMATS.get(earlier)
        and (name in textual) <= (earlier in textual)
    )
