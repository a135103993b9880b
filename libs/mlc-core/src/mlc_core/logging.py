"""Structured JSON logs with secret redaction.

Every record passes a redaction filter: known secret values (registered at runtime when a secret
is decrypted) and secret-shaped patterns (OAuth tokens, passwords in URLs) are masked before any
handler sees them, so no code path can log a secret by accident.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
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
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Mask this exact value wherever it appears in a log line from now on."""
    if len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
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
