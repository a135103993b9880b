"""Tiers by folder: tests/integration and tests/e2e need the real Kafka and PostgreSQL that
`make test` starts; everything else is a unit test of pure logic."""

from __future__ import annotations

import os
import pathlib

import pytest

# The emulators listen on loopback: allowed as Zoho hosts here as the dev stack allows them.
os.environ.setdefault("MLC_ZOHO_ALLOWED_HOSTS", "127.0.0.1")
pytest_plugins = ["tests.infra"]  # fixtures on real PostgreSQL and Kafka
INTEGRATION_DIRS = {"integration", "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = set(pathlib.Path(str(item.path)).parts)
        if parts & INTEGRATION_DIRS:
            item.add_marker(pytest.mark.integration)
        elif not any(m.name in ("unit", "integration", "slow") for m in item.iter_markers()):
            item.add_marker(pytest.mark.unit)
    # The whole-stack tests go last: their services, once started, serve every enabled tenant
    # in the shared database until the session ends, and would drain or write the tenants of
    # tests that drive a writer or poller themselves.
    items.sort(key=lambda item: "e2e" in pathlib.Path(str(item.path)).parts)
