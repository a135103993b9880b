"""Creating custom modules and fields (zoho-crm.md §4.3: CRM-CM7, CRM-CF7, Kaizen #64).

API names come from the label: letters, digits and underscores, starting with a
letter, no double or trailing underscore, at most 50 characters.  External
fields are text only; at most 2 unique fields per module through the API.
Each item gets its own result, in input order, as writes do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from zoho_emulator.metadata import DataType, ExternalType, FieldDef, ModuleDef
from zoho_emulator.orgs import Org
from zoho_emulator.validation import JsonDict, RecordRejectedError, record_error

MAX_API_NAME = 50
MAX_UNIQUE_FIELDS = 2
CREATABLE_TYPES = {
    "text": (DataType.TEXT, 255),
    "textarea": (DataType.TEXTAREA, 32000),
    "email": (DataType.EMAIL, 100),
    "phone": (DataType.PHONE, 30),
    "website": (DataType.WEBSITE, 255),
    "picklist": (DataType.PICKLIST, 120),
    "integer": (DataType.INTEGER, 9),
    "double": (DataType.DOUBLE, 16),
    "currency": (DataType.CURRENCY, 16),
    "boolean": (DataType.BOOLEAN, 0),
    "date": (DataType.DATE, 10),
}


def api_name_from(label: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    name = re.sub(r"_+", "_", name)[:MAX_API_NAME].rstrip("_")
    return name if name[:1].isalpha() else ""


def _error(code: str, message: str, index: int, key: str, api_name: str) -> RecordRejectedError:
    details: JsonDict = {"api_name": api_name, "json_path": f"$.{key}[{index}].{api_name}"}
    return RecordRejectedError(record_error(code, message, details))


def _text(item: Mapping[str, object], name: str, index: int, key: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _error("MANDATORY_NOT_FOUND", "required field not found", index, key, name)
    return value.strip()


def _success(message: str, new_id: str) -> JsonDict:
    return {"code": "SUCCESS", "details": {"id": new_id}, "message": message, "status": "success"}


def create_module(org: Org, index: int, item: object) -> JsonDict:
    try:
        if not isinstance(item, Mapping):
            raise _error("INVALID_DATA", "invalid data", index, "modules", "modules")
        plural = _text(item, "plural_label", index, "modules")
        singular = _text(item, "singular_label", index, "modules")
        given = item.get("api_name")
        api_name = given if isinstance(given, str) and given else api_name_from(plural)
        if api_name != api_name_from(api_name):
            raise _error("INVALID_DATA", "invalid data", index, "modules", "api_name")
        if api_name.lower() in {m.lower() for m in org.modules}:
            raise _error("DUPLICATE_DATA", "duplicate data", index, "modules", "api_name")
    except RecordRejectedError as exc:
        return exc.body
    module = org.add_custom_module(api_name, singular)
    return _success("module created", module.id)


def create_field(
    module: ModuleDef, index: int, item: object, lookups: frozenset[str] = frozenset()
) -> JsonDict:
    """`lookups`: the org's modules a lookup field may point at."""
    try:
        definition = _field_from(module, index, item, lookups)
    except RecordRejectedError as exc:
        return exc.body
    module.add_field(definition)
    return _success("field created", definition.id)


def _field_from(module: ModuleDef, index: int, item: object, lookups: frozenset[str]) -> FieldDef:
    if not isinstance(item, Mapping):
        raise _error("INVALID_DATA", "invalid data", index, "fields", "fields")
    label = _text(item, "field_label", index, "fields")
    type_name = _text(item, "data_type", index, "fields")
    kind = CREATABLE_TYPES.get(type_name)
    if kind is None and type_name != "lookup":
        raise _error("INVALID_DATA", "invalid data", index, "fields", "data_type")
    if kind is None:
        return _lookup_field(module, index, item, label, lookups)
    data_type, default_length = kind
    api_name = item.get("api_name") or api_name_from(label)
    if not isinstance(api_name, str) or not api_name or api_name != api_name_from(api_name):
        raise _error("INVALID_DATA", "invalid data", index, "fields", "api_name")
    if module.field(api_name) is not None:
        raise _error("DUPLICATE_DATA", "duplicate data", index, "fields", "api_name")
    external = _external(item.get("external"), data_type, index)
    unique = bool(item.get("unique"))
    if unique and sum(1 for f in module.fields.values() if f.unique) >= MAX_UNIQUE_FIELDS:
        raise _error("LIMIT_EXCEEDED", "the limit exceeded", index, "fields", "unique")
    length = item.get("length", default_length)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise _error("INVALID_DATA", "invalid data", index, "fields", "length")
    return FieldDef(
        api_name, data_type, length, unique=unique, external=external, custom=True, label=label
    )


def _lookup_field(
    module: ModuleDef, index: int, item: Mapping[str, object], label: str, lookups: frozenset[str]
) -> FieldDef:
    """A lookup: `"lookup": {"module": {"api_name": "Accounts"}}`, to a module of the org."""
    spec = item.get("lookup")
    target = spec.get("module") if isinstance(spec, Mapping) else None
    name = target.get("api_name") if isinstance(target, Mapping) else None
    if not isinstance(name, str) or name not in lookups:
        raise _error("INVALID_DATA", "invalid data", index, "fields", "lookup")
    api_name = item.get("api_name") or api_name_from(label)
    if not isinstance(api_name, str) or not api_name or module.field(api_name) is not None:
        raise _error("DUPLICATE_DATA", "duplicate data", index, "fields", "api_name")
    return FieldDef(api_name, DataType.LOOKUP, 0, custom=True, lookup_module=name, label=label)


def _external(value: object, data_type: DataType, index: int) -> ExternalType | None:
    """External fields are single-line text only (Kaizen #64); type org or user."""
    if not value:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if data_type is not DataType.TEXT or kind not in ("org", "user"):
        raise _error("INVALID_DATA", "invalid data", index, "fields", "external")
    return ExternalType(kind)
