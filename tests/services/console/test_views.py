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
    assert views.trace_link([None], "{correlation_id}", "c") is None
    search = "http://j/search?id={correlation_id}"
    assert views.trace_link([search], "{correlation_id}", "a b") == "http://j/search?id=a%20b"
    assert views.trace_link([search], "{trace_id}", "ab") is None


def test_trace_links_each_id_to_the_setting_that_holds_its_placeholder() -> None:
    trace, search = "http://j/trace/{trace_id}", "http://j/search?c={correlation_id}"
    links = views.TraceLinks(trace_ui_url=trace, trace_search_url=search)
    assert links.trace("4bf9") == "http://j/trace/4bf9" and links.links_traces
    assert links.search("c1") == "http://j/search?c=c1"
    # MLC_TRACE_UI_URL as it was (a correlation search) still links correlation ids.
    legacy = views.TraceLinks(trace_ui_url=search, trace_search_url=None)
    assert legacy.search("c1") == "http://j/search?c=c1"
    assert legacy.trace("4bf9") is None and not legacy.links_traces
    assert views.TraceLinks(None, None).search("c1") is None
