"""Typos in a tenant's mapping file: Zoho fields the entity does not map, Sage columns the
entity does not have. Each problem names its place in the file (mapfile adds the line) and,
where a known name is close, suggests it."""

from __future__ import annotations

from mlc_core.contracts import Entity

from mapper.known import SAGE_COLUMNS, did_you_mean, is_known_column, module_fields
from mapper.masters import MASTER_DATA
from mapper.profile import EntityMap, Path, TenantMap
from mapper.service import MODULES
from mapper.zoho_schema import INVOICE_ENTITIES

Problem = tuple[Path, str]


def default_fields(entity: Entity) -> frozenset[str]:
    """The Zoho fields the entity's default mapping writes (before a tenant's overrides)."""
    if entity in MASTER_DATA:
        return MASTER_DATA[entity].field_names()
    modules = ["Sage_Invoices"] if entity in INVOICE_ENTITIES else []
    return frozenset().union(*(module_fields(m) for m in [MODULES[entity], *modules]))


def typos(tenant_map: TenantMap) -> list[Problem]:
    found: list[Problem] = []
    for entity, spec in tenant_map.entities.items():
        found += _fields(entity, spec) + _columns(entity, spec)
    return found


def _unknown_field(entity: Entity, name: str, known: frozenset[str]) -> str:
    return f"unknown Zoho field {name!r}: {entity} does not map it{did_you_mean(name, known)}"


def _after_rename(entity: Entity, spec: EntityMap, name: str, known: frozenset[str]) -> str:
    if name in spec.rename:
        return f"{name!r} is renamed to {spec.rename[name]!r}; use the new name here"
    return _unknown_field(entity, name, known)


def _fields(entity: Entity, spec: EntityMap) -> list[Problem]:
    path: Path = ("entities", entity.value)
    defaults = default_fields(entity)
    found = [
        ((*path, "rename", old), _unknown_field(entity, old, defaults))
        for old in spec.rename
        if old not in defaults
    ]
    # Names after rename are the new names; added fields count too.
    known = frozenset(spec.rename.get(n, n) for n in defaults) | frozenset(spec.fields)
    found += [
        ((*path, "skip", index), _after_rename(entity, spec, name, known))
        for index, name in enumerate(spec.skip)
        if name not in known
    ]
    found += [
        ((*path, "codes", name), _after_rename(entity, spec, name, known))
        for name in spec.codes
        if name not in known
    ]
    # A default may add a Zoho field we do not map (e.g. Rating); only a near miss of one we
    # do map is taken for a typo.
    found += [
        ((*path, "defaults", name), f"unknown Zoho field {name!r}{hint}")
        for name in spec.defaults
        if name not in known and (hint := did_you_mean(name, known))
    ]
    return found


def _columns(entity: Entity, spec: EntityMap) -> list[Problem]:
    found: list[Problem] = []
    for name, added in spec.fields.items():
        column = added.column
        if column is not None and not is_known_column(entity, column):
            hint = did_you_mean(column, SAGE_COLUMNS[entity])
            found.append(
                (
                    ("entities", entity.value, "fields", name, "column"),
                    f"unknown Sage column {column!r} for {entity}{hint}"
                    " (UDF_* columns are always allowed)",
                )
            )
    return found
