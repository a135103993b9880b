"""Module and field metadata, kept as data so modules and custom fields can be added.

Each org gets its own copy (custom fields are per org).  Only what the
emulator checks is modelled: type, maximum length, mandatory, unique, external.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class DataType(enum.Enum):
    TEXT = "text"
    TEXTAREA = "textarea"
    PHONE = "phone"
    WEBSITE = "website"
    EMAIL = "email"


class ExternalType(enum.Enum):
    ORG = "org"
    USER = "user"


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    data_type: DataType
    max_length: int
    mandatory: bool = False
    unique: bool = False
    external: ExternalType | None = None
    custom: bool = False

    @property
    def dedupes(self) -> bool:
        """Unique and external fields take part in the upsert duplicate check."""
        return self.unique or self.external is not None


@dataclass
class ModuleDef:
    api_name: str
    system_duplicate_field: str
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def field(self, api_name: str) -> FieldDef | None:
        return self.fields.get(api_name)

    def add_field(self, definition: FieldDef) -> None:
        self.fields[definition.api_name] = definition

    def mandatory_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.mandatory]

    def deduping_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.dedupes]

    def duplicate_check_candidates(self) -> list[str]:
        """Fields allowed in duplicate_check_fields: the system field, unique, external."""
        return [self.system_duplicate_field, *(f.api_name for f in self.deduping_fields())]


def _text(name: str, length: int, data_type: DataType = DataType.TEXT) -> FieldDef:
    return FieldDef(name, data_type, length)


ACCOUNTS_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("Account_Name", DataType.TEXT, 200, mandatory=True),
    _text("Account_Number", 40),
    _text("Phone", 30, DataType.PHONE),
    _text("Fax", 30),
    _text("Website", 255, DataType.WEBSITE),
    _text("Billing_Street", 250),
    _text("Billing_City", 30),
    _text("Billing_State", 30),
    _text("Billing_Code", 30),
    _text("Billing_Country", 30),
    _text("Description", 32000, DataType.TEXTAREA),
    FieldDef("Sage_Customer_No", DataType.TEXT, 40, external=ExternalType.ORG, custom=True),
)


def _module(api_name: str, system_field: str, fields: Iterable[FieldDef]) -> ModuleDef:
    return ModuleDef(api_name, system_field, {f.api_name: f for f in fields})


def default_modules() -> dict[str, ModuleDef]:
    """Fresh module table for a new org.  Add Contacts, Vendors, ... here."""
    modules = [_module("Accounts", "Account_Name", ACCOUNTS_FIELDS)]
    return {m.api_name: m for m in modules}
