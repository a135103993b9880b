"""BOI over COM with pywin32, on the Windows server where Sage 100 runs.

Importable everywhere (so it type-checks on Linux); pywin32 is imported only when a ComBoi is
created. pvxcom.exe is single-threaded apartment: each ComBoi is used by one thread at a time
(the session pool guarantees it) and initialises COM on that thread.
"""

from __future__ import annotations

import importlib
from typing import Any

from sage_agent.boi import BoiUnavailable


class ComBoi:
    def __init__(self, home: str) -> None:
        try:
            pythoncom = importlib.import_module("pythoncom")
            client = importlib.import_module("win32com.client")
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
        if session is None:
            return self.script.NewObject(name)
        return self.script.NewObject(name, session)

    def call(self, obj: Any, method: str, *args: Any) -> Any:
        # Byref parameters (nGetValue's value, nGetResultSets' lists) come back as extra items
        # of a tuple, like the emulator's answers.
        return getattr(obj, method)(*args)

    def get(self, obj: Any, prop: str) -> Any:
        return getattr(obj, prop)

    def release(self, obj: Any) -> None:
        # DropObject lets ProvideX close the object's files now rather than at garbage collection.
        if hasattr(obj, "DropObject"):
            obj.DropObject()

    def close(self) -> None:
        self.script = None
        self._pythoncom.CoUninitialize()
