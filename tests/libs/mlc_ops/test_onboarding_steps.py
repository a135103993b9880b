"""The onboarding steps from ping's checks: a failure names itself and carries its fix."""

from __future__ import annotations

from mlc_ops.onboarding import Checklist, Step, _from_checks
from mlc_ops.ping_checks import fail, ok


def test_a_step_is_done_only_when_every_check_passes() -> None:
    passing = [ok("sage", "agent reachable", "x"), ok("zoho", "token refresh", "y")]
    assert _from_checks("connected", passing).done
    failing = [*passing, fail("zoho", "modules", "missing: Vendors", "run `mlc zoho setup`")]
    step = _from_checks("Zoho setup done", failing)
    assert not step.done and "modules: missing: Vendors" in step.detail
    assert step.fix == "run `mlc zoho setup`"
    assert not _from_checks("connected", []).done  # nothing checked is not green


def test_ready_needs_the_first_four_green_and_green_needs_all_five() -> None:
    done = [Step(str(n), True, "") for n in range(4)]
    ready = Checklist("t", False, [*done, Step("first sync", False, "")], [])
    assert ready.ready and not ready.green
    blocked = Checklist("t", False, [Step("connected", False, ""), *done[1:], done[0]], [])
    assert not blocked.ready
    assert Checklist("t", True, [*done, Step("first sync", True, "")], []).green
