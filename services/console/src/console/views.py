"""Pure view models: what a page shows, computed from the operations' answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mlc_ops.audit import FailureGroup
from mlc_ops.console_views import TenantHealth

# What to do about a failure, by the reason Zoho or the pipeline gave; the same words `mlc ping`
# prints for the setup problems behind them.
FIXES = {
    "INVALID_MODULE": "the module is missing in Zoho: run `mlc zoho setup <tenant>` (or the"
    " console's ping to see which)",
    "MODULE_UNAVAILABLE": "the Zoho edition lacks this module: choose another edition or leave"
    " the entity out of the tenant's entities",
    "EXTERNAL_FIELDS": "the external key field is missing: run `mlc zoho setup <tenant>`",
    "CUSTOM_MODULES": "custom modules are missing: run `mlc zoho setup <tenant>`",
    "PARENT_MISSING": "the parent record (e.g. the customer) is not in Zoho yet: sync its entity,"
    " then replay these",
    "INVALID_DATA": "Zoho refused a field's value: the error names the field; fix it in Sage or in"
    " the tenant's mapping (`mlc mapping`), then replay",
    "MANDATORY_NOT_FOUND": "a field Zoho requires is empty: fill it in Sage or map a default,"
    " then replay",
    "DUPLICATE_DATA": "a unique field in Zoho already holds this value: merge the Zoho records,"
    " then replay",
    "INVALID_TOKEN": "Zoho refused the token: reconnect Zoho (`mlc zoho connect <tenant>`)",
    "OAUTH_SCOPE_MISMATCH": "the refresh token lacks a scope: reconnect Zoho with the scopes the"
    " runbook lists",
    "TENANT_UNKNOWN": "the tenant was removed while its records were in flight: nothing to do, or"
    " add it back and replay",
    "INTERNAL_ERROR": "Zoho answered with a server error (trouble on Zoho's side): once `mlc ping`"
    " is green again, replay these",
    "MALFORMED": "the Sage record could not be read: the error names the field; fix it in Sage",
}
DEFAULT_FIX = "run ping for this tenant; its failing checks say what to change, then replay"


def fix_for(reason: str) -> str:
    for code, text in FIXES.items():
        if code in reason.upper():
            return text
    return DEFAULT_FIX


@dataclass(frozen=True)
class FailureView:
    entity: str
    reason: str
    records: int
    since: str
    sample_keys: list[str]
    sample_error: str
    fix: str


def failure_views(groups: list[FailureGroup]) -> list[FailureView]:
    return [
        FailureView(
            g.entity,
            g.reason,
            g.records,
            when(g.since),
            g.sample_keys,
            g.sample_error or "",
            fix_for(g.reason),
        )
        for g in groups
    ]


def when(at: datetime | str | None) -> str:
    if at is None:
        return "-"
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(at: str | None, now: datetime | None = None) -> str:
    """'12 s ago' for an ISO time; '-' when never."""
    if at is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - datetime.fromisoformat(at)).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


@dataclass(frozen=True)
class TenantRow:
    tenant_id: str
    name: str
    state: str  # ok, warn, bad, off: the colour of the row's badge
    state_text: str
    last_poll: str
    waiting: int
    written_24h: int
    failed_24h: int
    zoho: str
    credits: str


def tenant_row(health: TenantHealth, now: datetime | None = None) -> TenantRow:
    polls = [e.last_poll for e in health.entities if e.last_poll]
    oldest = min(polls) if polls else None
    state, text = _state(health)
    return TenantRow(
        health.tenant_id,
        health.name,
        state,
        text,
        ago(oldest, now),
        health.waiting,
        health.written_24h,
        health.failed_24h,
        health.hold or "connected",
        health.credits or "-",
    )


def _state(health: TenantHealth) -> tuple[str, str]:
    if not health.enabled:
        return "off", "disabled"
    if health.hold:
        return "bad", "Zoho on hold"
    if health.failing_polls:
        return (
            "bad",
            f"{health.failing_polls} entit{'y' if health.failing_polls == 1 else 'ies'}"
            " failing to poll",
        )
    if health.failed_24h:
        return "warn", f"{health.failed_24h} failed in 24 h"
    return "ok", "healthy"


@dataclass(frozen=True)
class TraceLinks:
    """Where the Record page links an event's trace id (MLC_TRACE_UI_URL) and a record change's
    correlation id (MLC_TRACE_SEARCH_URL); each is looked for in both settings by placeholder,
    so a MLC_TRACE_UI_URL that holds a correlation search keeps linking correlation ids."""

    trace_ui_url: str | None
    trace_search_url: str | None

    def trace(self, trace_id: str) -> str | None:
        return trace_link((self.trace_ui_url, self.trace_search_url), "{trace_id}", trace_id)

    def search(self, correlation_id: str) -> str | None:
        urls = (self.trace_search_url, self.trace_ui_url)
        return trace_link(urls, "{correlation_id}", correlation_id)

    @property
    def links_traces(self) -> bool:
        return self.trace("0" * 32) is not None


def trace_link(templates: Sequence[str | None], placeholder: str, value: str) -> str | None:
    """The first template holding `placeholder` ("{trace_id}": one trace; "{correlation_id}":
    a search for a record change's spans) with the value in it; None when none holds it."""
    for template in templates:
        if template and placeholder in template:
            return template.replace(placeholder, quote(value, safe=""))
    return None


def pretty(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, default=str)
