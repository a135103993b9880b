"""The Record page on the real PostgreSQL, through the console's own app: each event of the trail
shows the trace id it was delivered in, linked to MLC_TRACE_UI_URL, beside the correlation id's
search link (issue #16)."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from audit.service import to_row
from audit.store import store_rows
from console import auth
from console.handlers import COOKIE
from console.main import build_app
from console.settings import ConsoleSettings
from mlc_core.contracts import encode
from pydantic import SecretStr

from tests.factories import command, raw_event

pytestmark = pytest.mark.integration  # the real PostgreSQL

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SECRET = "test-session-secret"
JAEGER = "http://jaeger.test:16686"


@dataclass
class Delivered:
    value: bytes
    topic: str
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    key: bytes | None = None
    partition: int = 0
    offset: int = 0


@asynccontextmanager
async def console(app_dsn: str, master_keys: str, **links: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ConsoleSettings(
        database_url=SecretStr(app_dsn),
        master_keys=SecretStr(master_keys),
        console_session_secret=SecretStr(SECRET),
        **links,  # type: ignore[arg-type]
    )
    app = build_app(settings)
    cookie = auth.new_session("admin", secret=SECRET.encode(), minutes=5)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", cookies={COOKIE: cookie}
        ) as client:
            yield client


@pytest.fixture
async def record(app_pool: asyncpg.Pool, tenant_id: str) -> tuple[str, str, str]:
    """A change delivered in trace TRACE and its command delivered without a traceparent."""
    raw = raw_event(tenant=tenant_id, CustomerNo="TRC")
    cmd = command(key=raw.source_key, tenant=tenant_id, version=raw.source_version)
    traced = [("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode())]
    rows = [
        to_row(Delivered(encode(raw), "mlc.sage.changes", traced)),
        to_row(Delivered(encode(cmd), "mlc.zoho.commands")),
    ]
    assert await store_rows(app_pool, rows) == 2
    return tenant_id, raw.entity, raw.source_key


async def record_page(client: httpx.AsyncClient, ref: tuple[str, str, str]) -> str:
    tenant, entity, key = ref
    answer = await client.get("/records", params={"tenant": tenant, "entity": entity, "key": key})
    assert answer.status_code == 200, answer.text
    return html.unescape(answer.text)


async def test_the_record_page_links_each_events_trace_id(
    app_dsn: str, master_keys: str, record: tuple[str, str, str]
) -> None:
    links = {
        "trace_ui_url": JAEGER + "/trace/{trace_id}",
        "trace_search_url": JAEGER + "/search?tags={correlation_id}",
    }
    async with console(app_dsn, master_keys, **links) as client:
        page = await record_page(client, record)
    assert f'<a href="{JAEGER}/trace/{TRACE}">{TRACE}</a>' in page
    assert page.count(f"{JAEGER}/trace/") == 1  # the command had no traceparent: no link
    assert '<td class="trace">-</td>' in page
    assert f"{JAEGER}/search?tags=" in page  # the correlation id's search stays
    assert "set MLC_TRACE_UI_URL" not in page


async def test_without_a_trace_ui_the_trace_id_is_shown_unlinked(
    app_dsn: str, master_keys: str, record: tuple[str, str, str]
) -> None:
    async with console(app_dsn, master_keys) as client:
        page = await record_page(client, record)
    assert f"<code>{TRACE}</code>" in page and "/trace/" not in page
    assert "set MLC_TRACE_UI_URL to link them" in page
