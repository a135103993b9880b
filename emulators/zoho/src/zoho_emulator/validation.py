"""Per-record validation and the per-record error bodies (zoho-crm.md §3.1, §4)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping

from zoho_emulator.metadata import NUMBER_TYPES, STRING_TYPES, DataType, FieldDef, ModuleDef

JsonDict = dict[str, object]
Values = dict[str, object]
# (module API name, record id) -> does that record exist?
LookupCheck = Callable[[str, str], bool]

_PHONE_RE = re.compile(r"^\+?[0-9()\-./ ]*[0-9][0-9()\-./ ]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.I)
_WEBSITE_RE = re.compile(r"^(?:https?://)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:[/?#]\S*)?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMATS = {
    DataType.PHONE: _PHONE_RE,
    DataType.WEBSITE: _WEBSITE_RE,
    DataType.EMAIL: _EMAIL_RE,
    DataType.DATE: _DATE_RE,
}

# Fields Zoho maintains itself; values sent for them are ignored.
SYSTEM_FIELDS = frozenset(
    {"id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Tag"}
)


class RecordRejectedError(Exception):
    """One record of a batch failed; `body` is its entry in the response `data`."""

    def __init__(self, body: JsonDict) -> None:
        super().__init__(str(body.get("code")))
        self.body = body


def record_error(code: str, message: str, details: JsonDict) -> JsonDict:
    return {"code": code, "details": details, "message": message, "status": "error"}


def json_path(index: int, api_name: str) -> str:
    return f"$.data[{index}].{api_name}"


def mandatory_not_found(path: str, api_name: str) -> JsonDict:
    details: JsonDict = {"api_name": api_name, "json_path": path}
    return record_error("MANDATORY_NOT_FOUND", "required field not found", details)


def invalid_data(path: str, api_name: str, **extra: object) -> JsonDict:
    details: JsonDict = {**extra, "api_name": api_name, "json_path": path}
    return record_error("INVALID_DATA", "invalid data", details)


def invalid_lookup(path: str, api_name: str) -> JsonDict:
    """A lookup to a record that does not exist (message as Zoho words it for ids)."""
    details: JsonDict = {"api_name": api_name, "json_path": f"{path}.id"}
    return record_error("INVALID_DATA", "the id given seems to be invalid", details)


def duplicate_data(index: int, api_name: str, duplicate: JsonDict, more: bool) -> JsonDict:
    details: JsonDict = {
        "api_name": api_name,
        "json_path": json_path(index, api_name),
        "duplicate_record": duplicate,
        "more_records": more,
    }
    return record_error("DUPLICATE_DATA", "duplicate data", details)


def not_an_object(index: int) -> JsonDict:
    details: JsonDict = {"expected_data_type": "jsonobject", "json_path": f"$.data[{index}]"}
    return record_error("INVALID_DATA", "invalid data", details)


def clean_values(
    module: ModuleDef, raw: Mapping[str, object], index: int, lookups: LookupCheck
) -> Values:
    """Known fields of `raw`, validated; raises RecordRejectedError on the first bad one.

    The reference (§3.1) only says API names must be used, not what happens to
    unknown names: they are accepted and ignored (dropped, never stored).
    """
    checker = _Checker(lookups)
    values: Values = {}
    for name, value in raw.items():
        definition = module.field(name)
        if definition is None or name in SYSTEM_FIELDS:
            continue
        values[name] = checker.value(definition, value, json_path(index, name))
    return values


class _Checker:
    def __init__(self, lookups: LookupCheck) -> None:
        self._lookups = lookups

    def value(self, definition: FieldDef, value: object, path: str) -> object:
        """The value to store, or RecordRejectedError."""
        if value is None:
            return None
        if definition.data_type is DataType.LOOKUP:
            return self._lookup(definition, value, path)
        if definition.data_type is DataType.SUBFORM:
            return self._rows(definition, value, path)
        error = _scalar_error(definition, value, path)
        if error is not None:
            raise RecordRejectedError(error)
        return value

    def _lookup(self, definition: FieldDef, value: object, path: str) -> object:
        """Lookups are sent as {"id": "…"} and the record must exist (§4.1)."""
        name = definition.api_name
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
            raise RecordRejectedError(invalid_data(path, name, expected_data_type="lookup"))
        record_id = str(value["id"])
        if not self._lookups(definition.lookup_module or "", record_id):
            raise RecordRejectedError(invalid_lookup(path, name))
        return {"id": record_id}

    def _rows(self, definition: FieldDef, value: object, path: str) -> object:
        name = definition.api_name
        if not isinstance(value, list):
            raise RecordRejectedError(invalid_data(path, name, expected_data_type="subform"))
        return [self._row(definition, row, f"{path}[{i}]") for i, row in enumerate(value)]

    def _row(self, definition: FieldDef, row: object, path: str) -> JsonDict:
        if not isinstance(row, Mapping):
            raise RecordRejectedError(
                invalid_data(path, definition.api_name, expected_data_type="jsonobject")
            )
        cleaned: JsonDict = {"id": str(row.get("id") or _row_id())}
        for sub in definition.row_fields:
            sub_path = f"{path}.{sub.api_name}"
            if row.get(sub.api_name) is None and sub.mandatory:
                raise RecordRejectedError(mandatory_not_found(sub_path, sub.api_name))
            if sub.api_name in row:
                cleaned[sub.api_name] = self.value(sub, row[sub.api_name], sub_path)
        return cleaned


def _row_id() -> str:
    return f"5725767{secrets.randbelow(10**12):012d}"


def _scalar_error(definition: FieldDef, value: object, path: str) -> JsonDict | None:
    name, data_type = definition.api_name, definition.data_type
    expected = {"expected_data_type": data_type.value}
    if data_type is DataType.BOOLEAN:
        return None if isinstance(value, bool) else invalid_data(path, name, **expected)
    if data_type in NUMBER_TYPES:
        number_types = (int,) if data_type is DataType.INTEGER else (int, float)
        ok = isinstance(value, number_types) and not isinstance(value, bool)
        return None if ok else invalid_data(path, name, **expected)
    if data_type not in STRING_TYPES or not isinstance(value, str):
        return invalid_data(path, name, **expected)
    if len(value) > definition.max_length:
        return invalid_data(path, name, maximum_length=definition.max_length)
    pattern = _FORMATS.get(data_type)
    if value and pattern is not None and not pattern.match(value):
        return invalid_data(path, name, **expected)
    return None


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not value


def check_mandatory(module: ModuleDef, values: Values, index: int, *, inserting: bool) -> None:
    """On insert every mandatory field needs a value; an update may not blank one."""
    for definition in module.mandatory_fields():
        name = definition.api_name
        if (inserting or name in values) and _blank(values.get(name)):
            raise RecordRejectedError(mandatory_not_found(json_path(index, name), name))
