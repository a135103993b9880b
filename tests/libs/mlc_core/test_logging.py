from __future__ import annotations

import json
import logging

from mlc_core.logging import JsonFormatter, ctx, redact, register_secret


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("s3cr3t-refresh-value")
    assert "s3cr3t" not in redact("token was s3cr3t-refresh-value, oops")


def test_token_shapes_are_masked_without_registration() -> None:
    line = redact('Authorization: Zoho-oauthtoken 1000.abc.def "refresh_token": "1000.x.y"')
    assert "1000.abc.def" not in line and "1000.x.y" not in line


def test_password_in_dsn_is_masked() -> None:
    assert "hunter2" not in redact("postgresql://mlc_app:hunter2@db:5432/mlc")


def test_json_formatter_carries_context_and_redacts() -> None:
    register_secret("another-secret-123")
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "failed with another-secret-123", None, None
    )
    record.ctx = ctx(tenant="acme")["ctx"]
    entry = json.loads(JsonFormatter("svc").format(record))
    assert entry["tenant"] == "acme" and entry["service"] == "svc"
    assert "another-secret-123" not in entry["msg"]
