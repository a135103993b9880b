"""ComBoi (pywin32) over the emulator's COM stand-in: the calls the agent makes reach the COM
objects as pywin32 would make them, held to Sage's documented signatures (the emulator's
boi_signatures table), and the agent's whole read path runs over it.

`win32com.client.Dispatch` is the stand-in's `ComServer.dispatch`, and `pywintypes.com_error`
its ComCallError, so a call that does not fit the documented signature fails here as COM fails.
"""

from __future__ import annotations

import sys
import types

import pytest
from mlc_core.contracts import Entity
from sage100_emulator.boi_signatures import SIGNATURES, ComCallError
from sage100_emulator.clock import EmulatorClock
from sage100_emulator.com import ComServer
from sage100_emulator.state import SageState
from sage_agent.boi import BoiCallError, BoiLogonError, BoiNotFound, BoiUnavailable
from sage_agent.pool import Logon, open_session
from sage_agent.reader import BOI_ENTITIES, _fetch, _scan

pytestmark = pytest.mark.unit
LOGON = Logon("ABC", "MLCAGENT", "sage100")


@pytest.fixture
def com(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str], SageState]:
    state = SageState(EmulatorClock("UTC"))
    state.generate_company("ABC", customers=12, seed=3)
    server = ComServer(state)
    lifecycle: list[str] = []

    def dispatch(prog_id: str) -> object:
        lifecycle.append(f"Dispatch({prog_id})")
        return server.dispatch(prog_id)

    client = types.ModuleType("win32com.client")
    client.Dispatch = dispatch  # type: ignore[attr-defined]
    package = types.ModuleType("win32com")
    package.client = client  # type: ignore[attr-defined]
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: lifecycle.append("CoInitialize")  # type: ignore[attr-defined]
    pythoncom.CoUninitialize = lambda: lifecycle.append("CoUninitialize")  # type: ignore[attr-defined]
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = ComCallError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pythoncom", pythoncom)
    monkeypatch.setitem(sys.modules, "pywintypes", pywintypes)
    monkeypatch.setitem(sys.modules, "win32com", package)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    return server.calls, lifecycle, state


def test_session_scan_fetch_and_release_over_com(
    com: tuple[list[str], list[str], SageState],
) -> None:
    from sage_agent.boi_com import ComBoi

    calls, lifecycle, state = com
    boi = ComBoi(r"C:\Sage\MAS90\Home")
    assert lifecycle == ["CoInitialize", "Dispatch(ProvideX.Script)"]
    assert calls == ["Init"] and boi.script.inner.home == r"C:\Sage\MAS90\Home"

    session = open_session(boi, LOGON)
    assert calls[:4] == ["Init", "NewObject", "nSetUser", "nSetCompany"]

    scan = _scan(boi, session, BOI_ENTITIES[Entity.AR_CUSTOMER], "")
    assert len(scan) == len(state.company("ABC").table("AR_Customer"))
    for expected in ("nSetDate", "nSetModule", "sGetColumns", "nGetResultSets", "DropObject"):
        assert expected in calls

    row = state.company("ABC").table("AR_CustomerContact").rows()[0]
    key = {c: row[c] for c in ("ARDivisionNo", "CustomerNo", "ContactCode")}
    record = _fetch(boi, session, BOI_ENTITIES[Entity.CUSTOMER_CONTACT], key)
    assert record["ContactName"] == row["ContactName"] and record["PrimaryContact"] in "YN"
    assert {"nSetKeyValue", "nSetKey", "nGetRecord", "nGetValue"} <= set(calls)
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
    session = open_session(boi, LOGON)
    missing = {"ARDivisionNo": "01", "CustomerNo": "NOSUCH"}
    with pytest.raises(BoiNotFound, match="not on file"):
        _fetch(boi, session, BOI_ENTITIES[Entity.AR_CUSTOMER], missing)


def test_without_pywin32_the_agent_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from sage_agent.boi_com import ComBoi

    monkeypatch.setitem(sys.modules, "pythoncom", None)
    with pytest.raises(BoiUnavailable, match="pywin32 is not installed"):
        ComBoi("home")


def test_every_call_the_agent_makes_is_in_the_signature_table(
    com: tuple[list[str], list[str], SageState],
) -> None:
    from sage_agent.boi_com import ComBoi

    calls, _, _ = com
    boi = ComBoi("home")
    session = open_session(boi, LOGON)
    for entity, target in BOI_ENTITIES.items():
        scan = _scan(boi, session, target, "")
        assert scan.rows, entity
        spec = target.spec
        key = spec.key_values(spec.source_key(scan.record(scan.rows[0])))
        assert _fetch(boi, session, target, key), entity
    documented = {name for table in SIGNATURES.values() for name in table}
    assert set(calls) - documented <= {"sLastErrorMsg", "oLines"}  # the two properties read
    assert {"nGetResultSets", "nGetValue", "nGetRecord", "nSetKey"} <= set(calls)


@pytest.mark.parametrize(
    ("method", "args", "hresult_name"),
    [
        ("nGetResultSets", ("CustomerNo$", "", "", "", ""), "BADPARAMCOUNT"),  # the old 5 args
        ("nGetValue", ("CustomerNo$",), "BADPARAMCOUNT"),  # without its byref value
        ("nFind", (), "BADPARAMCOUNT"),  # nFind always takes its key
        ("nGetRecord", ("",), "BADPARAMCOUNT"),
        ("sGetColumns", (), "BADPARAMCOUNT"),
        ("nGetValues", ("CustomerNo$", ""), "UNKNOWNNAME"),
    ],
)
def test_a_call_against_the_documented_signature_fails_as_com_does(
    com: tuple[list[str], list[str], SageState],
    method: str,
    args: tuple[str, ...],
    hresult_name: str,
) -> None:
    from sage_agent.boi_com import ComBoi

    boi = ComBoi("home")
    session = open_session(boi, LOGON)
    obj = boi.new_object("AR_Customer_svc", session)
    with pytest.raises(BoiCallError, match=method) as refused:
        boi.call(obj, method, *args)
    assert isinstance(refused.value.__cause__, ComCallError)
    hresults = {"BADPARAMCOUNT": -2147352562, "UNKNOWNNAME": -2147352570}
    assert refused.value.__cause__.hresult == hresults[hresult_name]
    assert boi.call(obj, "nGetValue", "CustomerNo$", "")[0] == 0  # well-formed: Sage's own 0
    assert "No current record" in boi.get(obj, "sLastErrorMsg")
    with pytest.raises(BoiCallError, match="Type mismatch"):
        boi.call(obj, "nSetKeyValue", "CustomerNo$", session)  # an object where a value goes
    with pytest.raises(BoiCallError, match="Unknown name"):
        boi.get(obj, "oLines")  # a customer has no lines
