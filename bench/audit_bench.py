"""Audit store benchmark (a script, not a test): events stored per second, size per million.

    MLC_DATABASE_ADMIN_URL=postgresql://mlc_admin@127.0.0.1:55432/mlc \\
        .venv/bin/python bench/audit_bench.py [--events 200000] [--batch 2000] [--records 20000]

Creates a throwaway database, migrates it, and stores realistic events (raw Sage changes,
commands, outcomes in the proportions a sync produces) through the audit service's own store
function, in batches as the service receives them from Kafka; then reports the rate, and the
size of the log (partitions, id registry, projection, with indexes and TOAST) scaled to one
million events. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from audit.service import AuditRow, to_row
from audit.store import store_rows
from mlc_core.contracts import (
    Entity,
    Envelope,
    OutcomeStatus,
    SageRecordChanged,
    Topics,
    ZohoUpsertCommand,
    ZohoWriteOutcome,
    caused_by,
    encode,
)
from mlc_core.db import create_pool, migrate

SIZE_SQL = (
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
    " WHERE c.relkind = 'r' AND (c.relname LIKE 'audit\\_events\\_%'"
    " OR c.relname IN ('audit_event_ids', 'audit_records'))"
)


class FakeRecord:
    def __init__(self, value: bytes, topic: str, offset: int) -> None:
        self.value, self.topic, self.offset = value, topic, offset
        self.partition, self.key = offset % 6, None


def sage_row(n: int) -> dict[str, object]:
    return {
        "ARDivisionNo": "01",
        "CustomerNo": f"C{n:07d}",
        "CustomerName": f"Customer number {n} Incorporated",
        "AddressLine1": f"{n % 9000 + 100} Industrial Parkway",
        "AddressLine2": "Suite 200",
        "City": "Milwaukee",
        "State": "WI",
        "ZipCode": "53205",
        "CountryCode": "USA",
        "TelephoneNo": "(414) 555-4787",
        "EmailAddress": f"ap{n}@example.com",
        "CreditLimit": 25000.0,
        "CurrentBalance": 1234.5,
        "DateUpdated": "20261126",
        "TimeUpdated": "14.50278",
    }


def chain(n: int, version: int) -> list[tuple[str, Envelope]]:
    """One record version's events: raw change, command, outcome."""
    key = f"01-C{n:07d}"
    raw = SageRecordChanged(
        tenant_id="bench",
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        company_code="ABC",
        source_version=f"20261126 {version:09.6f}",
        record=sage_row(n),
    )
    cmd = ZohoUpsertCommand(
        **caused_by(raw),
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value=key,
        source_version=raw.source_version,
        record={"Account_Name": f"Customer number {n}", "Sage_Customer_No": key},
        trigger=[],
    )
    out = ZohoWriteOutcome(
        **caused_by(cmd),
        module="Accounts",
        external_value=key,
        source_version=raw.source_version,
        status=OutcomeStatus.SUCCEEDED,
        zoho_id=str(5_000_000_000 + n),
        action="update",
    )
    return [(Topics.SAGE_CHANGES, raw), (Topics.ZOHO_COMMANDS, cmd), (Topics.ZOHO_OUTCOMES, out)]


def batches(events: int, batch: int, records: int) -> list[list[AuditRow]]:
    rows: list[AuditRow] = []
    offset = 0
    while len(rows) < events:
        n = offset // 3
        for topic, event in chain(n % records, 1 + n // records):
            rows.append(to_row(FakeRecord(encode(event), topic, offset)))
            offset += 1
    rows = rows[:events]
    return [rows[i : i + batch] for i in range(0, len(rows), batch)]


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def run(events: int, batch: int, records: int, concurrency: int) -> None:
    admin_url = os.environ.get(
        "MLC_DATABASE_ADMIN_URL", "postgresql://mlc_admin@127.0.0.1:55432/mlc"
    )
    name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(admin_url, name)
        await migrate(dsn)
        work = batches(events, batch, records)
        pool = await create_pool(dsn, max_size=concurrency)
        try:
            elapsed = await store_all(pool, work, concurrency)
            size = int(await pool.fetchval(SIZE_SQL))
            stored = await pool.fetchval("SELECT count(*) FROM audit_events")
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    report(stored, elapsed, size, batch, concurrency)


async def store_all(pool: asyncpg.Pool, work: list[list[AuditRow]], concurrency: int) -> float:
    # Like the service: one batch per partition at a time, partitions handled concurrently.
    queue = list(reversed(work))

    async def worker() -> None:
        while queue:
            await store_rows(pool, queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def report(stored: int, elapsed: float, size: int, batch: int, concurrency: int) -> None:
    print(f"events stored:           {stored:,} in {elapsed:.1f} s")
    rate = stored / elapsed
    print(f"rate:                    {rate:,.0f} events/s (batch {batch}, {concurrency} at once)")
    print(f"size on disk:            {size / 2**20:,.1f} MiB")
    print(f"size per million events: {size / stored * 1e6 / 2**30:,.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--batch", type=int, default=2000, help="events per batch (the service's max)"
    )
    parser.add_argument("--records", type=int, default=20_000, help="distinct records")
    parser.add_argument("--concurrency", type=int, default=3, help="batches stored at once")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch, args.records, args.concurrency))


if __name__ == "__main__":
    main()
