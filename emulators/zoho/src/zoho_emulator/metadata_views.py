"""Module and field metadata as the settings API returns them (OAS modules.json, fields.json)."""

from __future__ import annotations

from zoho_emulator.metadata import DataType, FieldDef, ModuleDef
from zoho_emulator.validation import JsonDict

# How Zoho's field metadata names our types (json_type is the JSON value's type).
_JSON_TYPES = {
    DataType.INTEGER: "integer",
    DataType.DOUBLE: "double",
    DataType.CURRENCY: "double",
    DataType.BOOLEAN: "boolean",
    DataType.LOOKUP: "jsonobject",
    DataType.SUBFORM: "jsonarray",
}


def module_view(module: ModuleDef, sequence: int) -> JsonDict:
    return {
        "id": module.id,
        "api_name": module.api_name,
        "module_name": module.module_name or module.api_name,
        "plural_label": module.plural_label,
        "singular_label": module.singular_label or module.api_name,
        "generated_type": "custom" if module.custom else "default",
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "visible": True,
        "show_as_tab": True,
        "visibility": 1,
        "sequence_number": sequence,
        "description": None,
        "web_link": None,
        "modified_time": None,
        "triggers_supported": True,
        "inventory_template_supported": module.api_name in ("Sales_Orders", "Invoices"),
    }


def _lookup(definition: FieldDef) -> JsonDict:
    target = definition.lookup_module or ""
    return {
        "display_label": target.replace("_", " "),
        "api_name": None,
        "id": None,
        "module": {"api_name": target, "id": None},
        "query_details": {},
        "revalidate_filter_during_edit": False,
        "show_fields": [],
    }


def field_view(definition: FieldDef) -> JsonDict:
    external = definition.external
    view: JsonDict = {
        "id": definition.id,
        "api_name": definition.api_name,
        "field_label": definition.field_label,
        "display_label": definition.field_label,
        "data_type": definition.data_type.value,
        "json_type": _JSON_TYPES.get(definition.data_type, "string"),
        "length": definition.max_length,
        "system_mandatory": definition.mandatory,
        "custom_field": definition.custom,
        "visible": True,
        "read_only": False,
        "field_read_only": False,
        "unique": {"casesensitive": "false"} if definition.unique else {},
    }
    if external is not None:
        view["external"] = {"show": True, "type": external.value, "allow_multiple_config": False}
    if definition.data_type is DataType.LOOKUP:
        view["lookup"] = _lookup(definition)
    if definition.data_type is DataType.SUBFORM:
        view["subform"] = {"module": definition.api_name, "id": definition.id}
    return view
