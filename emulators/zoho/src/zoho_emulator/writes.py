"""Insert and upsert of record batches (zoho-crm.md §3.1, §7 "Writes")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zoho_emulator.errors import ApiError
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.orgs import Org
from zoho_emulator.records import RecordStore, StoredRecord
from zoho_emulator.validation import (
    JsonDict,
    RecordRejectedError,
    Values,
    check_mandatory,
    clean_values,
    duplicate_data,
    json_path,
    mandatory_not_found,
    not_an_object,
    record_error,
)

MAX_BATCH = 100


@dataclass(frozen=True)
class WriteOutcome:
    data: list[JsonDict]
    status: int

    def body(self) -> JsonDict:
        return {"data": self.data}


def check_batch(data: object) -> Sequence[object]:
    """The `data` array of a write body, or the whole-request error."""
    if not isinstance(data, list) or not data:
        raise ApiError(
            400,
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "data", "json_path": "$.data"},
        )
    if len(data) > MAX_BATCH:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            "the limit exceeded",
            {"limit": MAX_BATCH, "api_name": "data", "json_path": "$.data"},
        )
    return data


def duplicate_check_order(module: ModuleDef, requested: object) -> list[str]:
    """Fields an upsert matches on, in order.

    With `duplicate_check_fields` that list is used as given (omitting the
    system field ignores it).  Without it, zoho-crm.md §3.1 (CRM-UPS7, Kaizen
    #56) says the system duplicate-check field comes first, then the
    user-defined unique fields; external fields count as unique (CRM-UPSEXT7).
    """
    allowed = module.duplicate_check_candidates()
    if requested is None:
        return allowed
    if not isinstance(requested, list) or not requested:
        raise _bad_duplicate_fields(0)
    for position, name in enumerate(requested):
        if name not in allowed:
            raise _bad_duplicate_fields(position)
    return [str(name) for name in requested]


def _bad_duplicate_fields(position: int) -> ApiError:
    json_path = f"$.duplicate_check_fields[{position}]"
    details = {"api_name": "duplicate_check_fields", "json_path": json_path}
    return ApiError(400, "INVALID_DATA", "invalid data", details)


def _status(results: Sequence[JsonDict], all_ok: int) -> int:
    ok = sum(1 for r in results if r.get("status") == "success")
    if ok == len(results):
        return all_ok
    return 400 if ok == 0 else 207


class BatchWriter:
    """Writes one batch into one module of one org, record by record, in order."""

    def __init__(self, org: Org, module: ModuleDef, now: float) -> None:
        self._org = org
        self._module = module
        self._store: RecordStore = org.store(module)
        self._now = now

    def upsert(self, data: Sequence[object], duplicate_fields: list[str]) -> WriteOutcome:
        results = [self._upsert_one(i, raw, duplicate_fields) for i, raw in enumerate(data)]
        # The reference leaves upsert's all-success status unconfirmed; 200 as briefed.
        return WriteOutcome(results, _status(results, 200))

    def insert(self, data: Sequence[object]) -> WriteOutcome:
        results = [self._insert_one(i, raw) for i, raw in enumerate(data)]
        return WriteOutcome(results, _status(results, 201))

    def update(self, data: Sequence[object], external_field: str | None = None) -> WriteOutcome:
        """Each record names its target by `id`, or by `external_field` (X-EXTERNAL)."""
        results = [self._update_one(i, raw, external_field) for i, raw in enumerate(data)]
        return WriteOutcome(results, _status(results, 200))

    def _update_one(self, index: int, raw: object, external_field: str | None) -> JsonDict:
        try:
            target = self._target(index, raw, external_field)
            values = self._clean(index, raw)
            check_mandatory(self._module, values, index, inserting=False)
            self._check_unique(index, values, target)
        except RecordRejectedError as exc:
            return exc.body
        self._write(values, target)
        return {"code": "SUCCESS"} | self._success_tail(target, inserted=False)

    def _target(self, index: int, raw: object, external_field: str | None) -> StoredRecord:
        key = external_field or "id"
        value = raw.get(key) if isinstance(raw, Mapping) else None
        if not isinstance(value, str) or not value:
            raise RecordRejectedError(mandatory_not_found(json_path(index, key), key))
        found = self._store.find(key, value) if external_field else [self._store.get(value)]
        target = next((r for r in found if r is not None), None)
        if target is None:
            details: JsonDict = {"api_name": key, "json_path": json_path(index, key)}
            body = record_error("INVALID_DATA", "the id given seems to be invalid", details)
            raise RecordRejectedError(body)
        return target

    def _upsert_one(self, index: int, raw: object, duplicate_fields: list[str]) -> JsonDict:
        try:
            values = self._clean(index, raw)
            target, matched_on = self._match(values, duplicate_fields)
            check_mandatory(self._module, values, index, inserting=target is None)
            self._check_unique(index, values, target)
        except RecordRejectedError as exc:
            return exc.body
        record = self._write(values, target)
        inserted = target is None
        head: JsonDict = {
            "code": "SUCCESS",
            "duplicate_field": matched_on,
            "action": "insert" if inserted else "update",
        }
        return head | self._success_tail(record, inserted=inserted)

    def _insert_one(self, index: int, raw: object) -> JsonDict:
        try:
            values = self._clean(index, raw)
            check_mandatory(self._module, values, index, inserting=True)
            self._check_unique(index, values, None)
        except RecordRejectedError as exc:
            return exc.body
        record = self._write(values, None)
        return {"code": "SUCCESS"} | self._success_tail(record, inserted=True)

    def _clean(self, index: int, raw: object) -> Values:
        if not isinstance(raw, Mapping):
            raise RecordRejectedError(not_an_object(index))
        return clean_values(self._module, raw, index, self._org.record_exists)

    def _match(
        self, values: Values, duplicate_fields: list[str]
    ) -> tuple[StoredRecord | None, str | None]:
        """First existing record equal on a duplicate-check field, in order.

        Matching is exact (case-sensitive); if several records share the value
        (Account_Name is not unique) the oldest wins.  Both are unconfirmed.
        """
        for api_name in duplicate_fields:
            value = values.get(api_name)
            if isinstance(value, str) and value:
                hits = self._store.find(api_name, value)
                if hits:
                    return hits[0], api_name
        return None, None

    def _check_unique(self, index: int, values: Values, target: StoredRecord | None) -> None:
        """Unique and external values may not be held by another record."""
        for definition in self._module.deduping_fields():
            value = values.get(definition.api_name)
            if not isinstance(value, str) or not value:
                continue
            holders = [r for r in self._store.find(definition.api_name, value) if r is not target]
            if holders:
                duplicate: JsonDict = {"Owner": self._org.user.owner(), "id": holders[0].id}
                body = duplicate_data(index, definition.api_name, duplicate, len(holders) > 1)
                raise RecordRejectedError(body)

    def _write(self, values: Values, target: StoredRecord | None) -> StoredRecord:
        self._org.stats.records_written[self._module.api_name] += 1
        if target is None:
            return self._store.insert(values, self._now, self._org.user)
        self._store.update(target, values, self._now, self._org.user)
        return target

    def _success_tail(self, record: StoredRecord, *, inserted: bool) -> JsonDict:
        return {
            "details": self._org.audit_details(record),
            "message": "record added" if inserted else "record updated",
            "status": "success",
        }
