"""The benchmark's stack: a throwaway database, the emulators, the agent and the four services
as separate processes (mlc_devtools.devstack), tenants wired the way a user wires them,
and peak-RSS sampling of each service."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import migrate
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_core.zoho.oauth import TokenGrant, exchange_grant_code
from mlc_devtools.devstack import SERVICES, DevStack, StackConfig
from mlc_devtools.emulated import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, EMULATOR_HOSTS
from pydantic import SecretStr

COMPANY = "BEN"
ENTITIES = [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT]
SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"]
CONTACT_CHUNK = 5000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@')[-1]}"
    return urlunsplit(parts._replace(path=f"/{database}", netloc=netloc))


@asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one run (dropped afterwards); yields the app role's URL."""
    name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        await migrate(with_database(admin_url, name))
        yield with_database(admin_url, name, user="mlc_app")
    finally:
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def stack_config(
    *, bootstrap: str, app_url: str, log_dir: Path, poll_seconds: float
) -> StackConfig:
    return StackConfig(
        kafka_bootstrap=bootstrap,
        database_url=app_url,
        master_keys=generate_key_text("bench"),
        sage_port=free_port(),
        zoho_port=free_port(),
        agent_port=free_port(),
        poll_interval_seconds=poll_seconds,
        log_dir=log_dir,
        extra_env={
            # The org is Enterprise; the writer cannot read the edition without the org scope.
            "MLC_WRITER_DEFAULT_EDITION": "enterprise",
            # A full key scan every 10 s (the dev stack's demo setting) would compete with the
            # load being measured; a deployment runs it hourly.
            "MLC_RECONCILE_INTERVAL_SECONDS": "3600",
            "MLC_TENANT_REFRESH_SECONDS": "1",
            "MLC_LOG_LEVEL": "WARNING",
        },
    )


class PeakRss:
    """Samples each service's resident memory (with any children) every `every` seconds."""

    def __init__(self, stack: DevStack, every: float = 0.5) -> None:
        self._stack, self._every = stack, every
        self.peak_bytes: dict[str, int] = dict.fromkeys(SERVICES, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {name: round(peak / 2**20, 1) for name, peak in self.peak_bytes.items()}

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            for name in SERVICES:
                proc = self._stack.procs.get(name)
                if proc is not None and proc.poll() is None:
                    self.peak_bytes[name] = max(self.peak_bytes[name], _tree_rss(proc.pid))


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


@dataclass
class ZohoOrg:
    """An emulated org with a grant for it (the naive sync uses the access token directly)."""

    org_id: str
    accounts_server: str
    grant: TokenGrant


async def new_zoho_org(zoho: httpx.AsyncClient, org_id: str) -> ZohoOrg:
    """An Enterprise org and a self-client grant exchanged for tokens, as `mlc tenant add` does."""
    client = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    await zoho.post("/_emulator/clients", json=client)
    org = {"org_id": org_id, "dc": "us", "edition": "enterprise"}
    (await zoho.post("/_emulator/orgs", json=org)).raise_for_status()
    minted = await zoho.post(
        f"/_emulator/orgs/{org_id}/grant-codes",
        json={"client_id": DEMO_CLIENT_ID, "scopes": SCOPES},
    )
    minted.raise_for_status()
    code = minted.json()
    grant = await exchange_grant_code(
        zoho,
        accounts_url=code["accounts_server"],
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        code=code["code"],
        hosts=EMULATOR_HOSTS,
    )
    return ZohoOrg(org_id, code["accounts_server"], grant)


@dataclass
class Bench:
    """What the scenarios share: the running stack, its database and HTTP clients."""

    dev: DevStack
    pool: asyncpg.Pool
    keyring: KeyRing
    sage: httpx.AsyncClient
    zoho: httpx.AsyncClient
    notes: list[str] = field(default_factory=list)

    async def add_tenant(self, tenant_id: str) -> None:
        """A disabled tenant on the benchmark company, with the Zoho fields `mlc zoho setup`
        creates; enabling it starts its initial load."""
        org = await new_zoho_org(self.zoho, tenant_id)
        tenant = self.tenant(tenant_id, COMPANY, org, label="benchmark")
        await add_tenant(self.pool, keyring=self.keyring, tenant=tenant)
        async with httpx.AsyncClient(timeout=60) as http:
            await setup(self.pool, self.keyring, tenant_id, http=http, hosts=EMULATOR_HOSTS)

    def tenant(self, tenant_id: str, company: str, org: ZohoOrg, *, label: str) -> Tenant:
        """A disabled tenant on `company` through this stack's agent, writing to `org`."""
        assert org.grant.refresh_token is not None
        return Tenant(
            tenant_id=tenant_id,
            display_name=f"{tenant_id} ({label})",
            enabled=False,
            config=TenantConfig(
                sage=SageConfig(company_code=company, agent_url=self.dev.config.agent_url),
                zoho=ZohoConfig(accounts_url=org.accounts_server, client_id=DEMO_CLIENT_ID),
                entities=ENTITIES,
            ),
            secrets=TenantSecrets(
                sage_agent_token=SecretStr(self.dev.config.sage_agent_token),
                zoho_client_secret=SecretStr(DEMO_CLIENT_SECRET),
                zoho_refresh_token=SecretStr(org.grant.refresh_token),
            ),
        )

    async def zoho_stats(self, org: str) -> dict[str, Any]:
        response = await self.zoho.get(f"/_emulator/orgs/{org}/stats")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def written_since(self, org: str, module: str, since: float) -> dict[str, float]:
        """{external key: Zoho modified time} of the records written at or after `since`."""
        key = "Sage_Customer_No" if module == "Accounts" else "Sage_Contact_Key"
        response = await self.zoho.get(
            f"/_emulator/orgs/{org}/records/{module}/modified",
            params={"since": since, "key": key},
        )
        response.raise_for_status()
        return {str(r["key"]): float(r["modified_time"]) for r in response.json()["data"]}

    async def set_latency(self, org: str, latency_ms: int) -> None:
        fault = {"org": org, "latency_ms": latency_ms}
        (await self.zoho.post("/_emulator/faults", json=fault)).raise_for_status()

    async def seed(self, customers: int, contacts_per_customer: int) -> list[str]:
        """`customers` AR customers with `contacts_per_customer` contacts each in the Sage
        emulator; returns the customers' keys ('01-0000012')."""
        left = customers
        while left > 0:
            count = min(left, 100_000)  # the emulator's largest seed call
            body = {"count": count, "seed": 42 + left, "division": "01"}
            (
                await self.sage.post(f"/_emulator/companies/{COMPANY}/seed", json=body)
            ).raise_for_status()
            left -= count
        rows = (await self.sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()
        customers_rows: list[dict[str, Any]] = rows["records"]
        contacts = [
            contact_row(row, n) for row in customers_rows for n in range(contacts_per_customer)
        ]
        for start in range(0, len(contacts), CONTACT_CHUNK):
            chunk = {"records": contacts[start : start + CONTACT_CHUNK]}
            path = f"/_emulator/companies/{COMPANY}/tables/AR_CustomerContact"
            (await self.sage.post(path, json=chunk)).raise_for_status()
        return [f"{r['ARDivisionNo']}-{r['CustomerNo']}" for r in customers_rows]

    async def poll_successes(self, tenant_id: str) -> dict[str, Any]:
        rows = await self.pool.fetch(
            "SELECT entity, last_success_at FROM poller_status WHERE tenant_id = $1", tenant_id
        )
        return {r["entity"]: r["last_success_at"] for r in rows}

    def dead_services(self) -> list[str]:
        return self.dev.dead()


CONTACT_ROLES = (("BUYER", "Purchasing Mgr"), ("AP", "AP Clerk"), ("OPS", "Operations"))
FIRST = ("Ann", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon")
LAST = ("Alvarez", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hale", "Ito")


def contact_row(customer: dict[str, Any], n: int) -> dict[str, Any]:
    """The n-th contact of a customer (deterministic), as Sage's AR_CustomerContact holds it."""
    code, title = CONTACT_ROLES[n % len(CONTACT_ROLES)]
    index = sum(map(ord, customer["CustomerNo"])) + n
    first, last = FIRST[index % len(FIRST)], LAST[index % len(LAST)]
    domain = str(customer.get("EmailAddress") or "@example.com").split("@")[-1]
    return {
        "ARDivisionNo": customer["ARDivisionNo"],
        "CustomerNo": customer["CustomerNo"],
        "ContactCode": code,
        "ContactName": f"{first} {last}",
        "ContactTitle": title,
        "City": customer.get("City", ""),
        "State": customer.get("State", ""),
        "ZipCode": customer.get("ZipCode", ""),
        "CountryCode": "USA",
        "TelephoneNo1": customer.get("TelephoneNo", ""),
        "EmailAddress": f"{first[0]}{last}.{code}@{domain}".lower()[:50],
    }


def env_or_exit(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set (deploy/local/bench.sh sets it; or run up.sh)")
    return value
