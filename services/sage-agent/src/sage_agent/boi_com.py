"""BOI over COM with pywin32, on the Windows server where Sage 100 runs.

Importable everywhere (so it type-checks on Linux); pywin32 is imported only when a ComBoi is
created. pvxcom.exe is single-threaded apartment: each ComBoi is used by one thread at a time
(the session pool guarantees it) and initialises COM on that thread.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sage_agent.boi import CALL_HRESULTS, BoiCallError, BoiError, BoiUnavailable


class ComBoi:
    def __init__(self, home: str) -> None:
        try:
            pythoncom = importlib.import_module("pythoncom")
            client = importlib.import_module("win32com.client")
            self._com_error: type[Exception] = importlib.import_module("pywintypes").com_error
        except ImportError as exc:
            raise BoiUnavailable("pywin32 is not installed (Windows only)") from exc
        pythoncom.CoInitialize()
        self._pythoncom = pythoncom
        try:
            self.script = client.Dispatch("ProvideX.Script")
            self.script.Init(home)
        except Exception as exc:  # pywintypes.com_error: COM server missing or refusing
            raise BoiUnavailable(f"cannot start ProvideX.Script: {exc}") from exc

    def new_object(self, name: str, session: Any = None) -> Any:
        args = (name,) if session is None else (name, session)
        return self._com("NewObject", lambda: self.script.NewObject(*args))

    def call(self, obj: Any, method: str, *args: Any) -> Any:
        # By-reference parameters are passed as placeholders; pywin32 answers
        # (retval, *byref values) for such methods (the reader passes each one).
        return self._com(method, lambda: getattr(obj, method)(*args))

    def get(self, obj: Any, prop: str) -> Any:
        return self._com(prop, lambda: getattr(obj, prop))

    def _com(self, name: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except self._com_error as exc:
            hresult = exc.args[0] if exc.args else None
            cls: type[BoiError] = BoiCallError if hresult in CALL_HRESULTS else BoiUnavailable
            raise cls(f"{name}: COM error {hresult}: {exc.args[1:2]}") from exc

    def release(self, obj: Any) -> None:
        # DropObject lets ProvideX close the object's files now rather than at garbage collection.
        if hasattr(obj, "DropObject"):
            obj.DropObject()

    def close(self) -> None:
        self.script = None
        self._pythoncom.CoUninitialize()
