"""Structured JSON logs with secret redaction.

Every record passes a redaction filter: known secret values (registered at runtime when a secret
is decrypted) and secret-shaped patterns (OAuth tokens, passwords in URLs) are masked before any
handler sees them, so no code path can log a secret by accident.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

REDACTED = "***"
_PATTERNS = [
    re.compile(r"(Zoho-oauthtoken|Bearer)\s+[A-Za-z0-9._\-]+", re.IGNORECASE),
    re.compile(r"((?:refresh|access)_token|client_secret|password|code)=[^&\s\"']+", re.I),
    re.compile(r"(\"(?:refresh|access)_token\"\s*:\s*)\"[^\"]*\"", re.IGNORECASE),
    re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"),
]
# Access tokens live an hour (zoho-crm.md §1.5); a masked value is kept a while
# longer so a late log line about it is still masked, then forgotten so a week-long run does not
# scan a list that grew with every refresh.
ACCESS_TOKEN_TTL_S = 3600 + 600
# A hard cap on the values kept, whatever their lifetime: the oldest go first.
MAX_KNOWN_SECRETS = 10_000


class SecretRegistry:
    """Exact secret values to mask, each until its expiry (or for good), at most `limit` of them.

    Matching is one pass of one compiled alternation, rebuilt only when the values change, so a
    log line costs the same with ten tenants as with a thousand. Only the current alternation is
    kept: `re` caches every pattern it compiles (up to 512), a thousand tenants' secrets make
    each about 0.8 MiB, and the writer (whose access tokens change all day) and the poller grew
    by hundreds of MiB at the 1,000-tenant bench keeping superseded ones (docs/benchmark.md).
    """

    def __init__(
        self, *, limit: int = MAX_KNOWN_SECRETS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._expiry: dict[str, float] = {}  # insertion-ordered: the first is the oldest
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._next_expiry = math.inf

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, value: str, *, ttl_seconds: float | None = None) -> None:
        if len(value) < 6:
            return
        expires = math.inf if ttl_seconds is None else self._clock() + ttl_seconds
        with self._lock:
            known = self._expiry.pop(value, None)
            self._expiry[value] = max(expires, known or -math.inf)
            changed = known is None  # a tenant's secrets come again at each load: no rebuild
            while len(self._expiry) > self._limit:
                del self._expiry[next(iter(self._expiry))]
                changed = True
            self._next_expiry = min(self._next_expiry, expires)
            if changed:
                self._pattern = None

    def mask(self, text: str) -> str:
        pattern = self._current()
        return text if pattern is None else pattern.sub(REDACTED, text)

    def _current(self) -> re.Pattern[str] | None:
        if self._clock() >= self._next_expiry:
            self._forget_expired()
        pattern = self._pattern
        if pattern is None and self._expiry:
            with self._lock:
                # Longest first, so a secret containing another is masked whole.
                values = sorted(self._expiry, key=lambda v: (-len(v), v))
                pattern = self._pattern = re.compile("|".join(map(re.escape, values)))
                # Drops it from `re`'s cache (which holds only patterns, not results): kept
                # here, it would otherwise stay alive there after the next rebuild too.
                re.purge()
        return pattern

    def _forget_expired(self) -> None:
        now = self._clock()
        with self._lock:
            self._expiry = {v: at for v, at in self._expiry.items() if at > now}
            self._next_expiry = min(self._expiry.values(), default=math.inf)
            self._pattern = None


_registry = SecretRegistry()


def register_secret(value: str, *, ttl_seconds: float | None = None) -> None:
    """Mask this exact value wherever it appears in a log line from now on (or for
    `ttl_seconds`: short-lived values such as access tokens)."""
    _registry.add(value, ttl_seconds=ttl_seconds)


def redact(text: str) -> str:
    text = _registry.mask(text)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _PATTERNS[2].sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return _PATTERNS[3].sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "ctx", {}))
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # lets a log line be found from its trace, and the other way round
            entry["trace_id"], entry["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def ctx(**fields: Any) -> dict[str, Any]:
    """`extra=` for a log call: fields land as top-level JSON keys."""
    return {"ctx": fields}
