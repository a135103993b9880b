"""The whole flow on a SASL_SSL broker with ACLs: each service as its own principal.

Starts the local broker in secure mode (`MLC_KAFKA_SECURE=1 deploy/local/kafka.sh`: SCRAM-SHA-512
over TLS, an mTLS listener, the StandardAuthorizer, auto-create off) on its own ports
(`MLC_KAFKA_SECURE_PORT`, default 19094: SASL_SSL there, the controller on the next port, mTLS
on the one after), provisions the topics with `mlc kafka topics --apply` as the operator, runs
the four services (poller, mapper and writer over SCRAM, audit over mTLS) in their own
database, syncs customers Sage -> Zoho, and shows the broker refusing the writer's produce to
the raw Sage topic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from mlc_core.contracts import Entity, Topics
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool, migrate
from mlc_core.kafka import TopicsMissingError, create_producer, prepare_topics
from mlc_core.settings import KafkaSecurity
from mlc_devtools.devstack import DevStack, StackConfig, program
from mlc_devtools.emulated import connect_tenant
from pydantic import SecretStr

from tests.e2e.conftest import audit_rows, eventually, free_port, zoho_accounts
from tests.infra import ADMIN_URL, with_database

REPO = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("MLC_KAFKA_SECURE_PORT", "19094"))
CONTROLLER_PORT, MTLS_PORT = PORT + 1, PORT + 2
SCRAM_BOOTSTRAP, MTLS_BOOTSTRAP = f"127.0.0.1:{PORT}", f"127.0.0.1:{MTLS_PORT}"
TENANT, COMPANY, CUSTOMERS = f"sec{uuid.uuid4().hex[:6]}", "ABC", 25


def kafka_sh(state: Path, *args: str) -> None:
    env = dict(
        os.environ,
        MLC_KAFKA_SECURE="1",
        MLC_STATE_DIR=str(state),
        MLC_KAFKA_PORT=str(PORT),
        MLC_KAFKA_CONTROLLER_PORT=str(CONTROLLER_PORT),
        MLC_KAFKA_MTLS_PORT=str(MTLS_PORT),
    )
    subprocess.run([str(REPO / "deploy/local/kafka.sh"), *args], env=env, check=True)


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("kafka-secure-state")
    kafka_sh(state, "start")
    try:
        yield state / "kafka-secure" / "secrets"
    finally:
        kafka_sh(state, "stop", "--purge")


def scram_env(secrets: Path, principal: str) -> dict[str, str]:
    return {
        "MLC_KAFKA_BOOTSTRAP": SCRAM_BOOTSTRAP,
        "MLC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "MLC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "MLC_KAFKA_USERNAME": principal,
        "MLC_KAFKA_PASSWORD_FILE": str(secrets / f"{principal}.password"),
        "MLC_KAFKA_CA_FILE": str(secrets / "ca.pem"),
    }


def mtls_env(secrets: Path, principal: str) -> dict[str, str]:
    return {
        "MLC_KAFKA_BOOTSTRAP": MTLS_BOOTSTRAP,
        "MLC_KAFKA_SECURITY_PROTOCOL": "SSL",
        "MLC_KAFKA_CA_FILE": str(secrets / "ca.pem"),
        "MLC_KAFKA_CERT_FILE": str(secrets / f"{principal}.pem"),
        "MLC_KAFKA_KEY_FILE": str(secrets / f"{principal}.key"),
    }


class PrincipalStack(DevStack):
    """The dev stack with each service's own Kafka identity in its environment."""

    def __init__(self, config: StackConfig, identities: dict[str, dict[str, str]]) -> None:
        super().__init__(config)
        self.base_env, self.identities = dict(config.extra_env), identities

    def start(self, name: str) -> None:
        self.config.extra_env = {**self.base_env, **self.identities.get(program(name), {})}
        super().start(name)


@pytest.fixture(scope="module")
async def own_database() -> AsyncIterator[str]:
    """Its services serve every enabled tenant of their database: not the shared test one."""
    name = f"mlc_secure_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(with_database(ADMIN_URL, name))
    yield with_database(ADMIN_URL, name, user="mlc_app")
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_a_service_does_not_start_on_unprovisioned_topics(secrets_dir: Path) -> None:
    # First in the module: the broker is up, nothing has provisioned its topics yet.
    env = {"MLC_KAFKA_AUTO_CREATE_TOPICS": "false", **scram_env(secrets_dir, "mlc-mapper")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(TopicsMissingError, match="mlc kafka topics --apply") as refused:
            await prepare_topics(SCRAM_BOOTSTRAP, wait_seconds=0)
    # The mapper may see its own topics only: those are the ones it reports missing.
    assert str(refused.value).count("mlc.") == 3, refused.value
    assert "mlc.zoho.outcomes" not in str(refused.value)


def scram_security(secrets: Path, principal: str) -> KafkaSecurity:
    return KafkaSecurity(
        security_protocol="SASL_SSL",
        username=principal,
        password=SecretStr((secrets / f"{principal}.password").read_text().strip()),
        ca_file=secrets / "ca.pem",
    )


@pytest.fixture(scope="module")
def provisioned(secrets_dir: Path) -> Path:
    env = {**os.environ, **scram_env(secrets_dir, "mlc-operator")}
    run = subprocess.run(
        [str(Path(sys.executable).parent / "mlc"), "kafka", "topics", "--apply"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("done: create") == len(Topics), run.stdout
    return secrets_dir


@pytest.fixture(scope="module")
def secure_stack(
    provisioned: Path, own_database: str, master_keys: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevStack]:
    secrets = provisioned
    identities = {
        "mlc-sage-poller": scram_env(secrets, "mlc-sage-poller"),
        "mlc-mapper": scram_env(secrets, "mlc-mapper"),
        "mlc-zoho-writer": scram_env(secrets, "mlc-zoho-writer"),
        "mlc-audit": mtls_env(secrets, "mlc-audit"),
    }
    config = StackConfig(
        kafka_bootstrap=SCRAM_BOOTSTRAP,
        database_url=own_database,
        master_keys=master_keys,
        sage_port=free_port(),
        zoho_port=free_port(),
        agent_port=free_port(),
        poll_interval_seconds=1.0,
        log_dir=tmp_path_factory.mktemp("secure-stack-logs"),
        # Topics come from `mlc kafka topics --apply`; no service principal may create one.
        extra_env={"MLC_KAFKA_AUTO_CREATE_TOPICS": "false"},
    )
    stack = PrincipalStack(config, identities)
    stack.start_emulators()
    try:
        stack.start_services()
        yield stack
    finally:
        stack.stop_all()


async def test_customers_sync_with_each_service_as_its_own_principal(
    secure_stack: DevStack, own_database: str, keyring: KeyRing
) -> None:
    pool = await create_pool(own_database)
    try:
        await connect_tenant(
            pool=pool,
            keyring=keyring,
            stack=secure_stack.config,
            tenant_id=TENANT,
            company=COMPANY,
            entities=[Entity.AR_CUSTOMER],
        )
        async with httpx.AsyncClient(base_url=secure_stack.config.sage_url, timeout=60) as sage:
            seeded = await sage.post(
                f"/_emulator/companies/{COMPANY}/seed",
                json={"count": CUSTOMERS, "seed": 3, "division": "01"},
            )
            assert seeded.status_code == 200, seeded.text
        async with httpx.AsyncClient(base_url=secure_stack.config.zoho_url, timeout=60) as zoho:
            accounts = await eventually(
                lambda: zoho_accounts(zoho, TENANT),
                lambda a: len(a) >= CUSTOMERS,
                what=f"{CUSTOMERS} accounts written through the SASL_SSL broker",
                stack=secure_stack,
                within=150,
            )
        assert len(accounts) == CUSTOMERS
        # The audit service (mTLS principal) read every stage's topic.
        topics = await eventually(
            lambda: _audited_topics(pool),
            lambda seen: {Topics.SAGE_CHANGES, Topics.ZOHO_COMMANDS, Topics.ZOHO_OUTCOMES} <= seen,
            what="raw events, commands and outcomes in the audit log",
            stack=secure_stack,
        )
        assert Topics.SAGE_CHANGES in topics
    finally:
        await pool.close()


async def _audited_topics(pool: asyncpg.Pool) -> set[str]:
    return {row["topic"] for row in await audit_rows(pool, TENANT)}


async def test_the_writer_cannot_produce_raw_sage_events(provisioned: Path) -> None:
    secrets = provisioned
    writer = scram_security(secrets, "mlc-zoho-writer")
    producer = create_producer(SCRAM_BOOTSTRAP, client_id="forger", security=writer)
    await producer.start()
    try:
        # The credentials were accepted (the connection authenticated and started); the
        # topic is what the ACLs refuse.
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(Topics.SAGE_CHANGES, b"{}", key=b"forged")
    finally:
        await producer.stop()
