from __future__ import annotations

import json
import logging
import os
import re
import tracemalloc

import pytest
from mlc_core.logging import (
    ACCESS_TOKEN_TTL_S,
    JsonFormatter,
    SecretRegistry,
    ctx,
    redact,
    register_secret,
)

from tests.factories import ManualClock


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


def test_short_lived_secrets_are_forgotten_after_their_ttl() -> None:
    clock = ManualClock()
    registry = SecretRegistry(clock=clock)
    registry.add("refresh-token-kept", ttl_seconds=None)
    for n in range(1000):  # a week of hourly access tokens for six tenants
        registry.add(f"1000.access{n:06d}.tok", ttl_seconds=ACCESS_TOKEN_TTL_S)
        clock.now += 600
    masked = registry.mask("1000.access000999.tok 1000.access000000.tok refresh-token-kept")
    assert masked == "*** 1000.access000000.tok ***"
    assert len(registry) <= ACCESS_TOKEN_TTL_S / 600 + 2


def test_a_rebuilt_alternation_does_not_keep_the_ones_it_replaced() -> None:
    # A thousand tenants' tokens: each rebuild compiles a large pattern, and `re` keeps up to
    # 512 of them in its own cache unless they are dropped from it.
    registry = SecretRegistry()
    for n in range(400):
        registry.add(f"1000.{n:06d}.{'k' * 60}")
    registry.mask("warm up")
    # Only what `re` allocates counts (the compiled patterns its cache keeps): another thread
    # of the test process (a client left from an earlier test) allocating meanwhile does not.
    mine = [tracemalloc.Filter(True, f"{os.path.dirname(re.__file__)}/*")]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(mine)
        for n in range(60):  # an access token refreshed, then a log line
            registry.add(f"1000.access{n:06d}.{'t' * 60}", ttl_seconds=ACCESS_TOKEN_TTL_S)
            assert registry.mask(f"sent 1000.access{n:06d}.{'t' * 60}") == "sent ***"
        after = tracemalloc.take_snapshot().filter_traces(mine)
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 2 * 2**20, f"{grown / 2**20:.1f} MiB kept after 60 rebuilds"


def test_a_secret_registered_again_does_not_rebuild_the_alternation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every load of a tenant registers its secrets again; only a new value changes the set.
    compiled: list[str] = []
    compile_ = re.compile
    monkeypatch.setattr(re, "compile", lambda p, *a: compiled.append(p) or compile_(p, *a))
    registry = SecretRegistry()
    registry.add("agent-token-one")
    registry.add("agent-token-two")
    assert registry.mask("agent-token-two") == "***"
    for _ in range(3):
        registry.add("agent-token-one")
        assert registry.mask("agent-token-one") == "***"
    assert len(compiled) == 1
    registry.add("agent-token-three")
    assert registry.mask("agent-token-three agent-token-one") == "*** ***"
    assert len(compiled) == 2


def test_the_registry_is_capped_oldest_first() -> None:
    registry = SecretRegistry(limit=3)
    for value in ("first-secret", "second-secret", "third-secret", "fourth-secret"):
        registry.add(value)
    assert len(registry) == 3
    assert registry.mask("first-secret fourth-secret") == "first-secret ***"


def test_a_secret_containing_another_is_masked_whole() -> None:
    registry = SecretRegistry()
    registry.add("abcdef")
    registry.add("xxabcdefyy")
    assert registry.mask("[xxabcdefyy] [abcdef]") == "[***] [***]"


def test_registering_again_extends_a_secrets_life() -> None:
    clock = ManualClock()
    registry = SecretRegistry(clock=clock)
    registry.add("token-value-1", ttl_seconds=10)
    clock.now = 5
    registry.add("token-value-1", ttl_seconds=10)
    clock.now = 12
    assert registry.mask("token-value-1") == "***"
