"""The whole-path bad-input corpus: each case is a Sage row planted in the Sage emulator (the
agent serves it over HTTP, as in production) or, where no poller would produce it, a hostile
message put on `mlc.sage.changes`; the real poller, mapper and writer carry it (and the good
records around it) to the Zoho emulator.

A case passes when its dead letter names tenant, entity, key and the specific field and reason,
or, for hostile text that is data, when it reaches Zoho unchanged; and every good record of the
run is in Zoho. The cases are in `chaos.corpus_path_cases`; `chaos.corpus_path_run` runs them
on a dev stack; this module is pure (what a case is, and the judging), unit-tested in
tests/chaos/test_corpus_path.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlc_core.contracts import Entity, SageRecordChanged

from chaos.corpus import CaseResult

CUSTOMERS, CONTACTS = "AR_Customer", "AR_CustomerContact"
TABLES = {Entity.AR_CUSTOMER: CUSTOMERS, Entity.CUSTOMER_CONTACT: CONTACTS}
MODULES = {
    Entity.AR_CUSTOMER: ("Accounts", "Sage_Customer_No"),
    Entity.CUSTOMER_CONTACT: ("Contacts", "Sage_Contact_Key"),
}


@dataclass(frozen=True)
class Letter:
    """A dead letter from `stage` naming `field` with `reason` in its message."""

    stage: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"dead letter {self.stage}:{self.field} ({self.reason})"


@dataclass(frozen=True)
class Arrives:
    """Data, not an error: the record reaches Zoho with `value` in `zoho_field` unchanged."""

    zoho_field: str
    value: str

    def __str__(self) -> str:
        return f"in Zoho, {self.zoho_field} verbatim"


@dataclass(frozen=True)
class PathCase:
    name: str
    entity: Entity
    row: dict[str, Any]  # the Sage row as planted (raw: stored unvalidated)
    expect: Letter | Arrives
    stamped: bool = True  # False: plant with the row's own (bad) update stamps
    alone: bool = False  # planted where it can stop nothing else (a known product bug)
    known_bug: str = ""  # why this case fails today; the test expects it to fail until fixed

    @property
    def source_key(self) -> str:
        """As the poller names it: Sage pads text columns with blanks, the agent strips them."""
        key = f"{self.row['ARDivisionNo']}-{self.row['CustomerNo']}".rstrip()
        if self.entity is Entity.CUSTOMER_CONTACT:
            return f"{key}:{self.row['ContactCode'].rstrip()}"
        return key


@dataclass(frozen=True)
class KafkaCase:
    """A message on mlc.sage.changes that no poller produces (keyed to the corpus tenant)."""

    name: str
    number: int
    mutation: dict[str, Any] | None  # applied to a good event's JSON; None: `raw` as is
    raw: bytes = b""
    reason: str = ""  # what the mapper's dead letter must mention

    def value(self, tenant: str) -> bytes:
        if self.mutation is None:
            return self.raw
        return json.dumps({**good_event(tenant, f"KX{self.number:03d}"), **self.mutation}).encode()


def good_event(tenant: str, number: str) -> dict[str, Any]:
    """The same event for the same tenant and number: a hostile variant is found by its bytes."""
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"corpus:{tenant}:{number}")
    event = SageRecordChanged(
        event_id=event_id,
        tenant_id=tenant,
        occurred_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        correlation_id=event_id,
        entity=Entity.AR_CUSTOMER,
        source_key=f"01-{number}",
        company_code="COR",
        source_version="20261204 10.0000000",
        record={"ARDivisionNo": "01", "CustomerNo": number, "CustomerName": f"Kafka {number}"},
    )
    return dict(json.loads(event.model_dump_json()))


def judge_row(
    case: PathCase,
    tenant: str,
    letters: Sequence[Mapping[str, Any]],
    zoho: Mapping[str, Mapping[str, Any]],
    good_missing: int,
) -> CaseResult:
    """`letters`: the tenant's dead letters (payloads); `zoho`: its records by external key."""
    expected = f"{case.expect}; good records all in Zoho"
    mine = [x for x in letters if x.get("source_key") == case.source_key]
    if isinstance(case.expect, Letter):
        observed = _letter_seen(case, tenant, mine)
    elif mine:
        observed = f"dead letter {mine[0].get('stage')}: {str(mine[0].get('error_message'))[:120]}"
    else:
        record = zoho.get(case.source_key)
        got = None if record is None else record.get(case.expect.zoho_field)
        verbatim = isinstance(got, str) and case.expect.value in got
        observed = str(case.expect) if verbatim else f"in Zoho: {got!r}"[:160]
    return _result(case.name, "whole-path", expected, observed, good_missing)


def _letter_seen(case: PathCase, tenant: str, mine: Sequence[Mapping[str, Any]]) -> str:
    if not mine:
        return "no dead letter"
    letter, want = mine[0], case.expect
    assert isinstance(want, Letter)
    message = str(letter.get("error_message", ""))
    named = f"tenant {tenant}, {case.entity} {case.source_key[:40]}"
    problems = [
        what
        for what, ok in (
            ("tenant/entity/key", named in message),
            (f"field {want.field}", letter.get("field") == want.field and want.field in message),
            (f"reason {want.reason!r}", want.reason in message),
            (f"stage {want.stage}", letter.get("stage") == want.stage),
        )
        if not ok
    ]
    if problems:
        return f"letter lacks {', '.join(problems)}: {message[:160]!r}"
    return str(want)


def judge_kafka(
    case: KafkaCase, tenant: str, letters: Sequence[Mapping[str, Any]], good_missing: int
) -> CaseResult:
    value = case.value(tenant)
    expected = f"dead letter mapper naming {case.reason!r}; good records all in Zoho"
    mine = [x for x in letters if _original_bytes(x) == value]
    if not mine:
        observed = "no dead letter"
    else:
        message = str(mine[0].get("error_message", ""))
        ok = (
            mine[0].get("stage") == "mapper"
            and f"tenant {tenant}" in message
            and case.reason.lower() in message.lower()
        )
        observed = expected.split(";")[0] if ok else f"letter: {message[:160]!r}"
    return _result(case.name, "whole-path-kafka", expected, observed, good_missing)


def _original_bytes(letter: Mapping[str, Any]) -> bytes | None:
    original = letter.get("original")
    if not isinstance(original, Mapping) or "value_b64" not in original:
        return None
    return base64.b64decode(str(original["value_b64"]))


def _result(name: str, category: str, expected: str, seen: str, good_missing: int) -> CaseResult:
    observed = f"{seen}; " + (
        "good records all in Zoho" if not good_missing else f"{good_missing} good records missing"
    )
    return CaseResult(name, category, expected, observed, observed == expected)


def missing(expected: Iterable[str], zoho: Mapping[str, Any]) -> list[str]:
    return sorted(key for key in expected if key not in zoho)
