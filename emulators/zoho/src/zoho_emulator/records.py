"""Record storage for one module of one org."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from zoho_emulator.validation import Values


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str

    def ref(self) -> dict[str, object]:
        """Created_By / Modified_By form."""
        return {"name": self.name, "id": self.id}

    def owner(self) -> dict[str, object]:
        return {"name": self.name, "id": self.id, "email": self.email}


@dataclass
class StoredRecord:
    id: str
    values: Values
    created_time: float
    modified_time: float
    created_by: User
    modified_by: User
    write_count: int = 1


@dataclass
class RecordStore:
    """Records in creation order, with lazily built value indexes for lookups."""

    next_id: Callable[[], str]
    _records: dict[str, StoredRecord] = field(default_factory=dict)
    _index: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, record_id: str) -> StoredRecord | None:
        return self._records.get(record_id)

    def all(self) -> list[StoredRecord]:
        return list(self._records.values())

    def find(self, api_name: str, value: str) -> list[StoredRecord]:
        """Records whose `api_name` equals `value` exactly, oldest first."""
        index = self._index.get(api_name)
        if index is None:
            index = self._build_index(api_name)
        return [self._records[record_id] for record_id in index.get(value, [])]

    def insert(self, values: Values, now: float, user: User) -> StoredRecord:
        record = StoredRecord(self.next_id(), dict(values), now, now, user, user)
        self._records[record.id] = record
        self._reindex(record, {})
        return record

    def update(self, record: StoredRecord, values: Values, now: float, user: User) -> None:
        before = dict(record.values)
        record.values.update(values)
        record.modified_time = now
        record.modified_by = user
        record.write_count += 1
        self._reindex(record, before)

    def delete(self, record: StoredRecord) -> None:
        self._records.pop(record.id, None)
        for index in self._index.values():
            for ids in index.values():
                if record.id in ids:
                    ids.remove(record.id)

    def clear(self) -> None:
        self._records.clear()
        self._index.clear()

    def _build_index(self, api_name: str) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for record in self._records.values():
            value = index_key(record.values.get(api_name))
            if value:
                index.setdefault(value, []).append(record.id)
        self._index[api_name] = index
        return index

    def _reindex(self, record: StoredRecord, before: Values) -> None:
        for api_name, index in self._index.items():
            old = index_key(before.get(api_name))
            new = index_key(record.values.get(api_name))
            if old == new and before:
                continue
            if old and record.id in index.get(old, []):
                index[old].remove(record.id)
            if new:
                ids = index.setdefault(new, [])
                ids.append(record.id)
                ids.sort(key=int)  # ids grow with creation order


def index_key(value: object) -> str | None:
    """What a value is found by: text as is, a lookup by the id it points at."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None
