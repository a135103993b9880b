"""Runs the whole-path corpus (chaos/corpus_path.py) on a running dev stack: plants every case's
Sage row (and the good ones) in the Sage emulator, onboards one tenant for the Sage rows and one
for the Kafka-stage cases, puts the hostile messages on mlc.sage.changes, waits until every
case has its answer, and judges each case from the audit log and the Zoho emulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from mlc_core.contracts import Entity, Topics, record_key
from mlc_core.crypto import KeyRing
from mlc_core.kafka import create_producer
from mlc_devtools.devstack import DevStack

from chaos.corpus import CaseResult
from chaos.corpus_path import (
    CUSTOMERS,
    MODULES,
    TABLES,
    Letter,
    good_event,
    judge_kafka,
    judge_row,
    missing,
)
from chaos.corpus_path_cases import (
    KAFKA_CASES,
    SAGE_ROW_CASES,
    expected_good,
    good_rows,
    kafka_good_keys,
)
from chaos.onboard import connect

GOOD_PER_ENTITY = 10
ROWS_COMPANY, KAFKA_COMPANY = "COR", "COK"


@dataclass(frozen=True)
class Tenants:
    rows: str
    kafka: str


async def run_whole_path(
    stack: DevStack, pool: asyncpg.Pool, keyring: KeyRing, tenants: Tenants, within: float = 240.0
) -> list[CaseResult]:
    async with (
        httpx.AsyncClient(base_url=stack.config.sage_url, timeout=120) as sage,
        httpx.AsyncClient(base_url=stack.config.zoho_url, timeout=60) as zoho,
    ):
        await _plant(sage)
        for tenant, company in ((tenants.rows, ROWS_COMPANY), (tenants.kafka, KAFKA_COMPANY)):
            await connect(
                pool=pool, keyring=keyring, stack=stack.config, tenant_id=tenant, company=company
            )
        await _produce(stack.config.kafka_bootstrap, tenants.kafka)
        good = {e: expected_good(e, GOOD_PER_ENTITY) for e in TABLES}
        letters_wanted = sum(isinstance(c.expect, Letter) for c in SAGE_ROW_CASES if not c.alone)
        deadline = time.monotonic() + within
        reader = LetterReader(stack.config.kafka_bootstrap, {tenants.rows, tenants.kafka})
        await reader.start()
        try:
            while True:
                await reader.read()
                rows_letters = reader.letters[tenants.rows]
                kafka_letters = reader.letters[tenants.kafka]
                held = {e: await _zoho_by_key(zoho, tenants.rows, e) for e in TABLES}
                kafka_held = await _zoho_by_key(zoho, tenants.kafka, Entity.AR_CUSTOMER)
                lacking = sum(len(missing(good[e], held[e])) for e in TABLES)
                lacking_kafka = len(missing(kafka_good_keys(), kafka_held))
                answered = len(rows_letters) >= letters_wanted and len(kafka_letters) >= len(
                    KAFKA_CASES
                )
                if (answered and not lacking and not lacking_kafka) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(2.0)
        finally:
            await reader.stop()
    results = [
        judge_row(case, tenants.kafka, kafka_letters, kafka_held, lacking_kafka)
        if case.alone
        else judge_row(case, tenants.rows, rows_letters, held[case.entity], lacking)
        for case in SAGE_ROW_CASES
    ]
    results += [judge_kafka(c, tenants.kafka, kafka_letters, lacking_kafka) for c in KAFKA_CASES]
    return results


async def _plant(sage: httpx.AsyncClient) -> None:
    """Raw rows (stored unvalidated, as damaged files hold them); a case with its own bad
    update stamp is planted as a bulk import, which leaves stamps as given."""
    for entity, table in TABLES.items():
        cases = [c for c in SAGE_ROW_CASES if c.entity is entity and not c.alone]
        stamped = good_rows(entity, GOOD_PER_ENTITY) + [c.row for c in cases if c.stamped]
        for rows, touch in ((stamped, True), ([c.row for c in cases if not c.stamped], False)):
            await _write(sage, ROWS_COMPANY, table, rows, touch=touch)
    # A case that stops its whole entity (a known product bug) goes to the Kafka-stage
    # tenant, whose Sage tables hold nothing else: it cannot hide the other cases' answers.
    alone = [c.row for c in SAGE_ROW_CASES if c.alone]
    await _write(sage, KAFKA_COMPANY, CUSTOMERS, alone, touch=True)


async def _write(
    sage: httpx.AsyncClient, company: str, table: str, rows: list[dict[str, Any]], *, touch: bool
) -> None:
    if not rows:
        return
    # ASCII escapes: lone surrogates are part of the corpus and cannot travel as UTF-8.
    body = json.dumps({"records": rows, "raw": True, "touch_stamps": touch})
    response = await sage.post(
        f"/_emulator/companies/{company}/tables/{table}",
        content=body,
        headers={"content-type": "application/json"},
    )
    response.raise_for_status()


async def _produce(bootstrap: str, tenant: str) -> None:
    """Each hostile message, then a good event for the same tenant right behind it."""
    producer = create_producer(bootstrap, client_id="corpus-whole-path")
    await producer.start()
    try:
        for case in KAFKA_CASES:
            key = record_key(tenant, Entity.AR_CUSTOMER, f"01-KX{case.number:03d}")
            await producer.send_and_wait(Topics.SAGE_CHANGES, case.value(tenant), key=key)
            good = good_event(tenant, f"KG{case.number:03d}")
            good_key = record_key(tenant, Entity.AR_CUSTOMER, good["source_key"])
            await producer.send_and_wait(
                Topics.SAGE_CHANGES, json.dumps(good).encode(), key=good_key
            )
    finally:
        await producer.stop()


class LetterReader:
    """The tenants' dead letters, read from mlc.deadletters itself (the audit log lags on a
    busy machine; the letter on the topic is what the audit log stores)."""

    def __init__(self, bootstrap: str, tenants: set[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            Topics.DEAD_LETTERS,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.letters: dict[str, list[dict[str, Any]]] = {t: [] for t in tenants}

    async def start(self) -> None:
        await self._consumer.start()

    async def read(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=1000, max_records=10_000)
        for records in batches.values():
            for record in records:
                letter = _json(record.value)
                if letter is not None and letter.get("tenant_id") in self.letters:
                    self.letters[str(letter["tenant_id"])].append(letter)

    async def stop(self) -> None:
        await self._consumer.stop()


def _json(value: bytes | None) -> dict[str, Any] | None:
    try:
        found = json.loads(value or b"")
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


async def _zoho_by_key(
    zoho: httpx.AsyncClient, org: str, entity: Entity
) -> Mapping[str, Mapping[str, Any]]:
    module, key_field = MODULES[entity]
    response = await zoho.get(f"/_emulator/orgs/{org}/records/{module}")
    response.raise_for_status()
    return {str(r.get(key_field)): r for r in response.json()["data"]}
