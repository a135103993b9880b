"""Business Object Interface stand-in: the ProvideX COM surface over the emulator's tables.

Names and conventions follow sage100.md §2: `ProvideX.Script` -> `SY_Session` (nSetUser,
nSetCompany, nSetDate, nSetModule, nSetProgram(nLookupTask(...))), then `*_svc` / `*_bus`
objects with nSetKeyValue/nSetKey/nFind/nMoveFirst/nMoveNext/nEOF/nGetValue, column names with
`$` on string columns, return codes 0 (error, see sLastErrorMsg), 1 (ok / exists), 2 (new
record on a _bus nSetKey). Record locks answer 0 with "Record/file busy".

Signatures (argument count, by-reference parameters, return shape) are in `boi_signatures`,
which every way in (the COM stand-in `com`, the /_pvx face) enforces. By-reference parameters
are taken as placeholders and their values come back in the result tuple, as under pywin32.

nGetResultSets is simplified (its real argument expressions are ProvideX code): columns and key
columns are comma-separated names, the filter is `Column$>="value"` or empty, and it answers
(retval, rows, keys) with each row's values joined by SEP (chr(0x8A)), as BOI does; that rows
and keys come back as lists (not one SEP-joined string) is unconfirmed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from sage100_emulator.columns import Row
from sage100_emulator.state import SageState
from sage100_emulator.tables import Table, is_number_column

SEP = chr(0x8A)
BUSY = "Record/file busy"
_FILTER = re.compile(r'^\s*(\w+)\$?\s*>=\s*"([^"]*)"\s*$')


@dataclass(frozen=True)
class ObjectSpec:
    table: str
    task: str | None = None  # a _bus object needs nSetProgram(nLookupTask(task)) first
    lines_table: str | None = None


OBJECTS: dict[str, ObjectSpec] = {
    "AR_Customer_svc": ObjectSpec("AR_Customer"),
    "AR_Customer_bus": ObjectSpec("AR_Customer", "AR_Customer_ui"),
    "AR_CustomerContact_svc": ObjectSpec("AR_CustomerContact"),
    "AR_CustomerContact_bus": ObjectSpec("AR_CustomerContact", "AR_CustomerContact_UI"),
    "AP_Vendor_svc": ObjectSpec("AP_Vendor"),
    "AP_Vendor_bus": ObjectSpec("AP_Vendor", "AP_Vendor_UI"),
    "AP_OpenInvoice_svc": ObjectSpec("AP_OpenInvoice"),
    "GL_Account_svc": ObjectSpec("GL_Account"),
    "GL_AccountGroup_svc": ObjectSpec("GL_AccountGroup"),
    "SO_SalesOrder_bus": ObjectSpec(
        "SO_SalesOrderHeader", "SO_SalesOrder_ui", "SO_SalesOrderDetail"
    ),
    "AR_InvoiceHistoryInquiry_svc": ObjectSpec("AR_InvoiceHistoryHeader"),
    # sage100.md §2 calls this name proposed, not confirmed; the table name is confirmed.
    "AR_OpenInvoice_svc": ObjectSpec("AR_OpenInvoice"),
}
TASKS = {spec.task: index for index, spec in enumerate(OBJECTS.values(), start=100) if spec.task}


@dataclass
class LockPolicy:
    """Which reads meet "Record/file busy": a random share, and named keys (table, key...)."""

    rate: float = 0.0
    keys: set[tuple[str, ...]] = field(default_factory=set)
    seed: int | None = None
    busy_count: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def busy(self, table: str, key: tuple[str, ...] | None = None) -> bool:
        hit = (key is not None and (table, *key) in self.keys) or self._rng.random() < self.rate
        self.busy_count += hit
        return hit


@dataclass
class Credentials:
    users: dict[str, str] = field(default_factory=lambda: {"MLCAGENT": "sage100"})


class BoiBase:
    sLastErrorMsg: str = ""  # noqa: N815 - the COM property's name

    def _fail(self, message: str) -> int:
        self.sLastErrorMsg = message
        return 0

    def DropObject(self) -> int:  # noqa: N802
        return 1


class SYSession(BoiBase):
    def __init__(self, state: SageState, credentials: Credentials) -> None:
        self._state, self._credentials = state, credentials
        self.user: str | None = None
        self.company: str | None = None
        self.module, self.date, self.program = "", "", 0

    def nLogon(self) -> int:  # noqa: N802 - Windows-auth logon never applies here
        return 0

    def nSetUser(self, user: str, password: str) -> int:  # noqa: N802
        if self._credentials.users.get(user.upper()) != password:
            return self._fail("The user logon or password is invalid.")
        self.user = user.upper()
        return 1

    def nSetCompany(self, code: str) -> int:  # noqa: N802
        if self.user is None:
            return self._fail("User not set.")
        if code.strip().upper() not in self._state.company_codes():
            return self._fail(f"Company {code} is not on file.")
        self.company = code.strip().upper()
        return 1

    def nSetDate(self, module: str, date: str) -> int:  # noqa: N802
        if not re.fullmatch(r"\d{8}", date):
            return self._fail(f"Invalid date {date!r}.")
        self.module, self.date = module, date
        return 1

    def nSetModule(self, module: str) -> int:  # noqa: N802
        if module not in ("A/R", "A/P", "S/O", "G/L"):
            return self._fail(f"Module {module} is not installed.")
        self.module = module
        return 1

    def nLookupTask(self, task: str) -> int:  # noqa: N802
        return TASKS.get(task, 0)

    def nSetProgram(self, task_id: int) -> int:  # noqa: N802
        if task_id not in TASKS.values():
            return self._fail("Invalid program.")
        self.program = task_id
        return 1

    def nCleanup(self) -> int:  # noqa: N802
        self.user = self.company = None
        return 1


class BusinessObject(BoiBase):
    """A *_svc / *_bus object bound to one table of the session's company."""

    def __init__(self, table: Table, locks: LockPolicy, *, writable: bool) -> None:
        self._table, self._locks, self._writable = table, locks, writable
        self._key_values: dict[str, str] = {}
        self._cursor: list[tuple[str, ...]] = []
        self._position = 0
        self._current: Row | None = None
        self._prefix = ""
        self.oLines: BusinessObject | None = None

    # -- keys ---------------------------------------------------------------

    def nSetKeyValue(self, column: str, value: str) -> int:  # noqa: N802
        name = column.rstrip("$")
        if name not in self._table.spec.key:
            return self._fail(f"{column} is not a key column of {self._table.spec.name}.")
        self._key_values[name] = str(value)
        return 1

    def nSetKey(self, key: str = "") -> int:  # noqa: N802
        found = self.nFind(key)
        if found == 0 and self._writable and self.sLastErrorMsg.endswith("not on file."):
            self._current = dict(zip(self._table.spec.key, self._split(key), strict=False))
            return 2
        return found

    def nFind(self, key: str = "") -> int:  # noqa: N802
        parts = (
            self._split(key)
            if key
            else tuple(self._key_values.get(c, "") for c in self._table.spec.key)
        )
        if self._locks.busy(self._table.spec.name, parts):
            self._current = None
            return self._fail(BUSY)
        self._current = self._table.get(*parts)
        if self._current is None:
            return self._fail(f"{self._table.spec.name} record {''.join(parts)} is not on file.")
        return 1

    def _split(self, key: str) -> tuple[str, ...]:
        """A concatenated key: every column but the last padded to its length."""
        columns, parts, rest = self._table.spec.by_name, [], key
        for name in self._table.spec.key[:-1]:
            width = columns[name].length
            parts.append(rest[:width].rstrip())
            rest = rest[width:]
        return (*parts, rest)

    # -- browsing -------------------------------------------------------------

    def nSetBrowseFilter(self, prefix: str) -> int:  # noqa: N802
        self._prefix = prefix
        return 1

    def nMoveFirst(self) -> int:  # noqa: N802
        if self._locks.busy(self._table.spec.name):
            return self._fail(BUSY)
        keys = self._table.primary_keys()
        self._cursor = [k for k in keys if "".join(k).startswith(self._prefix)]
        self._position = 0
        return self._load()

    def nMoveNext(self) -> int:  # noqa: N802
        self._position += 1
        return self._load()

    def nEOF(self) -> int:  # noqa: N802
        return 1 if self._position >= len(self._cursor) else 0

    def _load(self) -> int:
        if self._position >= len(self._cursor):
            self._current = None
            return self._fail("End of file.")
        self._current = self._table.get(*self._cursor[self._position])
        return 1

    # -- values -----------------------------------------------------------------

    def nGetValue(  # noqa: N802 - byref value: the input is a placeholder
        self, column: str, value: object = ""
    ) -> tuple[int, str | float]:
        name = column.rstrip("$")
        if self._current is None:
            return self._fail("No current record."), ""
        if name not in self._table.spec.by_name and not name.startswith("UDF_"):
            return self._fail(f"Invalid column {column}."), ""
        numeric = is_number_column(self._table.spec, name)
        if numeric == column.endswith("$"):
            return self._fail(f"Column {column}: string columns end in $, numeric do not."), ""
        return 1, self._current.get(name, 0.0 if numeric else "")

    def sGetColumns(self, section: str = "MAIN") -> str:  # noqa: N802
        return SEP.join(
            c.name if is_number_column(self._table.spec, c.name) else c.name + "$"
            for c in self._table.spec.columns
        )

    def nGetRecord(  # noqa: N802 - byref (record, columns): the inputs are placeholders
        self, record: str = "", columns: str = ""
    ) -> tuple[int, str, str]:
        """The whole current record in one call: values joined by SEP in sGetColumns order,
        and the column names (as integrators call it after nFind / nMoveNext)."""
        if self._current is None:
            return self._fail("No current record."), "", ""
        names = self.sGetColumns()
        values = [_text(self._current.get(n.rstrip("$"), "")) for n in names.split(SEP)]
        return 1, SEP.join(values), names

    def nGetResultSets(  # noqa: N802 - the COM method's shape; results, keys byref
        self,
        columns: str,
        key_columns: str,
        results: object,
        keys_out: object,
        filter_expr: str,
        begin: str,
        end: str,
    ) -> tuple[int, list[str], list[str]]:
        wanted = [c.strip().rstrip("$") for c in columns.split(",") if c.strip()]
        key_names = [c.strip().rstrip("$") for c in key_columns.split(",") if c.strip()]
        match = _FILTER.match(filter_expr) if filter_expr else None
        if filter_expr and match is None:
            return self._fail(f"Invalid filter expression {filter_expr!r}."), [], []
        if self._locks.busy(self._table.spec.name):
            return self._fail(BUSY), [], []
        rows, keys = [], []
        ranged = bool(begin or end)
        for row in self._table.rows():
            if ranged:
                joined = "".join(self._table.key_of(row))
                if (begin and joined < begin) or (end and joined > end):
                    continue
            if match and str(row.get(match.group(1), "")) < match.group(2):
                continue
            rows.append(SEP.join([_text(row.get(name, "")) for name in wanted]))
            if key_names:
                keys.append(SEP.join([_text(row.get(name, "")) for name in key_names]))
        return 1, rows, keys


def _text(value: object) -> str:
    if type(value) is str:  # most columns: no formatting
        return value
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


class ProvideXScript(BoiBase):
    """`ProvideX.Script`: the root object; NewObject creates sessions and business objects."""

    def __init__(self, state: SageState, locks: LockPolicy, credentials: Credentials) -> None:
        self._state, self._locks, self._credentials = state, locks, credentials
        self.home = ""

    def Init(self, home: str) -> int:  # noqa: N802
        self.home = home
        return 1

    def NewObject(self, name: str, session: SYSession | None = None) -> BoiBase:  # noqa: N802
        if name == "SY_Session":
            return SYSession(self._state, self._credentials)
        spec = OBJECTS.get(name)
        if spec is None:
            raise BoiError(f"Cannot create object {name}.")
        if session is None or session.company is None:
            raise BoiError(f"{name}: the session has no user and company.")
        if spec.task is not None and session.program != TASKS[spec.task]:
            raise BoiError(f"{name}: set the program to {spec.task} first (nSetProgram).")
        company = self._state.company(session.company)
        obj = BusinessObject(company.table(spec.table), self._locks, writable=spec.task is not None)
        if spec.lines_table is not None:
            obj.oLines = BusinessObject(company.table(spec.lines_table), self._locks, writable=True)
        return obj


class BoiError(RuntimeError):
    """What COM raises (an exception, not a return code) when an object cannot be created."""
