"""The naive reference sync the pipeline is compared with: what hand-written scripts and
per-record automations do.

Each run reads everything through the agent (no watermark, so every record every time) and
writes each record with its own Zoho upsert, one after another. It is generous to the naive
side: contacts are upserted on their e-mail without the account lookup a real script would
also need (one more call per contact), so its figures are a lower bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from mlc_core.contracts import Entity
from mlc_core.sage.agent import SageAgentClient
from mlc_core.zoho.records import upsert

from bench.figures import extrapolate_seconds, naive_full_seconds, per_thousand, rate
from bench.scenarios import Load
from bench.stack import COMPANY, Bench, new_zoho_org

Row = dict[str, Any]


def account(row: Row) -> Row:
    return {
        "Account_Name": str(row.get("CustomerName") or row["CustomerNo"]),
        "Sage_Customer_No": f"{row['ARDivisionNo']}-{row['CustomerNo']}",
        "Phone": row.get("TelephoneNo") or None,
        "Billing_Street": row.get("AddressLine1") or None,
        "Billing_City": row.get("City") or None,
        "Billing_State": row.get("State") or None,
        "Billing_Code": row.get("ZipCode") or None,
    }


def contact(row: Row) -> Row:
    first, _, last = str(row.get("ContactName") or row["ContactCode"]).rpartition(" ")
    return {
        "First_Name": first or None,
        "Last_Name": last,
        "Email": row.get("EmailAddress") or None,
        "Title": row.get("ContactTitle") or None,
        "Phone": row.get("TelephoneNo1") or None,
    }


@dataclass(frozen=True)
class Target:
    entity: Entity
    module: str
    duplicate_check_field: str
    to_zoho: Callable[[Row], Row]


TARGETS = (
    Target(Entity.AR_CUSTOMER, "Accounts", "Sage_Customer_No", account),
    Target(Entity.CUSTOMER_CONTACT, "Contacts", "Email", contact),
)


@dataclass
class NaiveRun:
    records: int = 0
    calls: int = 0
    failed: int = 0
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.write_seconds


@dataclass(frozen=True)
class ZohoTarget:
    api_domain: str
    access_token: str


async def naive_sync(
    *,
    agent: SageAgentClient,
    http: httpx.AsyncClient,
    zoho: ZohoTarget,
    company: str,
    quotas: dict[Entity, int],
    page: int = 500,
) -> NaiveRun:
    """Sync the first `quotas[entity]` records of each entity (all of them when the quota
    covers the table): full read, then one upsert per record, sequentially."""
    run = NaiveRun()
    for target in TARGETS:
        await _sync_entity(
            target, quotas.get(target.entity, 0), agent, http, zoho, company, page, run
        )
    return run


async def _sync_entity(
    target: Target,
    quota: int,
    agent: SageAgentClient,
    http: httpx.AsyncClient,
    zoho: ZohoTarget,
    company: str,
    page: int,
    run: NaiveRun,
) -> None:
    cursor: str | None = None
    while quota > 0:
        started = time.monotonic()
        batch = await agent.changes(
            company=company,
            entity=str(target.entity),
            since=None,
            cursor=cursor,
            limit=min(page, quota),
        )
        run.read_seconds += time.monotonic() - started
        for row in batch.records[:quota]:
            await _write_one(target, row, http, zoho, run)
        quota -= len(batch.records)
        cursor = batch.next_cursor
        if not cursor or not batch.records:
            return


async def _write_one(
    target: Target, row: Row, http: httpx.AsyncClient, zoho: ZohoTarget, run: NaiveRun
) -> None:
    started = time.monotonic()
    reply = await upsert(
        http,
        api_domain=zoho.api_domain,
        access_token=zoho.access_token,
        module=target.module,
        records=[{k: v for k, v in target.to_zoho(row).items() if v is not None}],
        duplicate_check_fields=[target.duplicate_check_field],
    )
    run.write_seconds += time.monotonic() - started
    run.records += 1
    run.calls += 1
    run.failed += sum(not r.ok for r in reply.results)


async def naive_figures(
    bench: Bench, load: Load, *, sample: int, latency_ms: int, full_read_seconds: float | None
) -> dict[str, Any]:
    """Run the naive sync on `sample` records (customers and contacts in the load's proportion)
    into an org of its own at `latency_ms`, and extrapolate to the whole load."""
    org = await new_zoho_org(bench.zoho, "bench-naive")
    await bench.set_latency(org.org_id, latency_ms)
    customers = max(1, round(sample * load.customers / load.records))
    quotas = {Entity.AR_CUSTOMER: customers, Entity.CUSTOMER_CONTACT: sample - customers}
    config = bench.dev.config
    async with httpx.AsyncClient(timeout=120) as http:
        agent = SageAgentClient(http, base_url=config.agent_url, token=config.sage_agent_token)
        target = ZohoTarget(org.grant.api_domain, org.grant.access_token)
        run = await naive_sync(agent=agent, http=http, zoho=target, company=COMPANY, quotas=quotas)
    stats = await bench.zoho_stats(org.org_id)
    credits = int(stats["limits"]["credits_used_total"])
    read = full_read_seconds
    if read is None:  # no measured full read: the sample's pace (overstates it)
        read = extrapolate_seconds(run.records, run.read_seconds, load.records)
    full = naive_full_seconds(
        sample_records=run.records,
        sample_write_seconds=run.write_seconds,
        total_records=load.records,
        read_seconds=read,
    )
    return {
        "latency_ms": latency_ms,
        "sample_records": run.records,
        "measured_seconds": round(run.seconds, 1),
        "read_seconds": round(run.read_seconds, 1),
        "write_seconds": round(run.write_seconds, 1),
        "records_per_s": round(rate(run.records, run.seconds), 2),
        "calls": run.calls,
        "credits": credits,
        "calls_per_1000": round(per_thousand(run.calls, run.records), 1),
        "credits_per_1000": round(per_thousand(credits, run.records), 1),
        "failed": run.failed,
        "full_load_records": load.records,
        "full_load_seconds": round(full, 1),
        "full_load_read_seconds": round(read, 1),
        "full_load_records_per_s": round(rate(load.records, full), 2),
        "extrapolated": run.records < load.records,
    }
