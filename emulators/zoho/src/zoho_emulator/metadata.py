"""Module and field metadata, kept as data so modules and custom fields can be added.

Each org gets its own copy (custom modules and fields are per org).  Only what the
emulator checks is modelled: type, maximum length, mandatory, unique, external,
the module a lookup points at, and line-item subforms.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field


class DataType(enum.Enum):
    TEXT = "text"
    TEXTAREA = "textarea"
    PHONE = "phone"
    WEBSITE = "website"
    EMAIL = "email"
    PICKLIST = "picklist"
    INTEGER = "integer"
    DOUBLE = "double"
    CURRENCY = "currency"
    BOOLEAN = "boolean"
    DATE = "date"
    LOOKUP = "lookup"
    SUBFORM = "subform"


# Types whose values are strings, checked for length (and format for some).
STRING_TYPES = frozenset(
    {
        DataType.TEXT,
        DataType.TEXTAREA,
        DataType.PHONE,
        DataType.WEBSITE,
        DataType.EMAIL,
        DataType.PICKLIST,
        DataType.DATE,
    }
)
NUMBER_TYPES = frozenset({DataType.INTEGER, DataType.DOUBLE, DataType.CURRENCY})


class ExternalType(enum.Enum):
    ORG = "org"
    USER = "user"


_field_ids = itertools.count(1)


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    data_type: DataType
    max_length: int = 255
    mandatory: bool = False
    unique: bool = False
    external: ExternalType | None = None
    custom: bool = False
    lookup_module: str | None = None  # LOOKUP: API name of the module pointed at
    row_fields: tuple[FieldDef, ...] = ()  # SUBFORM: the fields of each row
    label: str = ""
    id: str = field(default_factory=lambda: f"5725767{next(_field_ids):012d}")

    @property
    def dedupes(self) -> bool:
        """Unique and external fields take part in the upsert duplicate check."""
        return self.unique or self.external is not None

    @property
    def field_label(self) -> str:
        return self.label or self.api_name.replace("_", " ")

    def row_field(self, api_name: str) -> FieldDef | None:
        return next((f for f in self.row_fields if f.api_name == api_name), None)


@dataclass
class ModuleDef:
    api_name: str
    system_duplicate_field: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    singular_label: str = ""
    custom: bool = False
    module_name: str = ""  # internal name; CustomModuleN for custom modules
    id: str = field(default_factory=lambda: f"5725767{next(_field_ids):012d}")

    def field(self, api_name: str) -> FieldDef | None:
        return self.fields.get(api_name)

    def add_field(self, definition: FieldDef) -> None:
        self.fields[definition.api_name] = definition

    def mandatory_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.mandatory]

    def deduping_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.dedupes]

    def fields_of(self, *types: DataType) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.data_type in types]

    def duplicate_check_candidates(self) -> list[str]:
        """Fields allowed in duplicate_check_fields: the system field, unique, external."""
        return [self.system_duplicate_field, *(f.api_name for f in self.deduping_fields())]

    @property
    def plural_label(self) -> str:
        return self.api_name.replace("_", " ")
