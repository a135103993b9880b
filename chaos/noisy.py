"""The noisy-neighbour scenario (`make chaos CHAOS_ARGS="--scenario noisy"`): 20 tenants on one
stack; 16 healthy ones with small tables and a steady trickle of edits, and four troublemakers:
one sends poison records (the whole-path corpus's bad rows, more every few seconds), one has its
Zoho refresh token revoked, one has a Zoho org answering every call after 50 s, one has a
200,000-row customer table (its initial load runs during the noisy window). Each customer
runs its own Sage server and agent in production; here the big table's customer has its own
emulator and agent, and the others share one agent sized as their own agents would be.

First a quiet window (healthy tenants only) measures each healthy tenant's change latency; then
the troublemakers join and the same edits go on for the noisy window. Afterwards the slow org is
cleared and the revoked tenant re-authorised (a new grant, as `mlc tenant` would store it), and
the run waits until every tenant's Zoho matches Sage, with no replay run by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool
from mlc_core.tenants import Tenant, TenantSecrets, load_tenant, save_tenant
from mlc_core.zoho.oauth import exchange_grant_code
from mlc_devtools.devstack import DevStack, StackConfig
from mlc_devtools.emulated import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, EMULATOR_HOSTS, connect_tenant
from pydantic import SecretStr

from chaos.corpus_path import Letter
from chaos.corpus_path_cases import SAGE_ROW_CASES
from chaos.noisy_latency import LatencyProbe
from chaos.noisy_verify import NoisyReport, TenantResult
from chaos.runner import free_port, fresh_database
from chaos.verify import RecordKey, check_records
from chaos.workload import CUSTOMERS, customer_no, customer_row

log = logging.getLogger("chaos")
TICK_S = 2.0
SLOW_MS = 50_000
# The whole-path corpus's bad customer rows: each must become a dead letter, nothing more.
POISON_ROWS = [
    c.row
    for c in SAGE_ROW_CASES
    if c.entity is Entity.AR_CUSTOMER and c.stamped and not c.alone and isinstance(c.expect, Letter)
]


@dataclass(frozen=True)
class NoisyOptions:
    quick: bool = False
    healthy: int = 16
    customers: int = 20  # per tenant (the big one excepted)
    big_rows: int = 200_000
    quiet_s: float = 120.0
    noisy_s: float = 240.0
    settle_timeout_s: float = 900.0
    seed: int = 1
    log_dir: Path = Path(".local/state/chaos-logs")

    @classmethod
    def make(cls, *, quick: bool, seed: int, log_dir: Path) -> NoisyOptions:
        if not quick:
            return cls(seed=seed, log_dir=log_dir)
        # The quick run scales the big table down (and says so in the table's notes).
        return cls(
            quick=True,
            big_rows=5_000,
            quiet_s=60,
            noisy_s=90,
            settle_timeout_s=600,
            seed=seed,
            log_dir=log_dir,
        )


@dataclass
class NoisyTenant:
    tenant: str
    company: str
    role: str
    versions: dict[int, int]  # customer number -> its latest version


SageOf = Callable[[NoisyTenant], httpx.AsyncClient]  # the tenant's Sage emulator


async def run_noisy(opts: NoisyOptions, admin_url: str, bootstrap: str) -> NoisyReport:
    async with fresh_database(admin_url) as dsn:
        config = StackConfig(
            kafka_bootstrap=bootstrap,
            database_url=dsn,
            master_keys=generate_key_text("noisy"),
            sage_port=free_port(),
            zoho_port=free_port(),
            agent_port=free_port(),
            log_dir=opts.log_dir,
            extra_env=agent_env(opts),
        )
        stack = DevStack(config)
        # The big table's customer has its own Sage server and agent, as every customer does.
        big_side = DevStack(
            dataclasses.replace(
                config,
                sage_port=free_port(),
                agent_port=free_port(),
                log_dir=opts.log_dir / "big-table-sage",
            )
        )
        pool = await create_pool(dsn)
        try:
            return await _run(opts, stack, big_side, pool)
        finally:
            await pool.close()
            stack.stop_all()
            big_side.stop_all()


def agent_env(opts: NoisyOptions) -> dict[str, str]:
    """The one agent here stands in for 20 customers' own agents (each customer runs one on
    its Sage server, with its own BOI sessions: 4 by default), so it gets 4 sessions a
    company. With the default 4 shared by 20 companies (whose keyed reads each use several),
    every request logged a session off and another on, and the big table's long scan held
    one of the 4: a coupling between tenants production does not have (measured with
    py-spy: half the agent's CPU went to logons in the noisy window)."""
    return {"MLC_AGENT_POOL_SIZE": str(4 * (opts.healthy + 4))}


def _tenants(run: str, healthy: int) -> list[NoisyTenant]:
    made = [
        NoisyTenant(f"nn{i:02d}-{run}", f"H{i:02d}", "healthy", {}) for i in range(1, healthy + 1)
    ]
    trouble = (
        ("poison", "NPO"),
        ("revoked token", "NRV"),
        ("slow org", "NSL"),
        ("big table", "NBG"),
    )
    made += [NoisyTenant(f"nx{i}-{run}", co, role, {}) for i, (role, co) in enumerate(trouble)]
    return made


async def _run(
    opts: NoisyOptions, stack: DevStack, big_side: DevStack, pool: asyncpg.Pool
) -> NoisyReport:
    keyring = KeyRing.parse(stack.config.master_keys)
    tenants = _tenants(uuid.uuid4().hex[:4], opts.healthy)
    healthy = [t for t in tenants if t.role == "healthy"]
    by_role = {t.role: t for t in tenants}
    rng = random.Random(opts.seed)
    stack.start_emulators()
    big_side.start_sage_side()  # its own Sage server, as every customer has
    async with (
        httpx.AsyncClient(base_url=stack.config.sage_url, timeout=120) as sage,
        httpx.AsyncClient(base_url=big_side.config.sage_url, timeout=120) as big_sage,
        httpx.AsyncClient(base_url=stack.config.zoho_url, timeout=60) as zoho,
    ):

        def sage_of(t: NoisyTenant) -> httpx.AsyncClient:
            return big_sage if t.role == "big table" else sage

        for t in healthy:
            await _seed(sage, t, opts.customers)
            await connect_tenant(
                pool=pool,
                keyring=keyring,
                stack=stack.config,
                tenant_id=t.tenant,
                company=t.company,
            )
        stack.start_services()
        await _wait_converged(sage_of, zoho, healthy, opts.settle_timeout_s)
        probe = LatencyProbe(zoho, [t.tenant for t in healthy])
        stop = asyncio.Event()
        watcher = asyncio.create_task(probe.watch(stop))
        try:
            print(f"quiet window: {opts.quiet_s:.0f} s, {len(healthy)} tenants", flush=True)
            await _edit_for(sage, healthy, probe, rng, opts.quiet_s)
            await _drain(probe)
            quiet = probe.take()
            await _troublemakers(sage_of, zoho, pool, keyring, (stack, big_side), by_role, opts)
            print(f"noisy window: {opts.noisy_s:.0f} s, {len(tenants)} tenants", flush=True)
            await _edit_for(sage, healthy, probe, rng, opts.noisy_s, poison=by_role["poison"])
            await _drain(probe)
            noisy = probe.take()
        finally:
            stop.set()
            await watcher
        await zoho.delete("/_emulator/faults")
        await _reauthorise(pool, keyring, stack.config, by_role["revoked token"].tenant)
        settled = await _wait_converged(sage_of, zoho, tenants, opts.settle_timeout_s)
        results = await _results(sage_of, zoho, tenants, quiet, noisy)
    notes = [
        f"settled in {settled:.0f} s after the noisy window"
        if settled is not None
        else "did not settle"
    ]
    if opts.quick:
        notes.append(f"quick: the big table has {opts.big_rows} rows (200,000 in the full run)")
    title = (
        f"noisy neighbour: {len(tenants)} tenants, quiet {opts.quiet_s:.0f} s,"
        f" noisy {opts.noisy_s:.0f} s, big table {opts.big_rows} rows"
    )
    return NoisyReport(title, results, replays_by_hand=0, notes=notes)


async def _seed(sage: httpx.AsyncClient, t: NoisyTenant, count: int) -> None:
    rows = [customer_row(n, 1) for n in range(1, count + 1)]
    t.versions.update({n: 1 for n in range(1, count + 1)})
    await _write(sage, t.company, rows)


async def _write(
    sage: httpx.AsyncClient, company: str, rows: list[dict[str, Any]], raw: bool = False
) -> None:
    response = await sage.post(
        f"/_emulator/companies/{company}/tables/{CUSTOMERS}", json={"records": rows, "raw": raw}
    )
    response.raise_for_status()


async def _edit_for(
    sage: httpx.AsyncClient,
    tenants: list[NoisyTenant],
    probe: LatencyProbe,
    rng: random.Random,
    seconds: float,
    poison: NoisyTenant | None = None,
) -> None:
    """Every tick one new version of a random record per tenant (the poison tenant too, with a
    poison row beside it)."""
    end, tick = time.monotonic() + seconds, 0
    editing = tenants + ([poison] if poison else [])
    while time.monotonic() < end:
        for t in editing:
            number = rng.randint(1, len(t.versions))
            t.versions[number] += 1
            await _write(sage, t.company, [customer_row(number, t.versions[number])])
            probe.wrote(t.tenant, f"01-{customer_no(number)}", t.versions[number])
        if poison is not None:
            row = dict(POISON_ROWS[tick % len(POISON_ROWS)])
            await _write_poison(sage, poison, row)
        tick += 1
        await asyncio.sleep(TICK_S)


async def _write_poison(sage: httpx.AsyncClient, t: NoisyTenant, row: dict[str, Any]) -> None:
    body = json.dumps({"records": [row], "raw": True})
    response = await sage.post(
        f"/_emulator/companies/{t.company}/tables/{CUSTOMERS}",
        content=body,
        headers={"content-type": "application/json"},
    )
    response.raise_for_status()


async def _drain(probe: LatencyProbe, limit_s: float = 120.0) -> None:
    """Let the last edits arrive (their latency counts) before the window's samples are taken."""
    end = time.monotonic() + limit_s
    while probe.pending() and time.monotonic() < end:  # noqa: ASYNC110 - polls the watcher's state
        await asyncio.sleep(1.0)


async def _troublemakers(
    sage_of: SageOf,
    zoho: httpx.AsyncClient,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    stacks: tuple[DevStack, DevStack],
    by_role: dict[str, NoisyTenant],
    opts: NoisyOptions,
) -> None:
    stack, big_side = stacks
    for role in ("poison", "revoked token", "slow org"):
        t = by_role[role]
        sage = sage_of(t)
        await _seed(sage, t, opts.customers)
        tenant = await connect_tenant(
            pool=pool, keyring=keyring, stack=stack.config, tenant_id=t.tenant, company=t.company
        )
        if role == "revoked token":
            await _revoke(zoho, tenant)
        if role == "slow org":
            fault = {"org": t.tenant, "latency_ms": SLOW_MS, "seconds": opts.noisy_s}
            (await zoho.post("/_emulator/faults", json=fault)).raise_for_status()
    big = by_role["big table"]
    for start in range(0, opts.big_rows, 100_000):
        count = min(100_000, opts.big_rows - start)
        division = f"{start // 100_000 + 1:02d}"
        seeded = await sage_of(big).post(
            f"/_emulator/companies/{big.company}/seed",
            json={"count": count, "seed": opts.seed, "division": division},
        )
        seeded.raise_for_status()
    await connect_tenant(
        pool=pool, keyring=keyring, stack=big_side.config, tenant_id=big.tenant, company=big.company
    )
    for row in POISON_ROWS:
        await _write_poison(sage_of(by_role["poison"]), by_role["poison"], dict(row))


async def _revoke(zoho: httpx.AsyncClient, tenant: Tenant) -> None:
    token = tenant.secrets.zoho_refresh_token.get_secret_value()
    url = f"{tenant.config.zoho.accounts_url}/oauth/v2/token/revoke"
    (await zoho.post(url, params={"token": token})).raise_for_status()


async def _reauthorise(
    pool: asyncpg.Pool, keyring: KeyRing, config: StackConfig, tenant_id: str
) -> None:
    """The operator's fix for a revoked token: a new grant code, exchanged, stored."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    async with httpx.AsyncClient(base_url=config.zoho_url, timeout=30) as zoho:
        minted = (
            await zoho.post(
                f"/_emulator/orgs/{tenant_id}/grant-codes",
                json={"client_id": DEMO_CLIENT_ID, "scopes": ["ZohoCRM.modules.ALL"]},
            )
        ).json()
        grant = await exchange_grant_code(
            zoho,
            accounts_url=minted["accounts_server"],
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            code=minted["code"],
            hosts=EMULATOR_HOSTS,
        )
    assert grant.refresh_token is not None
    secrets = TenantSecrets(
        sage_agent_token=tenant.secrets.sage_agent_token,
        zoho_client_secret=tenant.secrets.zoho_client_secret,
        zoho_refresh_token=SecretStr(grant.refresh_token),
    )
    await save_tenant(pool, keyring=keyring, tenant=tenant.model_copy(update={"secrets": secrets}))


async def _truth(
    sage: httpx.AsyncClient, zoho: httpx.AsyncClient, t: NoisyTenant
) -> tuple[dict[RecordKey, str], list[tuple[RecordKey, str]]]:
    """What Zoho should hold (each numbered record at the version last written; the big table
    as Sage holds it, poison rows excepted), and what it holds."""
    if t.versions:
        expected = {
            RecordKey(t.tenant, "Accounts", f"01-{customer_no(n)}"): customer_row(n, v)[
                "CustomerName"
            ]
            for n, v in t.versions.items()
        }
    else:
        response = await sage.get(f"/_emulator/companies/{t.company}/tables/{CUSTOMERS}")
        response.raise_for_status()
        expected = {
            RecordKey(t.tenant, "Accounts", f"{r['ARDivisionNo']}-{r['CustomerNo']}"): str(
                r["CustomerName"]
            )
            for r in response.json()["records"]
        }
    response = await zoho.get(f"/_emulator/orgs/{t.tenant}/records/Accounts")
    response.raise_for_status()
    found = [
        (
            RecordKey(t.tenant, "Accounts", str(r.get("Sage_Customer_No"))),
            str(r.get("Account_Name")),
        )
        for r in response.json()["data"]
    ]
    return expected, found


async def _wait_converged(
    sage_of: SageOf, zoho: httpx.AsyncClient, tenants: list[NoisyTenant], timeout_s: float
) -> float | None:
    started = time.monotonic()
    while True:
        lagging: dict[str, int] = {}
        for t in tenants:
            check = check_records(*await _truth(sage_of(t), zoho, t))
            if behind := check.expected - check.correct + len(check.duplicated):
                lagging[t.role] = lagging.get(t.role, 0) + behind
        if not lagging:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            return None
        log.info("records not yet matching, by tenant role: %s", lagging)
        await asyncio.sleep(5.0)


async def _results(
    sage_of: SageOf,
    zoho: httpx.AsyncClient,
    tenants: list[NoisyTenant],
    quiet: dict[str, list[float]],
    noisy: dict[str, list[float]],
) -> list[TenantResult]:
    results = []
    for t in tenants:
        check = check_records(*await _truth(sage_of(t), zoho, t))
        results.append(
            TenantResult(
                t.tenant,
                t.role,
                expected=check.expected,
                correct=check.correct,
                lost=len(check.lost),
                duplicated=len(check.duplicated),
                latencies_s=noisy.get(t.tenant, []),
                quiet_latencies_s=quiet.get(t.tenant, []),
            )
        )
    return results
