"""The COM stand-in: `win32com.client.Dispatch("ProvideX.Script")` as pywin32 presents it,
over the emulator's in-process business objects.

Tests install `dispatch` (and `pywintypes.com_error = ComCallError`) in place of pywin32, so the
agent's COM backend runs unchanged. Every method call and property read goes through the
signature table (`boi_signatures`): a call Sage does not document fails here as it would
through IDispatch, and the stand-in's answers keep the documented shape.
"""

from __future__ import annotations

from typing import Any

from sage100_emulator.boi import BoiBase, Credentials, LockPolicy, ProvideXScript
from sage100_emulator.boi_signatures import ComCallError, invoke, read
from sage100_emulator.state import SageState

REGDB_E_CLASSNOTREG = -2147221164  # 0x80040154


class ComObject:
    """A dispatch object: attribute access reaches methods and properties, as in pywin32."""

    def __init__(self, inner: BoiBase, calls: list[str]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_calls", calls)

    def __getattr__(self, name: str) -> Any:
        inner: BoiBase = object.__getattribute__(self, "_inner")
        calls: list[str] = object.__getattribute__(self, "_calls")
        if name.startswith("_"):
            raise AttributeError(name)
        if not callable(getattr(inner, name, None)):
            calls.append(name)
            return self._wrap(read(inner, name))

        def method(*args: Any) -> Any:
            calls.append(name)
            unwrapped = tuple(a._inner if isinstance(a, ComObject) else a for a in args)
            return self._wrap(invoke(inner, name, unwrapped))

        return method

    def __setattr__(self, name: str, value: Any) -> None:
        raise ComCallError(-2147352567, f"{name}: the stand-in's properties are read-only")

    def _wrap(self, value: Any) -> Any:
        calls: list[str] = object.__getattribute__(self, "_calls")
        return ComObject(value, calls) if isinstance(value, BoiBase) else value

    @property
    def inner(self) -> BoiBase:
        """The emulator object behind this dispatch pointer (for test assertions)."""
        inner: BoiBase = object.__getattribute__(self, "_inner")
        return inner


class ComServer:
    """pvxcom.exe for one test: the company data plus a log of every COM call made."""

    def __init__(
        self,
        state: SageState,
        *,
        locks: LockPolicy | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self._state = state
        self.locks = locks or LockPolicy()
        self._credentials = credentials or Credentials()
        self.calls: list[str] = []

    def dispatch(self, prog_id: str) -> ComObject:
        """`win32com.client.Dispatch`: only ProvideX.Script is registered."""
        if prog_id != "ProvideX.Script":
            raise ComCallError(REGDB_E_CLASSNOTREG, f"Class not registered: {prog_id}")
        script = ProvideXScript(self._state, self.locks, self._credentials)
        return ComObject(script, self.calls)
