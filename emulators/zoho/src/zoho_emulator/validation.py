"""Per-record validation and the per-record error bodies (zoho-crm.md §3.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from zoho_emulator.metadata import DataType, FieldDef, ModuleDef

JsonDict = dict[str, object]
Values = dict[str, str | None]

_PHONE_RE = re.compile(r"^\+?[0-9()\-./ ]*[0-9][0-9()\-./ ]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.I)
_WEBSITE_RE = re.compile(r"^(?:https?://)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:[/?#]\S*)?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FORMATS = {DataType.PHONE: _PHONE_RE, DataType.WEBSITE: _WEBSITE_RE, DataType.EMAIL: _EMAIL_RE}

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


def mandatory_not_found(index: int, api_name: str) -> JsonDict:
    details: JsonDict = {"api_name": api_name, "json_path": json_path(index, api_name)}
    return record_error("MANDATORY_NOT_FOUND", "required field not found", details)


def invalid_data(index: int, api_name: str, **extra: object) -> JsonDict:
    details: JsonDict = {**extra, "api_name": api_name, "json_path": json_path(index, api_name)}
    return record_error("INVALID_DATA", "invalid data", details)


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


def clean_values(module: ModuleDef, raw: Mapping[str, object], index: int) -> Values:
    """Known fields of `raw`, validated; raises RecordRejectedError on the first bad one.

    The reference (§3.1) only says API names must be used, not what happens to
    unknown names.  As the brief asks, unknown names and system fields are
    accepted and ignored (dropped, never stored).
    """
    values: Values = {}
    for name, value in raw.items():
        definition = module.field(name)
        if definition is None or name in SYSTEM_FIELDS:
            continue
        error = _check_value(definition, value, index)
        if error is not None:
            raise RecordRejectedError(error)
        values[name] = value if isinstance(value, str) else None
    return values


def _check_value(definition: FieldDef, value: object, index: int) -> JsonDict | None:
    name = definition.api_name
    if value is None:
        return None
    if not isinstance(value, str):
        return invalid_data(index, name, expected_data_type=definition.data_type.value)
    if len(value) > definition.max_length:
        return invalid_data(index, name, maximum_length=definition.max_length)
    pattern = _FORMATS.get(definition.data_type)
    if value and pattern is not None and not pattern.match(value):
        return invalid_data(index, name, expected_data_type=definition.data_type.value)
    return None


def check_mandatory(module: ModuleDef, values: Values, index: int, *, inserting: bool) -> None:
    """On insert every mandatory field needs a value; an update may not blank one."""
    for definition in module.mandatory_fields():
        name = definition.api_name
        present = name in values
        if (inserting or present) and not (values.get(name) or "").strip():
            raise RecordRejectedError(mandatory_not_found(index, name))
