"""The quick fault suite (`make chaos CHAOS_ARGS=--quick`) as a test: records flow while every
service is SIGKILLed and restarted, the broker and the database restart and both emulators
misbehave; afterwards nothing is lost, nothing is in Zoho twice, the audit log has no gap and
every failure recovered. Slow (several minutes) and it restarts the Kafka broker and PostgreSQL
it runs on, so it is not part of `make test`; run it on its own infrastructure:

    deploy/local/up.sh && .venv/bin/pytest -p no:cacheprovider -m slow tests/chaos/test_bounce.py
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from chaos.__main__ import parse_args
from chaos.runner import run
from chaos.verify import render

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1800)
async def test_quick_bounce_loses_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    options = replace(
        parse_args(["--quick", "--seed", "11"])[1], log_dir=tmp_path_factory.mktemp("chaos")
    )

    report = await run(options)

    table = render(report)
    print(table)
    assert sum(report.faults.values()) >= 20, table
    assert report.records.expected >= 900, table  # 600 customers and their 300+ AP contacts
    assert not report.records.lost, table
    assert not report.records.duplicated, table
    assert not report.records.stale, table
    assert report.audit.messages > 0 and not report.audit.gaps, table
    assert not report.failures.unpaired, table
    assert report.exit_code == 0, table
