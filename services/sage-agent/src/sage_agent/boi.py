"""The Business Object Interface behind one small interface, whatever carries the COM calls.

`Boi` is one `ProvideX.Script` instance: create objects, call their methods, read their
properties, release them. Two implementations: `boi_com.ComBoi` (pywin32, on the Windows server
next to Sage 100) and `boi_remote.RemoteBoi` (the emulator's out-of-process stand-in).

BOI reports trouble as a 0 return code plus text in `sLastErrorMsg`. That text is classified
once, here, into exception classes; everything above switches on the class.
"""

from __future__ import annotations

from typing import Any, Protocol

BUSY_TEXT = "Record/file busy"


class BoiError(Exception):
    """A BOI call failed; the message is Sage's sLastErrorMsg."""


class BoiLocked(BoiError):
    """Sage answered "Record/file busy": another user holds the record or file. Retryable."""


class BoiLogonError(BoiError):
    """nSetUser / nSetCompany refused (bad logon, company missing, no external access)."""


class BoiNotFound(BoiError):
    """nFind found no record with that key."""


class BoiUnavailable(BoiError):
    """The COM server could not be reached or created the object. Retryable."""


class BoiCallError(BoiError):
    """COM refused the call itself (wrong argument count, unknown method, an object where a
    value belongs): the agent called BOI against its documented signature. Permanent."""


# IDispatch::Invoke's answers to a malformed call (what pywin32 raises as com_error).
CALL_HRESULTS = frozenset(
    {
        -2147352570,  # DISP_E_UNKNOWNNAME
        -2147352573,  # DISP_E_MEMBERNOTFOUND
        -2147352571,  # DISP_E_TYPEMISMATCH
        -2147352562,  # DISP_E_BADPARAMCOUNT
        -2147352561,  # DISP_E_PARAMNOTOPTIONAL
    }
)


class Handle(Protocol):
    """An object reference (a COM interface pointer, or a remote handle)."""


class Boi(Protocol):
    def new_object(self, name: str, session: Any = None) -> Any: ...

    def call(self, obj: Any, method: str, *args: Any) -> Any: ...

    def get(self, obj: Any, prop: str) -> Any: ...

    def release(self, obj: Any) -> None: ...

    def close(self) -> None: ...


def classify(message: str) -> type[BoiError]:
    """The one place where Sage's message text decides the error class."""
    if BUSY_TEXT.lower() in message.lower():
        return BoiLocked
    if "not on file" in message.lower():
        return BoiNotFound
    return BoiError


def check(boi: Boi, obj: Any, method: str, *args: Any) -> Any:
    """Call a BOI method; raise the classified error when it answers 0."""
    result = boi.call(obj, method, *args)
    code = result[0] if isinstance(result, list | tuple) else result
    if code == 0:
        message = str(boi.get(obj, "sLastErrorMsg") or f"{method} failed")
        raise classify(message)(f"{method}: {message}")
    return result
