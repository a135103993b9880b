"""Field plans: an entity's default mapping plus a tenant's overrides, compiled once.

Master data (customers, contacts, vendors) is mostly column -> field conversions. Instead of
building a record, applying the tenant's map to it and then checking it against Zoho's limits
field by field through generic helpers (about 90 us a customer), each (tenant map, entity)
is compiled into a flat tuple of steps: the final Zoho field name (after rename), its reader
bound to its column, its code tables and default, and its limit and format check looked up
once. Mapping a record is then one pass over the steps, with the common conversions inline,
as straight-line code generated per plan (`_generated`).
Values are read, translated, defaulted and checked as `TenantMap.apply` followed by
`limits.check_record` do for the other entities (tests/services/mapper/test_plan.py compares
both over generated rows), with one intended difference: a field the tenant skips is not read
at all, so a broken value in its column no longer stops the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from keyword import iskeyword
from types import CodeType
from typing import Any, cast

from mlc_core.contracts import ZohoLookup

from mapper import values as v
from mapper.drafts import Draft
from mapper.limits import FORMATS, TEXT_LENGTHS, mandatory_fields, max_length
from mapper.profile import READERS, AddedField, EntityMap, Scalar, translate
from mapper.values import MappingError, Row

Reader = Callable[[Row], Any]
Emit = Callable[[Row, str, dict[str, Any]], None]
Check = Callable[[Any], None]
Links = Callable[[Row, str], list[ZohoLookup]]
KeyedReader = Callable[[Row, str], Any]
Fill = Callable[[Row, str], dict[str, Any]]
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Field:
    """One Zoho field of an entity's default mapping: plain text from `column` (the fast
    path), the Sage key (`key`), or a `read` function over the row."""

    name: str
    source: str | None
    column: str | None = None
    read: Reader | None = None
    required: bool = False
    key: bool = False
    text_value: bool = True  # False: `read` never returns text (numbers, flags)


def text(name: str, column: str, *, required: bool = False) -> Field:
    return Field(name, column, column=column, required=required)


def key(name: str) -> Field:
    # No Sage column to name: a key too long for the field is reported under the field.
    return Field(name, None, key=True)


def computed(name: str, source: str, read: Reader) -> Field:
    return Field(name, source, read=read)


def column(
    name: str, convert: Callable[..., Any], column_name: str, *, text_value: bool = True
) -> Field:
    """A value `convert(row, column_name)` (flag, date, country, ...)."""
    read = partial(convert, column=column_name)
    return Field(name, column_name, read=read, text_value=text_value)


def money(name: str, column_name: str) -> Field:
    """A currency amount: v.money, inlined by the plan for plain numbers."""
    return Field(name, column_name, read=partial(v.money, column=column_name), text_value=False)


@dataclass(frozen=True)
class EntitySpec:
    module: str
    fields: tuple[Field, ...]
    links: Links


# Step kinds. The hot ones (text, money, key) run inline in Plan.fill: a customer has
# about 30 fields, and a function call per field and per check was most of its mapping time.
_TEXT, _REQUIRED_TEXT, _MONEY, _KEY, _READ, _COPY, _EMIT = range(7)
# (kind, Zoho field, column | reader | emit, text limit, check or None)
Step = tuple[int, str, Any, int, Check | None]


@dataclass(frozen=True)
class Plan:
    module: str
    steps: tuple[Step, ...]
    sources: dict[str, str]
    mandatory: tuple[str, ...]
    links: Links
    fill: Fill  # the record from a row and its key: `steps` as one generated function

    def draft(self, row: Row, source_key: str) -> Draft:
        """The entity's checked Zoho record; raises MappingError on the first problem."""
        record = self.fill(row, source_key)
        for name in self.mandatory:
            if record.get(name) in (None, "", []):
                source = self.sources.get(name, name)
                raise MappingError(source, f"is empty; Zoho {self.module} require {name}")
        # `sources` is shared by every draft of this plan: nothing downstream changes it.
        return Draft(self.module, source_key, record, self.sources, self.links(row, source_key))


def _too_long(module: str, source: str, name: str, value: str, limit: int) -> MappingError:
    return MappingError(source, f"{len(value)} characters; Zoho {module}.{name} allows {limit}")


@dataclass
class _Step:
    name: str
    field: Field
    codes: tuple[Mapping[str, Scalar], ...] = ()
    default: Any = _NO_DEFAULT
    added: KeyedReader | None = None  # an added field (its own code table applied)


def compile_plan(
    spec: EntitySpec, overrides: EntityMap | None, tables: Mapping[str, Mapping[str, Scalar]]
) -> Plan:
    steps = _steps(spec, overrides or EntityMap(), tables)
    sources = {s.name: s.field.source for s in steps if s.field.source is not None}
    compiled = [_step(spec.module, step, sources.get(step.name, step.name)) for step in steps]
    _copy_repeats(spec.module, compiled, [sources.get(step.name, step.name) for step in steps])
    module, mandatory = spec.module, mandatory_fields(spec.module)
    fill = _generated(module, compiled)
    return Plan(module, tuple(compiled), sources, mandatory, spec.links, fill)


def _copy_repeats(module: str, steps: list[Step], sources: list[str]) -> None:
    """A field read from the same column(s) as an earlier one (Shipping_City after
    Billing_City) copies its value; it is checked again only where its limits differ."""
    first: dict[tuple[object, ...], int] = {}
    for index, (kind, name, arg, limit, _) in enumerate(steps):
        if kind not in (_TEXT, _READ):
            continue
        earlier = first.setdefault((kind, arg), index)
        if earlier == index:
            continue
        earlier_name = steps[earlier][1]
        same_rules = (
            limit >= steps[earlier][3]
            and FORMATS.get(name) is FORMATS.get(earlier_name)
            and (name in TEXT_LENGTHS.get(module, {}))
            <= (earlier_name in TEXT_LENGTHS.get(module, {}))
        )
        check = None if same_rules else _checker(module, name, sources[index])
        steps[index] = (_COPY, name, earlier_name, limit, check)


def _steps(
    spec: EntitySpec, overrides: EntityMap, tables: Mapping[str, Mapping[str, Scalar]]
) -> list[_Step]:
    """Overrides in the order TenantMap.apply uses: rename, skip, added, codes, defaults."""
    steps = {}
    for field in spec.fields:
        name = overrides.rename.get(field.name, field.name)
        steps[name] = _Step(name, field)  # a rename onto a mapped field replaces it
    for skipped in overrides.skip:
        steps.pop(skipped, None)
    for name, added in overrides.fields.items():
        previous = steps.get(name)
        source = added.column or (previous.field.source if previous else None)
        read = _added(added, tables, None if previous is None else _reader(previous))
        steps[name] = _Step(name, Field(name, source), added=read)
    for name, table in overrides.codes.items():
        if name in steps:
            steps[name].codes += (tables[table],)
    for name, value in overrides.defaults.items():
        steps.setdefault(name, _Step(name, Field(name, None))).default = value
    return list(steps.values())


def _step(module: str, step: _Step, source: str) -> Step:
    name, field = step.name, step.field
    limit, check = max_length(module, name), _checker(module, name, source)
    constant = field.read is None and field.column is None and not field.key
    if step.codes or step.default is not _NO_DEFAULT or constant or step.added is not None:
        return (_EMIT, name, _general(step, _reader(step), check), limit, None)
    if field.key:
        return (_KEY, name, None, limit, None)
    if field.column is not None:
        kind = _REQUIRED_TEXT if field.required else _TEXT
        return (kind, name, field.column, limit, check if name in FORMATS else None)
    if field.text_value or name in TEXT_LENGTHS.get(module, {}):
        return (_READ, name, field.read, limit, check)
    if isinstance(field.read, partial) and field.read.func is v.money:
        return (_MONEY, name, field.read.keywords["column"], limit, None)
    return (_READ, name, field.read, limit, None)  # numbers and flags: nothing to check


def _reader(step: _Step) -> KeyedReader:
    field = step.field
    if step.added is not None:
        return step.added
    if field.key:
        return lambda row, source_key: source_key
    if field.column is not None:
        column_name, name = field.column, field.name
        if field.required:
            return lambda row, source_key: v.required_text(row, column_name, name)
        return lambda row, source_key: v.text(row, column_name)
    read = field.read
    if read is None:
        return lambda row, source_key: None  # a field that only has a default
    return lambda row, source_key: read(row)


def _added(
    added: AddedField, tables: Mapping[str, Mapping[str, Scalar]], previous: KeyedReader | None
) -> KeyedReader:
    """An added field's value, through its own code table; when it is empty, the value of
    the field it was added over (if any) stays, as TenantMap.apply leaves it."""
    table = None if added.codes is None else tables[added.codes]
    column_name, constant = added.column, added.value
    convert = READERS[added.type]

    def read(row: Row, source_key: str) -> Any:
        # The field it replaces is still read first: its errors stop the record, as before.
        earlier = None if previous is None else previous(row, source_key)
        value = constant if column_name is None else convert(row, column_name)
        if table is not None:
            value = translate(value, table)
        return earlier if value is None else value

    return read


def _general(step: _Step, read: KeyedReader, check: Check) -> Emit:
    name, codes, default = step.name, step.codes, step.default

    def emit(row: Row, source_key: str, record: dict[str, Any]) -> None:
        value = read(row, source_key)
        for table in codes:
            value = translate(value, table)
        if (value is None or value == "") and default is not _NO_DEFAULT:
            value = default
        if value is not None:
            check(value)
            record[name] = value

    return emit


def _checker(module: str, name: str, source: str) -> Check:
    """What limits.check_record checks for one field, with its limit and format bound."""
    limit, pattern = max_length(module, name), FORMATS.get(name)
    textual = name in TEXT_LENGTHS.get(module, {})

    def check(value: Any) -> None:
        if isinstance(value, str):
            if len(value) > limit:
                message = f"{len(value)} characters; Zoho {module}.{name} allows {limit}"
                raise MappingError(source, message)
            if pattern is not None and not pattern[0].match(value):
                raise MappingError(source, f"{pattern[1]}: {value!r}")
        elif textual:
            raise MappingError(source, f"Zoho {module}.{name} takes text")

    return check


def _generated(module: str, steps: list[Step]) -> Fill:
    """The steps as straight-line code, compiled once per plan: no loop and no dispatch on
    the step kind, each column, field name and limit a constant. It does what the loop over
    the steps it replaced did, step for step (tests/services/mapper/test_fast_plan.py keeps
    that loop and compares the two over generated rows). Every name and column enters the
    code through repr() and every reader, check and keyword value through `scope`, so no
    text from a tenant's map is ever run as code."""
    scope: dict[str, Any] = {
        "MappingError": MappingError,
        "check_encoding": v.check_encoding,
        "money": v.money,
        "too_long": partial(_too_long, module),
    }
    lines = ["def fill(row, source_key):", "    record = {}", "    get = row.get"]
    for index, (kind, name, arg, limit, check) in enumerate(steps):
        pattern = FORMATS.get(name)
        scope[f"arg{index}"], scope[f"check{index}"] = arg, check
        if kind == _READ:
            arg = _read_call(index, arg, scope)
        scope[f"match{index}"] = None if pattern is None else pattern[0].match
        checked = [] if check is None else _checked(module, kind, index, name, pattern is not None)
        lines += ["    " + line for line in _source(kind, index, name, arg, limit, checked)]
    lines.append("    return record")
    exec(_compiled("\n".join(lines) + "\n"), scope)  # noqa: S102 -- made above, see repr()
    return cast(Fill, scope["fill"])


@lru_cache(maxsize=512)
def _compiled(source: str) -> CodeType:
    """Compiling takes milliseconds, and a tenant's plans are remade whenever its map is
    reloaded (mapper.store); the code depends only on its text, the values on the scope."""
    return compile(source, "<mapper plan>", "exec")


def _read_call(index: int, read: Any, scope: dict[str, Any]) -> str:
    """`read(row)`; for a partial, its function called with its keywords (no partial's
    argument merging, a third of the call)."""
    keywords = read.keywords if isinstance(read, partial) and not read.args else {}
    if not keywords or not all(k.isidentifier() and not iskeyword(k) for k in keywords):
        return f"arg{index}(row)"
    scope[f"arg{index}"] = read.func
    for position, value in enumerate(keywords.values()):
        scope[f"kw{index}_{position}"] = value
    named = ", ".join(f"{k}=kw{index}_{i}" for i, k in enumerate(keywords))
    return f"arg{index}(row, {named})"


def _checked(module: str, kind: int, index: int, name: str, has_pattern: bool) -> list[str]:
    """A step's check, called only when a plain test says it could fail: every check is
    _checker(module, name, ...) for the step's own name, so a str within max_length(module,
    name) that matches FORMATS[name] (if any) passes it."""
    if kind <= _REQUIRED_TEXT:  # a text whose length was checked inline
        guard = f"not match{index}(value)" if has_pattern else "True"
    else:
        guard = f"value.__class__ is not str or len(value) > {max_length(module, name)!r}"
        guard += f" or not match{index}(value)" if has_pattern else ""
    return [f"    if {guard}:", f"        check{index}(value)"]


def _source(
    kind: int, index: int, name: str, arg: Any, limit: int, checked: list[str]
) -> list[str]:
    field, store = repr(name), [*checked, f"    record[{name!r}] = value"]
    if kind <= _REQUIRED_TEXT:
        return _text_source(name, repr(arg), repr(limit), store, kind == _REQUIRED_TEXT)
    if kind == _MONEY:
        return [
            f"value = get({arg!r})",
            "cls = value.__class__",
            # finite numbers inline; NaN, infinities and text take v.money (the slow path)
            "if (cls is float or cls is int) and (amount := float(value)) - amount == 0.0:",
            f"    record[{field}] = round(round(amount, 6), 2)",
            f"elif value is not None and (value := money(row, {arg!r})) is not None:",
            f"    record[{field}] = value",
        ]
    if kind == _KEY:
        return [
            f"if len(source_key) > {limit!r}:",
            f"    raise too_long({field}, {field}, source_key, {limit!r})",
            f"record[{field}] = source_key",
        ]
    if kind == _READ:  # `arg` is the call (_read_call)
        return [f"if (value := {arg}) is not None:", *store]
    if kind == _COPY:
        return [f"if (value := record.get({arg!r})) is not None:", *store]
    return [f"arg{index}(row, source_key, record)"]


def _text_source(name: str, col: str, limit: str, store: list[str], required: bool) -> list[str]:
    lines = [
        f"value = get({col})",
        "if value.__class__ is str and (value := value.strip()):",
        "    if not value.isprintable() or '\\ufffd' in value:",
        f"        check_encoding({col}, value)",
        f"    if len(value) > {limit}:",
        f"        raise too_long({col}, {name!r}, value, {limit})",
        *store,
        "elif value is not None and not isinstance(value, str):",
        f"    raise MappingError({col}, 'expected text, got ' + type(value).__name__)",
    ]
    if required:
        lines += ["else:", f"    raise MappingError({col}, {'is empty; Zoho requires ' + name!r})"]
    return lines
