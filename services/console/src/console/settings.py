"""The console's settings (prefix MLC_), on top of what every service reads."""

from __future__ import annotations

from mlc_core.settings import CommonSettings
from pydantic import SecretStr


class ConsoleSettings(CommonSettings):
    console_host: str = "127.0.0.1"
    console_port: int = 8090
    # `mlc console hash-password` prints it; the password itself is never stored.
    console_admin_password_hash: SecretStr | None = None
    console_admin_user: str = "admin"
    console_session_minutes: int = 60
    # Signs session cookies; when unset, one is derived from the master keys (HKDF), so every
    # replica agrees and rotating the keys ends all sessions.
    console_session_secret: SecretStr | None = None
    # One trace in your trace UI, with {trace_id} where an event's W3C trace id goes; e.g.
    # Jaeger: http://jaeger:16686/trace/{trace_id}. (A template with {correlation_id} only, as
    # this setting once held, still links the correlation ids.)
    trace_ui_url: str | None = None
    # A trace search, with {correlation_id} where a record change's id goes; e.g. Jaeger:
    # http://jaeger:16686/search?service=audit&tags={"mlc.correlation_id":"{correlation_id}"}
    trace_search_url: str | None = None
    console_refresh_seconds: int = 5
