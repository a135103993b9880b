"""A Zoho CRM org: its DC, modules, records, default user and counters."""

from __future__ import annotations

import datetime as dt
import itertools
import zlib
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from zoho_emulator.catalog import EDITIONS, custom_module, edition_has, standard_modules
from zoho_emulator.clock import Clock
from zoho_emulator.limits import OrgLimits
from zoho_emulator.metadata import DataType, ModuleDef
from zoho_emulator.paging import PageTokens
from zoho_emulator.records import RecordStore, StoredRecord, User

__all__ = ["EDITIONS", "Org", "OrgStats"]
_FIRST_RECORD_SEQ = 400_001


@dataclass
class OrgStats:
    calls: Counter[str] = field(default_factory=Counter)
    records_written: Counter[str] = field(default_factory=Counter)
    faulted_calls: int = 0
    # Records whose write ran the org's workflow rules: Zoho runs them when a write omits
    # `trigger` or lists "workflow" (CRM-INS7); a replay must leave this unchanged.
    workflow_runs: int = 0


class Org:
    def __init__(
        self,
        org_id: str,
        dc: str,
        edition: str = "enterprise",
        tz: str = "UTC",
        *,
        clock: Clock | None = None,
        users: int = 10,
    ) -> None:
        self.org_id = org_id
        self.dc = dc
        self.zone = ZoneInfo(tz)
        self.limits = OrgLimits(clock or Clock(), edition, users)
        self.search_lag_seconds = 0.0
        # Records reachable with `page` (2000 in Zoho; smaller in tests, to page with tokens).
        self.discrete_limit = 2000
        self.page_tokens = PageTokens()
        # Real ids are 19 digits: an org-specific prefix and a sequence.
        self._prefix = str(zlib.crc32(org_id.encode()) % 9_000_000 + 1_000_000)
        self._sequence = itertools.count(_FIRST_RECORD_SEQ)
        self.user = User(f"{self._prefix}000000411001", "Emulator Admin", f"admin@{org_id}.test")
        self.modules: dict[str, ModuleDef] = standard_modules()
        self.stores: dict[str, RecordStore] = {}
        self.stats = OrgStats()

    @property
    def edition(self) -> str:
        return self.limits.edition

    @edition.setter
    def edition(self, value: str) -> None:
        self.limits.edition = value

    def available_modules(self) -> list[ModuleDef]:
        return [m for m in self.modules.values() if edition_has(self.edition, m.api_name)]

    def module(self, name: str) -> ModuleDef | None:
        """A module of this org's edition by API name (case-insensitive, as Zoho's URLs are)."""
        wanted = name.lower()
        return next((m for m in self.available_modules() if m.api_name.lower() == wanted), None)

    def add_custom_module(self, api_name: str, singular: str) -> ModuleDef:
        sequence = 1 + sum(1 for m in self.modules.values() if m.custom)
        module = self.modules[api_name] = custom_module(api_name, singular, sequence)
        return module

    def record_exists(self, module_name: str, record_id: str) -> bool:
        """Lookup targets: the module must exist in this edition and hold the record."""
        module = self.module(module_name)
        return module is not None and self.store(module).get(record_id) is not None

    def store(self, module: ModuleDef) -> RecordStore:
        store = self.stores.get(module.api_name)
        if store is None:
            store = self.stores[module.api_name] = RecordStore(self._next_id)
        return store

    def format_time(self, epoch: float) -> str:
        """ISO 8601 with the org's offset, e.g. 2023-05-10T01:10:47-07:00."""
        moment = dt.datetime.fromtimestamp(int(epoch), self.zone)
        return moment.isoformat(timespec="seconds")

    def audit_details(self, record: StoredRecord) -> dict[str, object]:
        """The `details` block of a successful write."""
        return {
            "Modified_Time": self.format_time(record.modified_time),
            "Modified_By": record.modified_by.ref(),
            "Created_Time": self.format_time(record.created_time),
            "id": record.id,
            "Created_By": record.created_by.ref(),
            "$approval_state": "approved",
        }

    def record_view(self, module: ModuleDef, record: StoredRecord) -> dict[str, object]:
        """A record as GET returns it: every field (null when empty) plus system fields."""
        view: dict[str, object] = {"id": record.id, "Owner": self.user.owner()}
        view.update({name: self._shown(module, name, record) for name in module.fields})
        view.update(
            {
                "Created_Time": self.format_time(record.created_time),
                "Modified_Time": self.format_time(record.modified_time),
                "Created_By": record.created_by.ref(),
                "Modified_By": record.modified_by.ref(),
            }
        )
        return view

    def _shown(self, module: ModuleDef, name: str, record: StoredRecord) -> object:
        """Lookups come back as {"name", "id"} (§4.1), the name from the target's key field."""
        value = record.values.get(name)
        definition = module.fields[name]
        if definition.data_type is not DataType.LOOKUP or not isinstance(value, dict):
            return value
        target = self.modules.get(definition.lookup_module or "")
        stored = self.store(target).get(str(value["id"])) if target else None
        label = stored.values.get(target.system_duplicate_field) if stored and target else None
        return {"name": label, "id": value["id"]}

    def summary(self) -> dict[str, object]:
        return {
            "org_id": self.org_id,
            "dc": self.dc,
            "edition": self.edition,
            "time_zone": self.zone.key,
            "modules": sorted(m.api_name for m in self.available_modules()),
        }

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._sequence):012d}"
