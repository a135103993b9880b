"""Seedable generator of realistic distributor customers and of realistic edits."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Collection, Sequence

from sage100_emulator import sample_data as sd
from sage100_emulator.clock import format_date
from sage100_emulator.columns import CUSTOMER_NO_PAD, Row, Value

_ALPHA_SHARE = 0.2
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_SLUG_STOP_WORDS = frozenset({"", "inc", "llc", "co", "corp", "sons"})


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _phone(rng: random.Random, area: str) -> str:
    return f"({area}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"


def _slug(name: str) -> str:
    """Domain label from a company name: whole words, at most 24 characters."""
    slug = ""
    for word in _SLUG_RE.split(name.lower()):
        if word in _SLUG_STOP_WORDS or len(slug) + len(word) > 24:
            continue
        slug += word
    return slug or "customer"


class CustomerGenerator:
    """Deterministic for a given seed and starting table contents."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self._rng = random.Random(seed)
        self._today = today

    def customers(self, count: int, division: str, taken: Collection[str]) -> list[Row]:
        """`count` new rows for `division`; `taken` holds CustomerNos already in use."""
        used = set(taken)
        next_number = self._first_free_number(used)
        rows: list[Row] = []
        for _ in range(count):
            name = self._name()
            if self._rng.random() < _ALPHA_SHARE:
                customer_no = self._alpha_number(name, used)
            else:
                customer_no, next_number = self._numeric_number(next_number, used)
            used.add(customer_no)
            rows.append(self._row(division, customer_no, name))
        return rows

    def mutation(self, row: Row) -> Row:
        """A realistic edit of `row`: phone, address, balance or e-mail."""
        kind = self._rng.choices(["phone", "address", "balance", "email"], [30, 20, 40, 10])[0]
        if kind == "phone":
            return self._new_phone(row)
        if kind == "address":
            return self._new_address(row)
        if kind == "email":
            return self._new_email(row)
        return self._new_balance(row)

    # -- customer numbers -------------------------------------------------

    @staticmethod
    def _first_free_number(used: Collection[str]) -> int:
        numeric = [int(n) for n in used if n.isdigit() and len(n) <= CUSTOMER_NO_PAD]
        return max(numeric, default=0) + 1

    def _numeric_number(self, start: int, used: set[str]) -> tuple[str, int]:
        number = start
        while str(number).zfill(CUSTOMER_NO_PAD) in used:
            number += 1
        return str(number).zfill(CUSTOMER_NO_PAD), number + self._rng.choice((1, 1, 1, 2, 5, 10))

    @staticmethod
    def _alpha_number(name: str, used: set[str]) -> str:
        base = "".join(ch for ch in name.upper() if ch.isalpha())[:8] or "CUST"
        candidate, suffix = base, 1
        while candidate in used:
            candidate, suffix = f"{base}{suffix:02d}", suffix + 1
        return candidate

    # -- row contents -----------------------------------------------------

    def _name(self) -> str:
        rng = self._rng
        name = f"{rng.choice(sd.NAME_PREFIXES)} {rng.choice(sd.NAME_TRADES)} "
        return (name + rng.choice(sd.NAME_SUFFIXES))[:50]

    def _row(self, division: str, customer_no: str, name: str) -> Row:
        rng = self._rng
        city, state, zip_code, area = rng.choice(sd.CITIES)
        slug = _slug(name)
        limit = rng.choice(sd.CREDIT_LIMITS)
        first, last = rng.choice(sd.CONTACT_FIRST), rng.choice(sd.CONTACT_LAST)
        established = self._today - dt.timedelta(days=rng.randint(30, 15 * 365))
        row: Row = {
            "ARDivisionNo": division,
            "CustomerNo": customer_no,
            "CustomerName": name,
            "AddressLine1": self._street(),
            "AddressLine2": rng.choice(sd.ADDRESS_LINE2) if rng.random() < 0.25 else "",
            "City": city,
            "State": state,
            "ZipCode": zip_code,
            "CountryCode": "USA",
            "TelephoneNo": _phone(rng, area),
            "TelephoneExt": str(rng.randint(100, 399)) if rng.random() < 0.15 else "",
            "FaxNo": _phone(rng, area) if rng.random() < 0.5 else "",
            "EmailAddress": f"{rng.choice(sd.EMAIL_BOXES)}@{slug}.com",
            "URLAddress": f"www.{slug}.com" if rng.random() < 0.8 else "",
            "ContactCode": (first[0] + last).upper().replace("'", "")[:10],
            "SalespersonDivisionNo": division,
            "SalespersonNo": rng.choice(sd.SALESPERSON_NOS),
            "TermsCode": _weighted(rng, sd.TERMS_CODES),
            "TaxSchedule": state if rng.random() < 0.8 else "NONTAX",
            "CustomerType": _weighted(rng, sd.CUSTOMER_TYPES),
            "PriceLevel": rng.choice(("", "", "1", "2", "3")),
            "SortField": "".join(ch for ch in name.upper() if ch.isalnum())[:10],
            "CreditHold": "Y" if rng.random() < 0.05 else "N",
            "CustomerStatus": _weighted(rng, (("A", 92), ("I", 6), ("T", 2))),
            "DateEstablished": format_date(established),
            "CreditLimit": limit,
            "CurrentBalance": self._balance(limit),
        }
        return row

    def _street(self) -> str:
        return f"{self._rng.randint(10, 9899)} {self._rng.choice(sd.STREETS)}"

    def _balance(self, limit: float) -> float:
        if self._rng.random() < 0.2:
            return 0.0
        return round(self._rng.uniform(0, limit * 0.6), 2)

    # -- edits --------------------------------------------------------------

    def _key(self, row: Row) -> Row:
        return {"ARDivisionNo": row["ARDivisionNo"], "CustomerNo": row["CustomerNo"]}

    def _new_phone(self, row: Row) -> Row:
        old = str(row.get("TelephoneNo", ""))
        area = old[1:4] if old.startswith("(") else self._rng.choice(sd.CITIES)[3]
        phone = old
        while phone == old:
            phone = _phone(self._rng, area)
        return self._key(row) | {"TelephoneNo": phone}

    def _new_address(self, row: Row) -> Row:
        patch: dict[str, Value] = {"AddressLine1": self._street()}
        if self._rng.random() < 0.3:
            city, state, zip_code, _ = self._rng.choice(sd.CITIES)
            patch |= {"City": city, "State": state, "ZipCode": zip_code}
        if patch["AddressLine1"] == row.get("AddressLine1"):
            patch["AddressLine2"] = "Suite 300" if row.get("AddressLine2") != "Suite 300" else ""
        return self._key(row) | patch

    def _new_email(self, row: Row) -> Row:
        slug = _slug(str(row.get("CustomerName", "")))
        boxes = [b for b in sd.EMAIL_BOXES if f"{b}@{slug}.com" != row.get("EmailAddress")]
        return self._key(row) | {"EmailAddress": f"{self._rng.choice(boxes)}@{slug}.com"}

    def _new_balance(self, row: Row) -> Row:
        old = float(row.get("CurrentBalance", 0.0))
        delta = round(self._rng.uniform(25, 5000), 2)
        new = old + delta if old < delta or self._rng.random() < 0.6 else old - delta
        return self._key(row) | {"CurrentBalance": round(new, 2)}
