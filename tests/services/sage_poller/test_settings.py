"""The poller's settings refuse values that would make it misbehave quietly, naming the
setting (a negative pace would never wait; a zero interval would poll without pause)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sage_poller.settings import PollerSettings


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MLC_POLL_PACE_SECONDS", "-1"),
        ("MLC_POLL_PACE_BACKLOG", "-5"),
        ("MLC_POLL_INTERVAL_SECONDS", "0"),
        ("MLC_POLL_INTERVALS", '{"ap_vendor": -60}'),
        ("MLC_RECONCILE_INTERVAL_SECONDS", "0"),
        ("MLC_POLL_OVERLAP_SECONDS", "-1"),
        ("MLC_POLL_PAGE_SIZE", "0"),
        ("MLC_POLL_ATTEMPTS", "0"),
        ("MLC_TENANT_REFRESH_SECONDS", "0"),
        ("MLC_POLLER_DB_POOL_SIZE", "0"),
    ],
)
def test_an_out_of_range_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        PollerSettings()
    field = variable.removeprefix("MLC_").lower()
    assert {str(error["loc"][0]) for error in refused.value.errors()} == {field}


def test_zero_still_turns_pacing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_POLL_PACE_BACKLOG", "0")
    monkeypatch.setenv("MLC_POLL_PACE_SECONDS", "0")
    settings = PollerSettings()
    assert settings.pacer(reader=None) is None  # type: ignore[arg-type]
