"""Every BOI method and property the stand-in answers, with its documented signature.

One table, written from sage100.md §2 ("Business Object Interface"), each
row citing the line it follows ("§2 L164" = line 164 of that file). Both ways into the
stand-in go through `invoke` / `read`: the in-process COM stand-in (`sage100_emulator.com`,
the `win32com.client.Dispatch` fake of the agent's tests) and the out-of-process /_pvx face
(`pvx_api`, the dev stack's agent). So a call that does not match Sage's documented contract
fails in every test, whichever path it takes.

How a call is shaped under pywin32 (late-bound IDispatch): every parameter is passed,
by-reference ones with a placeholder value; the method answers a tuple `(retval, *byref_outs)`
when it has by-reference parameters, and the bare return value when it has none.

How a wrong call fails: the reference is silent on what ProvideX's COM server does with a wrong
argument count (unconfirmed). The stand-in fails the way any IDispatch server does, which is what
pywin32 then raises: `pywintypes.com_error` with DISP_E_BADPARAMCOUNT for a wrong count,
DISP_E_UNKNOWNNAME for a method it does not have, DISP_E_TYPEMISMATCH for an object where a
value belongs (or the reverse). It is an exception, never a 0 return code: a 0 return with
sLastErrorMsg (§2 L143, L158) is Sage refusing a well-formed call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sage100_emulator.boi import BoiBase, BusinessObject, ProvideXScript, SYSession

DISP_E_UNKNOWNNAME = -2147352570  # 0x80020006
DISP_E_TYPEMISMATCH = -2147352571  # 0x80020005
DISP_E_BADPARAMCOUNT = -2147352562  # 0x8002000E

SCRIPT, SESSION, BUSINESS = "ProvideX.Script", "SY_Session", "business object"


class ComCallError(Exception):
    """What pywin32 raises for a call the COM server rejects: `pywintypes.com_error`, with the
    same argument layout (hresult, strerror, excepinfo, argerror)."""

    def __init__(self, hresult: int, message: str, argerror: int | None = None) -> None:
        super().__init__(hresult, message, None, argerror)
        self.hresult, self.strerror = hresult, message


@dataclass(frozen=True)
class Param:
    name: str
    byref: bool = False  # pass a placeholder; the value comes back in the result tuple
    optional: bool = False  # may be left out (only trailing parameters)
    is_object: bool = False  # an object reference (a COM interface pointer), not a value


@dataclass(frozen=True)
class Signature:
    params: tuple[Param, ...]
    returns: type  # of the return value: int ("n" prefix), str ("s"), BoiBase ("o"/objects)
    source: str  # where in docs/reference/sage100.md, or why it is unconfirmed

    @property
    def byref(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.params) if p.byref)

    @property
    def required(self) -> int:
        return sum(not p.optional for p in self.params)


def _p(*specs: str) -> tuple[Param, ...]:
    """`&name` by reference, `name?` optional, `@name` an object."""
    return tuple(
        Param(s.strip("&?@"), byref=s.startswith("&"), optional=s.endswith("?"), is_object="@" in s)
        for s in specs
    )


N = "§2 L153: the prefix gives the return type (n numeric, s string, o object)"
SIGNATURES: dict[str, dict[str, Signature]] = {
    SCRIPT: {
        "Init": Signature(_p("homePath"), int, "§2 L140 oScript.Init(path); return unconfirmed"),
        "NewObject": Signature(
            _p("name", "@session?"),
            BoiBase,
            '§2 L141 NewObject("SY_Session"), L148 NewObject(name, oSS)',
        ),
    },
    SESSION: {
        "nLogon": Signature(_p(), int, "§2 L142 nLogon(): 0 => use nSetUser"),
        "nSetUser": Signature(_p("user", "password"), int, "§2 L143 nSetUser(user, password)"),
        "nSetCompany": Signature(_p("company"), int, "§2 L144 nSetCompany(code)"),
        "nSetDate": Signature(_p("module", "date"), int, "§2 L145 nSetDate(module, YYYYMMDD)"),
        "nSetModule": Signature(_p("module"), int, "§2 L146 nSetModule(module)"),
        "nLookupTask": Signature(_p("task"), int, "§2 L147 nLookupTask(task) -> task id"),
        "nSetProgram": Signature(_p("taskId"), int, "§2 L147 nSetProgram(nLookupTask(...))"),
        "nCleanup": Signature(_p(), int, "§2 L150 oSS.nCleanup()"),
        "DropObject": Signature(_p(), int, "unconfirmed: §2 L150 only says release"),
    },
    BUSINESS: {
        "nSetKeyValue": Signature(
            _p("column", "value"), int, '§2 L155 nSetKeyValue("Column$", value)'
        ),
        "nSetKey": Signature(
            _p("key?"),
            int,
            "§2 L155 nSetKey() after nSetKeyValue, or nSetKey(concatenatedKey); "
            "L156 returns 1 existing, 2 new (_bus), 0 error",
        ),
        "nFind": Signature(_p("key"), int, "§2 L155 nFind(key): the key is always given"),
        "nGetValue": Signature(_p("column", "&value"), int, '§2 L157 nGetValue("Field$", byref v)'),
        "nSetBrowseFilter": Signature(_p("keyPrefix"), int, "§2 L162 nSetBrowseFilter(prefix)"),
        "nMoveFirst": Signature(_p(), int, "§2 L162 nMoveFirst; no arguments (unconfirmed)"),
        "nMoveNext": Signature(_p(), int, "§2 L162 nMoveNext; no arguments (unconfirmed)"),
        "nEOF": Signature(_p(), int, "§2 L162 nEOF; no arguments (unconfirmed)"),
        "nGetRecord": Signature(
            _p("&record", "&columns"), int, "§2 L163 nGetRecord(byref rec, byref cols)"
        ),
        "sGetColumns": Signature(_p("section"), str, '§2 L163 sGetColumns("MAIN")'),
        "nGetResultSets": Signature(
            _p("descExpr", "keyExpr", "&results", "&keys", "filterExpr", "begin", "end"),
            int,
            "§2 L164 nGetResultSets(descExpr, keyExpr, byref results, byref keys, filterExpr, "
            "begin, end); which arguments may be omitted is unconfirmed, so none may",
        ),
        "DropObject": Signature(_p(), int, "unconfirmed: §2 L150 only says release"),
    },
}
PROPERTIES: dict[str, dict[str, tuple[type, str]]] = {
    SCRIPT: {"sLastErrorMsg": (str, "§2 L158 (on every object, unconfirmed for the script)")},
    SESSION: {"sLastErrorMsg": (str, "§2 L143, L158")},
    BUSINESS: {
        "sLastErrorMsg": (str, "§2 L158"),
        "oLines": (BoiBase, "§2 L166 the sales order's child oLines"),
    },
}


def kind_of(obj: BoiBase) -> str:
    if isinstance(obj, ProvideXScript):
        return SCRIPT
    if isinstance(obj, SYSession):
        return SESSION
    if isinstance(obj, BusinessObject):
        return BUSINESS
    raise TypeError(f"{type(obj).__name__} is no BOI object")


def signature(obj: BoiBase, method: str) -> Signature:
    found = SIGNATURES[kind_of(obj)].get(method)
    if found is None:
        raise ComCallError(DISP_E_UNKNOWNNAME, f"Unknown name: {kind_of(obj)} has no {method}.")
    return found


def check_arguments(obj: BoiBase, method: str, args: tuple[Any, ...]) -> Signature:
    """Refuse a call whose arguments do not fit the documented signature."""
    sig = signature(obj, method)
    if not sig.required <= len(args) <= len(sig.params):
        names = ", ".join(("byref " if p.byref else "") + p.name for p in sig.params)
        raise ComCallError(
            DISP_E_BADPARAMCOUNT,
            f"Invalid number of parameters: {method}({names}) takes "
            f"{sig.required}..{len(sig.params)}, got {len(args)} ({sig.source}).",
        )
    for index, (param, value) in enumerate(zip(sig.params, args, strict=False)):
        if param.is_object != isinstance(value, BoiBase):
            wanted = "an object" if param.is_object else "a value"
            raise ComCallError(
                DISP_E_TYPEMISMATCH,
                f"Type mismatch: {method} parameter {param.name} takes {wanted}.",
                argerror=index,
            )
    return sig


def check_result(method: str, sig: Signature, result: Any) -> None:
    """The stand-in's own answer must have the documented shape: (retval, *byref) or retval."""
    retval = result
    if sig.byref:
        if not isinstance(result, tuple) or len(result) != 1 + len(sig.byref):
            raise AssertionError(f"{method} must answer (retval, {len(sig.byref)} byref values)")
        retval = result[0]
    if not isinstance(retval, sig.returns) or isinstance(retval, bool):
        raise AssertionError(f"{method} must return {sig.returns.__name__}, not {retval!r}")


def invoke(obj: BoiBase, method: str, args: tuple[Any, ...]) -> Any:
    """Call a BOI method the way COM does, enforcing the table on the way in and out."""
    sig = check_arguments(obj, method, args)
    result = getattr(obj, method)(*args)
    check_result(method, sig, result)
    return result


def read(obj: BoiBase, name: str) -> Any:
    """Read a BOI property; one the table does not list is an unknown name."""
    known = PROPERTIES[kind_of(obj)].get(name)
    if known is None:
        raise ComCallError(DISP_E_UNKNOWNNAME, f"Unknown name: {kind_of(obj)} has no {name}.")
    value = getattr(obj, name)
    if value is None and known[0] is BoiBase:  # oLines on an object without lines
        raise ComCallError(DISP_E_UNKNOWNNAME, f"Unknown name: this object has no {name}.")
    if not isinstance(value, known[0]):
        raise AssertionError(f"{name} must be {known[0].__name__}, not {value!r}")
    return value
