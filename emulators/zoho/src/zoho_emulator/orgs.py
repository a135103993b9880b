"""A Zoho CRM org: its DC, modules, records, default user and counters."""

from __future__ import annotations

import datetime as dt
import itertools
import zlib
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from zoho_emulator.metadata import ModuleDef, default_modules
from zoho_emulator.records import RecordStore, StoredRecord, User

EDITIONS = ("free", "standard", "professional", "enterprise", "ultimate")
_FIRST_RECORD_SEQ = 400_001


@dataclass
class OrgStats:
    calls: Counter[str] = field(default_factory=Counter)
    records_written: Counter[str] = field(default_factory=Counter)
    faulted_calls: int = 0


class Org:
    def __init__(self, org_id: str, dc: str, edition: str = "enterprise", tz: str = "UTC") -> None:
        self.org_id = org_id
        self.dc = dc
        self.edition = edition
        self.zone = ZoneInfo(tz)
        # Real ids are 19 digits: an org-specific prefix and a sequence.
        self._prefix = str(zlib.crc32(org_id.encode()) % 9_000_000 + 1_000_000)
        self._sequence = itertools.count(_FIRST_RECORD_SEQ)
        self.user = User(f"{self._prefix}000000411001", "Emulator Admin", f"admin@{org_id}.test")
        self.modules: dict[str, ModuleDef] = default_modules()
        self.stores: dict[str, RecordStore] = {}
        self.stats = OrgStats()

    def module(self, name: str) -> ModuleDef | None:
        """Look a module up by API name (case-insensitive, as Zoho's URLs are)."""
        wanted = name.lower()
        return next((m for key, m in self.modules.items() if key.lower() == wanted), None)

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
        view.update({name: record.values.get(name) for name in module.fields})
        view.update(
            {
                "Created_Time": self.format_time(record.created_time),
                "Modified_Time": self.format_time(record.modified_time),
                "Created_By": record.created_by.ref(),
                "Modified_By": record.modified_by.ref(),
            }
        )
        return view

    def summary(self) -> dict[str, object]:
        return {
            "org_id": self.org_id,
            "dc": self.dc,
            "edition": self.edition,
            "time_zone": self.zone.key,
            "modules": sorted(self.modules),
        }

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._sequence):012d}"
