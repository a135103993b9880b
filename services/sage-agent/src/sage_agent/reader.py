"""Reading one entity through BOI: whole-table scans (change feed, key set), the narrow stamp
listing, and fetch by key.

Scans use nGetResultSets (one call returns every row, as integrators do for bulk reads) with the
server-side filter `DateUpdated$>="YYYYMMDD"`; the time-of-day part of the watermark is applied
here, on numbers. The stamp listing is the same scan asking only for the key and stamp columns:
Sage still reads every row (no index on DateUpdated), but formats and sends four columns of the
rows stamped since that day instead of all of them, so a poll that finds nothing new costs one
such listing. Fetch by key is nSetKeyValue / nFind, then nGetRecord (the whole record and
its column names in one call, SEP-separated, as integrators read it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES, SageTable
from mlc_core.logging import ctx

from sage_agent.boi import Boi, BoiLocked, BoiNotFound, check
from sage_agent.pool import Logon, SessionPool
from sage_agent.scan import SEP, ScanResult, to_record

log = logging.getLogger(__name__)
T = TypeVar("T")
Record = dict[str, Any]


@dataclass(frozen=True)
class BoiEntity:
    spec: SageTable
    object_name: str
    module: str
    task: str | None = None  # _bus objects need a task context (nSetProgram)
    lines: bool = False
    primary_flag: bool = False  # contacts: add PrimaryContact from AR_Customer.ContactCode


BOI_ENTITIES: dict[Entity, BoiEntity] = {
    entity: BoiEntity(
        table,
        table.boi_object,
        table.boi_module,
        table.boi_task,
        lines=table.detail_lines,
        primary_flag=table.primary_contact_flag,
    )
    for entity, table in SAGE_TABLES.items()
}


@dataclass(frozen=True)
class LockRetry:
    """Jittered exponential backoff on "Record/file busy".

    Sage holds a record lock for as long as a user keeps the record open in a maintenance
    screen, usually seconds; a handful of quick retries rides that out. Past the limit the
    caller answers 423 and the poller tries again on its next cycle, so the agent never
    holds a pooled session for minutes.
    """

    attempts: int = 6
    base_seconds: float = 0.1
    cap_seconds: float = 3.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))


class SageReader:
    def __init__(self, pool: SessionPool, *, retry: LockRetry) -> None:
        self._pool, self._retry = pool, retry

    async def scan(self, logon: Logon, entity: Entity, since_date: str | None) -> ScanResult:
        target = BOI_ENTITIES[entity]
        filter_expr = f'DateUpdated$>="{since_date}"' if since_date else ""
        return await self._with_retry(
            logon, entity, "scan", lambda boi, s: _scan(boi, s, target, filter_expr)
        )

    async def stamps(self, logon: Logon, entity: Entity, since_date: str) -> ScanResult:
        """The key and stamp columns of the rows updated on or after `since_date`."""
        target = BOI_ENTITIES[entity]
        filter_expr = f'DateUpdated$>="{since_date}"'
        return await self._with_retry(
            logon, entity, "stamps", lambda boi, s: _stamp_scan(boi, s, target, filter_expr)
        )

    async def fetch(self, logon: Logon, entity: Entity, key: dict[str, str]) -> Record:
        target = BOI_ENTITIES[entity]
        return await self._with_retry(
            logon, entity, "fetch", lambda boi, s: _fetch(boi, s, target, key)
        )

    async def _with_retry(
        self, logon: Logon, entity: Entity, operation: str, work: Callable[[Boi, Any], T]
    ) -> T:
        async with self._pool.session(logon) as session:
            for attempt in range(1, self._retry.attempts + 1):
                try:
                    result = await session.run(work)
                except BoiLocked as exc:
                    if attempt == self._retry.attempts:
                        log.error(
                            "record/file busy, giving up",
                            extra=ctx(company=logon.company, entity=entity, attempt=attempt),
                        )
                        raise
                    delay = self._retry.delay(attempt)
                    log.warning(
                        "record/file busy, retrying",
                        extra=ctx(
                            company=logon.company,
                            entity=entity,
                            operation=operation,
                            attempt=attempt,
                            retry_in_s=round(delay, 3),
                            error=str(exc),
                        ),
                    )
                    await asyncio.sleep(delay)
                    continue
                if attempt > 1:
                    log.info(
                        "recovered after busy",
                        extra=ctx(company=logon.company, entity=entity, attempt=attempt),
                    )
                return result
        raise AssertionError("unreachable: the loop returns or raises")


def _prepare(boi: Boi, session: Any, target: BoiEntity) -> Any:
    check(boi, session, "nSetDate", target.module, dt.date.today().strftime("%Y%m%d"))
    check(boi, session, "nSetModule", target.module)
    if target.task is not None:
        task_id = boi.call(session, "nLookupTask", target.task)
        check(boi, session, "nSetProgram", task_id)
    return boi.new_object(target.object_name, session)


def _raw_rows(
    boi: Boi, obj: Any, filter_expr: str, begin: str = "", end: str = ""
) -> tuple[list[str], list[str]]:
    columns = str(boi.call(obj, "sGetColumns", "MAIN")).split(SEP)
    return columns, _result_set(boi, obj, ",".join(columns), filter_expr, begin, end)


def _result_set(boi: Boi, obj: Any, desc: str, filter_expr: str, begin: str, end: str) -> list[str]:
    """nGetResultSets(descExpr, keyExpr, byref results, byref keys, filterExpr, begin, end)
    (sage100.md §2): both by-reference lists passed as placeholders, returned after retval."""
    _, results, _keys = check(boi, obj, "nGetResultSets", desc, "", "", "", filter_expr, begin, end)
    return list(results)


def _scan(boi: Boi, session: Any, target: BoiEntity, filter_expr: str) -> ScanResult:
    obj = _prepare(boi, session, target)
    try:
        scan = ScanResult(*_raw_rows(boi, obj, filter_expr))
        if target.lines:
            _attach_lines(boi, obj, scan)
        if target.primary_flag:
            add_primary_flags(scan, _primary_codes(boi, session))
        return scan
    finally:
        boi.release(obj)


STAMP_NAMES = ("DateUpdated", "TimeUpdated")


def _stamp_scan(boi: Boi, session: Any, target: BoiEntity, filter_expr: str) -> ScanResult:
    obj = _prepare(boi, session, target)
    try:
        wanted = {*target.spec.key_columns, *STAMP_NAMES}
        available = str(boi.call(obj, "sGetColumns", "MAIN")).split(SEP)
        columns = [c for c in available if c.rstrip("$") in wanted]
        return ScanResult(columns, _result_set(boi, obj, ",".join(columns), filter_expr, "", ""))
    finally:
        boi.release(obj)


def _attach_lines(boi: Boi, obj: Any, scan: ScanResult) -> None:
    scan.lines = {}
    if not scan.rows:
        return
    numbers = sorted(scan.fields(raw, ("SalesOrderNo",))["SalesOrderNo"] for raw in scan.rows)
    lines_obj = boi.get(obj, "oLines")
    try:
        columns, raw_lines = _raw_rows(boi, lines_obj, "", numbers[0], numbers[-1] + "~")
    finally:
        boi.release(lines_obj)
    scan.line_columns = columns
    keyed = ScanResult(columns, raw_lines)
    order = [keyed.fields(raw, ("SalesOrderNo", "LineSeqNo")) for raw in raw_lines]
    for fields, raw in sorted(zip(order, raw_lines, strict=True), key=lambda p: p[0]["LineSeqNo"]):
        scan.lines.setdefault(fields["SalesOrderNo"], []).append(raw)


def _fetch(boi: Boi, session: Any, target: BoiEntity, key: dict[str, str]) -> Record:
    obj = _prepare(boi, session, target)
    try:
        for column, value in key.items():
            check(boi, obj, "nSetKeyValue", column + "$", value)
        _find_by_key_values(boi, obj)
        # nGetRecord: the whole record in one call (one COM round trip, not one per column).
        _, raw, column_text = check(boi, obj, "nGetRecord", "", "")
        columns, values = str(column_text).split(SEP), str(raw).split(SEP)
        if target.primary_flag:
            record = to_record(columns, values)
            code = _primary_code_of(boi, session, key["ARDivisionNo"], key["CustomerNo"])
            return record | {PRIMARY_FLAG: primary_flag(record.get("ContactCode"), code)}
        if not target.lines:
            return to_record(columns, values)
        scan = ScanResult(columns, [SEP.join(values)])
        _attach_lines(boi, obj, scan)
        return scan.record(scan.rows[0])
    finally:
        boi.release(obj)


# AR_CustomerContact has no flag of its own: the customer's default contact is
# AR_Customer.ContactCode (sage100.md §3). The agent joins it in, Sage flag style.
PRIMARY_FLAG = "PrimaryContact"
CustomerCodes = dict[tuple[str, str], str]


def primary_flag(contact_code: object, customer_code: str | None) -> str:
    return "Y" if customer_code and str(contact_code or "").rstrip() == customer_code else "N"


def add_primary_flags(scan: ScanResult, codes: CustomerCodes) -> None:
    """Append a `PrimaryContact$` column to every raw contact row (rows stay compact)."""
    names = ("ARDivisionNo", "CustomerNo", "ContactCode")
    flags = []
    for raw in scan.rows:
        found = scan.fields(raw, names)
        code = codes.get((found["ARDivisionNo"], found["CustomerNo"]))
        flags.append(raw + SEP + primary_flag(found["ContactCode"], code))
    scan.rows = flags
    scan.columns = [*scan.columns, PRIMARY_FLAG + "$"]


def _primary_codes(boi: Boi, session: Any) -> CustomerCodes:
    """Every customer's default contact, in one nGetResultSets call on AR_Customer_svc."""
    obj = boi.new_object("AR_Customer_svc", session)
    try:
        wanted = "ARDivisionNo$,CustomerNo$,ContactCode$"
        rows = _result_set(boi, obj, wanted, "", "", "")
    finally:
        boi.release(obj)
    codes: CustomerCodes = {}
    for raw in rows:
        division, customer, code = ([*str(raw).split(SEP), "", ""])[:3]
        codes[(division.rstrip(), customer.rstrip())] = code.rstrip()
    return codes


def _primary_code_of(boi: Boi, session: Any, division: str, customer: str) -> str | None:
    obj = boi.new_object("AR_Customer_svc", session)
    try:
        check(boi, obj, "nSetKeyValue", "ARDivisionNo$", division)
        check(boi, obj, "nSetKeyValue", "CustomerNo$", customer)
        try:
            _find_by_key_values(boi, obj)
        except BoiNotFound:
            return None  # an orphaned contact: it cannot be anyone's default
        # nGetValue("Field$", byref v) (sage100.md §2): the value comes back after retval.
        return str(check(boi, obj, "nGetValue", "ContactCode$", "")[1]).rstrip()
    finally:
        boi.release(obj)


def _find_by_key_values(boi: Boi, obj: Any) -> None:
    """nSetKey() after nSetKeyValue per key column (sage100.md §2). On a _bus object 2 means
    "new record": for a read that is a key not on file."""
    if check(boi, obj, "nSetKey") == 2:
        raise BoiNotFound("nSetKey: record not on file")
