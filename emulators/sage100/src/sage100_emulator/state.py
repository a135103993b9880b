"""In-memory state of the emulated Sage 100 server (no HTTP here)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sage100_emulator.clock import EmulatorClock
from sage100_emulator.columns import (
    RecordError,
    Row,
    normalize_customer_no,
    normalize_division,
    normalize_patch,
    parse_display_key,
)
from sage100_emulator.company_gen import CompanyGenerator
from sage100_emulator.customers import ChangePage, SortKey, WriteStamp
from sage100_emulator.generator import CustomerGenerator
from sage100_emulator.schema import TABLES
from sage100_emulator.tables import CustomerTable, Key, Table

DEFAULT_USER_KEY = "0000000001"
DEFAULT_DIVISION = "01"
_COMPANY_RE = re.compile(r"^[A-Z0-9]{3}$")


class CompanyNotFoundError(KeyError):
    """No company with this code."""


class CustomerNotFoundError(KeyError):
    """One or more customer keys do not exist."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = list(keys)


class TableNotFoundError(KeyError):
    """No table (or no row with this key) of that name."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _tables() -> dict[str, Table]:
    tables = {name: Table(spec) for name, spec in TABLES.items() if name != "AR_Customer"}
    return {"AR_Customer": CustomerTable(), **tables}


@dataclass
class Company:
    code: str
    tables: dict[str, Table] = field(default_factory=_tables)

    @property
    def ar_customers(self) -> Table:
        return self.tables["AR_Customer"]

    def table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise TableNotFoundError(f"no table {name!r}") from None


def normalize_company(code: str) -> str:
    """Company codes are 3 upper-case characters, e.g. "ABC"."""
    upper = code.strip().upper()
    if not _COMPANY_RE.match(upper):
        raise RecordError("company", f"company code must be 3 letters/digits, got {code!r}")
    return upper


def normalize_user_key(user_key: str) -> str:
    if not user_key.isdigit() or len(user_key) > 10:
        raise RecordError("user_key", f"user keys are up to 10 digits, got {user_key!r}")
    return user_key.zfill(10)


class SageState:
    def __init__(self, clock: EmulatorClock | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self._companies: dict[str, Company] = {}
        self._touch_rng = random.Random(0)

    # -- companies ----------------------------------------------------------

    def company_codes(self) -> list[str]:
        return sorted(self._companies)

    def company(self, code: str) -> Company:
        try:
            return self._companies[code.strip().upper()]
        except KeyError:
            raise CompanyNotFoundError(code) from None

    def ensure_company(self, code: str) -> Company:
        normalized = normalize_company(code)
        return self._companies.setdefault(normalized, Company(normalized))

    # -- reads ----------------------------------------------------------------

    def get_customer(self, code: str, division: str, customer_no: str) -> Row | None:
        table = self.company(code).ar_customers
        return table.get(normalize_division(division), normalize_customer_no(customer_no))

    def list_customers(self, code: str) -> list[Row]:
        return self.company(code).ar_customers.rows()

    def changes(
        self,
        code: str,
        since: tuple[str, float] | None,
        after: SortKey | None,
        limit: int,
    ) -> ChangePage:
        return self.company(code).ar_customers.changes(since, after, limit)

    # -- writes -----------------------------------------------------------------

    def upsert_customers(
        self,
        code: str,
        records: Sequence[Mapping[str, object]],
        *,
        touch_stamps: bool = True,
        user_key: str = DEFAULT_USER_KEY,
    ) -> list[Row]:
        """Validate every record first, then write them all (all or nothing)."""
        patches = [self._prepare(index, record) for index, record in enumerate(records)]
        user = normalize_user_key(user_key)
        table = self.ensure_company(code).ar_customers
        return [table.upsert(patch, self._stamp(touch_stamps, user)) for patch in patches]

    def seed_customers(
        self,
        code: str,
        count: int,
        seed: int,
        division: str = DEFAULT_DIVISION,
        *,
        touch_stamps: bool = True,
    ) -> list[Row]:
        div = normalize_division(division)
        table = self.ensure_company(code).ar_customers
        taken = [no for d, no in table.primary_keys() if d == div]
        generator = CustomerGenerator(seed, self.clock.now().date())
        rows = generator.customers(count, div, taken)
        return self.upsert_customers(code, rows, touch_stamps=touch_stamps)

    def touch_customers(
        self,
        code: str,
        *,
        keys: Sequence[str] = (),
        random_count: int = 0,
        seed: int | None = None,
        touch_stamps: bool = True,
    ) -> list[Row]:
        """Make a realistic edit to the given (or randomly chosen) customers."""
        table = self.company(code).ar_customers
        rng = random.Random(seed) if seed is not None else self._touch_rng
        chosen: list[tuple[str, ...]] = [parse_display_key(key) for key in keys]
        missing = ["-".join(key) for key in chosen if key not in table]
        if missing:
            raise CustomerNotFoundError(missing)
        existing = table.primary_keys()
        chosen += rng.sample(existing, min(random_count, len(existing)))
        generator = CustomerGenerator(rng.randrange(2**32), self.clock.now().date())
        changed: list[Row] = []
        for key in chosen:
            row = table.get(*key)
            if row is not None:
                patch = normalize_patch(generator.mutation(row))
                changed.append(table.upsert(patch, self._stamp(touch_stamps, DEFAULT_USER_KEY)))
        return changed

    def delete_customer(self, code: str, division: str, customer_no: str) -> str:
        div, number = normalize_division(division), normalize_customer_no(customer_no)
        if not self.company(code).ar_customers.delete(div, number):
            raise CustomerNotFoundError([f"{div}-{number}"])
        return f"{div}-{number}"

    # -- any table ----------------------------------------------------------------

    def write_rows(
        self,
        code: str,
        table_name: str,
        records: Sequence[Mapping[str, object]],
        *,
        touch_stamps: bool = True,
        raw: bool = False,
        user_key: str = DEFAULT_USER_KEY,
    ) -> list[Row]:
        """Validate every record first (unless raw), then write them all (all or nothing)."""
        table = self.ensure_company(code).table(table_name)
        patches = []
        for index, record in enumerate(records):
            try:
                patches.append(table.normalize(record, raw_values=raw))
            except RecordError as exc:
                raise RecordError(exc.column, f"records[{index}]: {exc}") from exc
        user = normalize_user_key(user_key)
        return [table.upsert(patch, self._stamp(touch_stamps, user)) for patch in patches]

    def delete_row(self, code: str, table_name: str, key: Key) -> None:
        if not self.company(code).table(table_name).delete(*key):
            raise TableNotFoundError(f"no {table_name} record {'-'.join(key)}")

    def renumber_row(self, code: str, table_name: str, old: Key, new: Key) -> Row:
        table = self.company(code).table(table_name)
        if old not in table:
            raise TableNotFoundError(f"no {table_name} record {'-'.join(old)}")
        row = table.renumber(old, new)
        if table_name == "AR_Customer":
            # The customer's contacts are keyed under it and move with it (their keys begin
            # with the customer's); stamps untouched, as for the customer.
            contacts = self.company(code).table("AR_CustomerContact")
            for key in [k for k in contacts.primary_keys() if k[:2] == old]:
                contacts.renumber(key, (*new, *key[2:]))
        return row

    def generate_company(self, code: str, customers: int, seed: int) -> dict[str, int]:
        """A realistic company: customers plus contacts, vendors, GL, orders and invoices."""
        created = self.seed_customers(code, customers, seed)
        gen = CompanyGenerator(seed, self.clock.now().date())
        vendors = gen.vendors(max(3, customers // 20), DEFAULT_DIVISION)
        orders, lines = gen.sales_orders(created, len(created) // 4)
        invoices = gen.invoices(created, len(created) // 2)
        plan = {
            "AR_CustomerContact": gen.contacts(created),
            "AP_Vendor": vendors,
            "AP_OpenInvoice": gen.ap_invoices(vendors),
            "GL_AccountGroup": gen.gl_groups(),
            "GL_Account": gen.gl_accounts(normalize_company(code)),
            "SO_SalesOrderHeader": orders,
            "SO_SalesOrderDetail": lines,
            "AR_InvoiceHistoryHeader": invoices,
            "AR_OpenInvoice": gen.open_invoices(invoices, created),
        }
        counts = {"AR_Customer": len(created)}
        for table_name, rows in plan.items():
            # Order lines carry no audit columns of their own; a line change stamps the header.
            stamped = table_name != "SO_SalesOrderDetail"
            counts[table_name] = len(self.write_rows(code, table_name, rows, touch_stamps=stamped))
        return counts

    # -- helpers ----------------------------------------------------------------

    def _stamp(self, touch_stamps: bool, user_key: str) -> WriteStamp | None:
        if not touch_stamps:
            return None
        stamp = self.clock.stamp()
        return WriteStamp(stamp.date, stamp.time, user_key)

    @staticmethod
    def _prepare(index: int, record: Mapping[str, object]) -> Row:
        try:
            if "CustomerNo" not in record:
                raise RecordError("CustomerNo", "is required")
            patch = normalize_patch(record)
        except RecordError as exc:
            raise RecordError(exc.column, f"records[{index}]: {exc}") from exc
        patch.setdefault("ARDivisionNo", DEFAULT_DIVISION)
        return patch
