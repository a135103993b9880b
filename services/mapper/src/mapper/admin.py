"""The mapper's declared interface for operators' tools (mlc_ops): a tenant's stored mapping
file, mapping a Sage row as the mapper does, and the Zoho modules and fields the mapping needs.
Nothing outside this service imports its other modules."""

from __future__ import annotations

from mapper.drafts import EXTERNAL_FIELDS
from mapper.mapfile import MapFileError, parse_map
from mapper.profile import TenantMap
from mapper.service import map_event, written_fields
from mapper.store import MapCache, StoredMap, load_stored, remove_map, save_map
from mapper.zoho_schema import (
    CUSTOM_MODULES,
    field_instruction,
    missing_fields,
    module_instructions,
    modules_for,
    setup_plan,
)

__all__ = [
    "CUSTOM_MODULES",
    "EXTERNAL_FIELDS",
    "MapCache",
    "MapFileError",
    "StoredMap",
    "TenantMap",
    "field_instruction",
    "load_stored",
    "map_event",
    "missing_fields",
    "module_instructions",
    "modules_for",
    "parse_map",
    "remove_map",
    "save_map",
    "setup_plan",
    "written_fields",
]
