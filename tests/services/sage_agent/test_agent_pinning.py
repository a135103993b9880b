"""Every agent client is built from the tenant's settings: a pinned fingerprint is the only
trust (the poller's, `mlc ping`'s and `mlc reconcile`'s clients come from AgentConnections)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlc_core.sage.agent import AgentConnections, agent_for
from mlc_core.sage.errors import SageUnavailable
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig
from mlc_ops.ping_checks import sage_agent
from pydantic import SecretStr, ValidationError
from sage_agent.tls import write
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.services.sage_agent.servers import serve

WRONG = "sha256:" + "ab" * 32


async def changes(request: Request) -> JSONResponse:
    assert request.headers["authorization"] == "Bearer agent-token"
    return JSONResponse({"records": [{"CustomerNo": "0000001"}], "next_cursor": None})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A TLS agent stand-in with a self-signed certificate: (url, its pin)."""
    where: Path = tmp_path_factory.mktemp("agent-tls")
    pin = f"sha256:{write(where, ['127.0.0.1'])}"
    app = Starlette(
        routes=[
            Route("/v1/health", health),
            Route("/v1/companies/ABC/ar_customers/changes", changes),
        ]
    )
    tls = {"ssl_certfile": str(where / "agent.pem"), "ssl_keyfile": str(where / "agent.key")}
    with serve(app, **tls) as url:
        yield url, pin


def tenant(url: str, fingerprint: str | None) -> Tenant:
    return Tenant(
        tenant_id="acme",
        display_name="Acme",
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url=url, agent_fingerprint=fingerprint),
            zoho=ZohoConfig(accounts_url="https://accounts.zoho.com", client_id="1000.c"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("agent-token"),
            zoho_client_secret=SecretStr("s"),
            zoho_refresh_token=SecretStr("r"),
        ),
    )


async def read(agents: AgentConnections, who: Tenant) -> int:
    page = await agents.client(who).changes(company="ABC", entity="ar_customer", since=None)
    return len(page.records)


async def test_a_pinned_tenant_reaches_its_agent_and_no_other_trust_does(
    agent: tuple[str, str],
) -> None:
    url, pin = agent
    async with httpx.AsyncClient(timeout=10) as http:
        agents = AgentConnections(http)
        try:
            assert await read(agents, tenant(url, pin.upper().replace("SHA256:", "sha256:"))) == 1
            with pytest.raises(SageUnavailable, match="pinned"):
                await read(agents, tenant(url, WRONG))
            with pytest.raises(SageUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
                await read(agents, tenant(url, None))  # the system CAs do not know it
            assert agents.http_for(None) is http and agents.http_for(pin) is agents.http_for(pin)
        finally:
            await agents.aclose()
        async with agent_for(tenant(url, pin), http=http) as one:
            page = await one.changes(company="ABC", entity="ar_customer", since=None)
            assert page.records == [{"CustomerNo": "0000001"}]


async def test_ping_checks_the_agent_through_the_pin(agent: tuple[str, str]) -> None:
    url, pin = agent
    async with httpx.AsyncClient(timeout=10) as http:
        pinned = await sage_agent(http, tenant(url, pin))
        assert [c.status for c in pinned] == ["ok", "ok"]
        assert "certificate pinned" in pinned[0].detail
        wrong = await sage_agent(http, tenant(url, WRONG))
    assert wrong[0].status == "fail" and "--agent-fingerprint" in wrong[0].fix


def test_the_tenant_setting_is_normalized_and_needs_https() -> None:
    spaced = "SHA256:" + ":".join(["AB"] * 32)
    assert SageConfig(company_code="ABC", agent_url="https://a", agent_fingerprint=spaced) == (
        SageConfig(company_code="ABC", agent_url="https://a", agent_fingerprint=WRONG)
    )
    with pytest.raises(ValidationError, match="32 bytes"):
        SageConfig(company_code="ABC", agent_url="https://a", agent_fingerprint="sha256:abcd")
    with pytest.raises(ValidationError, match="https"):
        SageConfig(company_code="ABC", agent_url="http://a", agent_fingerprint=WRONG)
    assert (
        SageConfig(company_code="ABC", agent_url="http://a", agent_fingerprint="").agent_fingerprint
        is None
    )
