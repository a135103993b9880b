"""The console's view models: a tenant's badge, fix texts, and payloads without secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console import views
from mlc_ops.console_views import HIDDEN, TenantHealth, hide_secrets
from mlc_ops.status import EntityStatus

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def health(**kw: object) -> TenantHealth:
    polled = (NOW - timedelta(seconds=30)).isoformat()
    entities = [
        EntityStatus("t", "ar_customer", last_poll=polled, waiting=3, written_24h=10),
        EntityStatus("t", "ap_vendor", last_poll=(NOW - timedelta(minutes=5)).isoformat()),
    ]
    return TenantHealth("t", "T Inc", True, entities, **kw)  # type: ignore[arg-type]


def test_tenant_row_sums_entities_and_shows_the_oldest_poll() -> None:
    row = views.tenant_row(health(), NOW)
    assert (row.waiting, row.written_24h, row.failed_24h) == (3, 10, 0)
    assert row.last_poll == "5 min ago" and (row.state, row.zoho) == ("ok", "connected")


def test_the_worst_state_wins() -> None:
    held = health(hold="reconnect Zoho since …")
    assert views.tenant_row(held, NOW).state == "bad"
    failing = health()
    failing.entities[1].failed_24h = 2
    assert views.tenant_row(failing, NOW).state_text == "2 failed in 24 h"
    off = health()
    off.enabled = False
    assert views.tenant_row(off, NOW).state == "off"


def test_fix_texts() -> None:
    assert "mlc zoho setup" in views.fix_for("INVALID_MODULE")
    assert views.fix_for("SOMETHING_NEW") == views.DEFAULT_FIX


def test_secrets_never_reach_a_page() -> None:
    payload = {
        "record": {"Name": "A", "access_token": "abc", "nested": [{"client_secret": "s"}]},
        "Authorization": "Zoho-oauthtoken x",
        "token_count": None,
    }
    shown = hide_secrets(payload)
    assert shown["record"]["access_token"] == HIDDEN
    assert shown["record"]["nested"][0]["client_secret"] == HIDDEN
    assert shown["Authorization"] == HIDDEN and shown["record"]["Name"] == "A"
    assert "abc" not in views.pretty(shown)


def test_trace_link() -> None:
    assert views.trace_link(None, "c") is None
    assert (
        views.trace_link("http://j/search?id={correlation_id}", "a b") == "http://j/search?id=a%20b"
    )
