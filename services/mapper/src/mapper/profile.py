"""A tenant's mapping overrides (its YAML mapping file, validated).

mapper.engine applies them to an entity's own record in this order: rename, skip, added
fields, code tables, defaults. Names after `rename` are the new names. Products upserted for
an order's lines are not the entity's own record and are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from mlc_core.contracts import Entity
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mapper import values as v
from mapper.drafts import EXTERNAL_FIELDS, Options
from mapper.limits import MANDATORY
from mapper.values import Row

# Zoho API names: letters, digits, underscores, starting with a letter, no double or trailing
# underscore (zoho-crm.md §4.3).
ZOHO_NAME = r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$"
SAGE_COLUMN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
Scalar = str | int | float | bool
PROTECTED = frozenset(EXTERNAL_FIELDS.values()) | {f for fs in MANDATORY.values() for f in fs}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddedField(_Strict):
    """A Zoho field filled from a Sage column (e.g. a UDF_* column) or a constant."""

    column: str | None = Field(default=None, pattern=SAGE_COLUMN)
    value: Scalar | None = None
    type: Literal["text", "number", "date", "flag"] = "text"
    codes: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AddedField:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of 'column' (a Sage column) or 'value'")
        return self


ZohoName = Annotated[str, StringConstraints(pattern=ZOHO_NAME)]
Path = tuple[str | int, ...]


class EntityMap(_Strict):
    rename: dict[ZohoName, ZohoName] = {}
    skip: list[ZohoName] = []
    fields: dict[ZohoName, AddedField] = {}
    codes: dict[ZohoName, str] = Field(default={}, description="Zoho field -> code table")
    defaults: dict[ZohoName, Scalar] = {}

    def problems(self, path: Path, tables: set[str]) -> list[tuple[Path, str]]:
        """What types alone cannot say: protected fields, code tables that do not exist."""
        found: list[tuple[Path, str]] = []
        for section, names in (("rename", list(self.rename)), ("skip", self.skip)):
            for index, name in enumerate(names):
                if name in PROTECTED:
                    where = (*path, section, name if section == "rename" else index)
                    found.append((where, f"{name} is a key or mandatory field; keep it"))
        uses: list[tuple[Path, str]] = [(("codes", f), t) for f, t in self.codes.items()]
        uses += [(("fields", f, "codes"), a.codes) for f, a in self.fields.items() if a.codes]
        for where, table in uses:
            if table not in tables:
                found.append(((*path, *where), f"no code table {table!r} under 'codes'"))
        return found


class Settings(_Strict):
    deletes: Literal["deactivate", "delete"] = "deactivate"
    invoice_module: Literal["Invoices", "Sage_Invoices"] = "Invoices"
    deal_id_column: str = Field(default="CRMOpportunityID", pattern=r"^(CRMOpportunityID|UDF_\w+)$")
    deal_stage: str = Field(default="Closed Won", min_length=1, max_length=120)
    disabled: list[Entity] = []
    # Written by `mlc zoho setup`: entities whose Zoho module the org does not have.
    unavailable: list[Entity] = []


class TenantMap(_Strict):
    version: Literal[1] = 1
    settings: Settings = Settings()
    codes: dict[str, dict[str, Scalar]] = {}
    entities: dict[Entity, EntityMap] = {}

    def problems(self) -> list[tuple[Path, str]]:
        tables = set(self.codes)
        found: list[tuple[Path, str]] = []
        for entity, spec in self.entities.items():
            found += spec.problems(("entities", entity.value), tables)
        return found

    # Read for every record: computed once per map (cached in the instance), not per call.
    @cached_property
    def options(self) -> Options:
        settings = self.settings
        return Options(settings.invoice_module, settings.deal_id_column, settings.deal_stage)

    @cached_property
    def switched_off(self) -> frozenset[Entity]:
        return frozenset(self.settings.disabled) | frozenset(self.settings.unavailable)

    @cached_property
    def compiled(self) -> dict[Entity, Any]:
        """Each entity's mapping compiled with this map (mapper.engine.CompiledMapping),
        filled on first use by mapper.service."""
        return {}

    def enabled(self, entity: Entity) -> bool:
        return entity not in self.switched_off


def translate(value: Any, table: Mapping[str, Scalar]) -> Any:
    """Values the table does not list pass unchanged (a table need not be complete)."""
    if value is None or isinstance(value, dict | list):
        return value
    return table.get(str(value), value)


def _text(row: Row, column: str) -> Any:
    value = row.get(column)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # numeric UDFs sent to a text field
    return v.text(row, column)


READERS: dict[str, Any] = {
    "text": _text,
    "number": v.number,
    "date": v.sage_date,
    "flag": v.flag,
}
DEFAULT_MAP = TenantMap()
