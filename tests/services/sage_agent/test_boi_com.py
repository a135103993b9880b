"""ComBoi (pywin32) with a fake Dispatch: the calls the agent makes reach the COM objects as
pywin32 would make them, and the agent's whole read path runs over it.

The fake `win32com.client.Dispatch("ProvideX.Script")` hands out the emulator's in-process
ProvideX.Script, wrapped so that every COM call is recorded."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from mlc_core.contracts import Entity
from sage100_emulator.boi import Credentials, LockPolicy, ProvideXScript
from sage100_emulator.clock import EmulatorClock
from sage100_emulator.state import SageState
from sage_agent.boi import BoiLogonError, BoiNotFound, BoiUnavailable
from sage_agent.pool import Logon, open_session
from sage_agent.reader import BOI_ENTITIES, _fetch, _scan


class Recorded:
    """A COM object as pywin32 exposes it: attribute access for methods and properties."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_calls", calls)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):  # a property read (sLastErrorMsg, oLines)
            self._calls.append(name)
            return Recorded(value, self._calls) if hasattr(value, "sLastErrorMsg") else value

        def method(*args: Any) -> Any:
            self._calls.append(name)
            unwrapped = [a._inner if isinstance(a, Recorded) else a for a in args]
            result = value(*unwrapped)
            return Recorded(result, self._calls) if hasattr(result, "sLastErrorMsg") else result

        return method


@pytest.fixture
def com(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str], SageState]:
    state = SageState(EmulatorClock("UTC"))
    state.generate_company("ABC", customers=12, seed=3)
    calls: list[str] = []
    lifecycle: list[str] = []

    def dispatch(prog_id: str) -> Recorded:
        lifecycle.append(f"Dispatch({prog_id})")
        return Recorded(ProvideXScript(state, LockPolicy(), Credentials()), calls)

    client = types.ModuleType("win32com.client")
    client.Dispatch = dispatch  # type: ignore[attr-defined]
    package = types.ModuleType("win32com")
    package.client = client  # type: ignore[attr-defined]
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: lifecycle.append("CoInitialize")  # type: ignore[attr-defined]
    pythoncom.CoUninitialize = lambda: lifecycle.append("CoUninitialize")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pythoncom", pythoncom)
    monkeypatch.setitem(sys.modules, "win32com", package)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    return calls, lifecycle, state


def test_session_scan_fetch_and_release_over_com(
    com: tuple[list[str], list[str], SageState],
) -> None:
    from sage_agent.boi_com import ComBoi

    calls, lifecycle, state = com
    boi = ComBoi(r"C:\Sage\MAS90\Home")
    assert lifecycle == ["CoInitialize", "Dispatch(ProvideX.Script)"]
    assert calls == ["Init"] and boi.script._inner.home == r"C:\Sage\MAS90\Home"

    session = open_session(boi, Logon("ABC", "MLCAGENT", "sage100"))
    assert calls[:4] == ["Init", "NewObject", "nSetUser", "nSetCompany"]

    scan = _scan(boi, session, BOI_ENTITIES[Entity.AR_CUSTOMER], "")
    assert len(scan) == len(state.company("ABC").table("AR_Customer"))
    for expected in ("nSetDate", "nSetModule", "sGetColumns", "nGetResultSets", "DropObject"):
        assert expected in calls

    row = state.company("ABC").table("AR_CustomerContact").rows()[0]
    key = {c: row[c] for c in ("ARDivisionNo", "CustomerNo", "ContactCode")}
    record = _fetch(boi, session, BOI_ENTITIES[Entity.CUSTOMER_CONTACT], key)
    assert record["ContactName"] == row["ContactName"] and record["PrimaryContact"] in "YN"
    assert {"nSetKeyValue", "nFind", "nGetRecord", "nGetValue"} <= set(calls)
    assert calls.count("NewObject") == calls.count("DropObject") + 1  # all but the session

    orders = _scan(boi, session, BOI_ENTITIES[Entity.SALES_ORDER], "")
    assert "nLookupTask" in calls and "nSetProgram" in calls and "oLines" in calls
    assert orders.lines and sum(map(len, orders.lines.values())) > 0

    boi.close()
    assert lifecycle[-1] == "CoUninitialize"


def test_errors_come_back_classified(com: tuple[list[str], list[str], SageState]) -> None:
    from sage_agent.boi_com import ComBoi

    boi = ComBoi("home")
    with pytest.raises(BoiLogonError, match="password is invalid"):
        open_session(boi, Logon("ABC", "MLCAGENT", "wrong"))
    session = open_session(boi, Logon("ABC", "MLCAGENT", "sage100"))
    missing = {"ARDivisionNo": "01", "CustomerNo": "NOSUCH"}
    with pytest.raises(BoiNotFound, match="not on file"):
        _fetch(boi, session, BOI_ENTITIES[Entity.AR_CUSTOMER], missing)


def test_without_pywin32_the_agent_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from sage_agent.boi_com import ComBoi

    monkeypatch.setitem(sys.modules, "pythoncom", None)
    with pytest.raises(BoiUnavailable, match="pywin32 is not installed"):
        ComBoi("home")
