"""The Sage side of a chaos run: numbered customers and contacts, created in waves and then
edited over and over, each edit a new version carried in a field that reaches Zoho.

Like Kafka's VerifiableProducer, every record is numbered and every version is counted, so
afterwards each Zoho record can be checked against the exact version Sage holds last.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.verify import RecordKey

DIVISION = "01"
CUSTOMERS, CONTACTS = "AR_Customer", "AR_CustomerContact"
ACCOUNTS, ZOHO_CONTACTS = "Accounts", "Contacts"
# Sage table -> (its column carrying the version, Zoho module, the module's external key field,
# the Zoho field the version column becomes)
SIDES = {
    CUSTOMERS: ("CustomerName", ACCOUNTS, "Sage_Customer_No", "Account_Name"),
    CONTACTS: ("ContactNotes", ZOHO_CONTACTS, "Sage_Contact_Key", "Description"),
}


def customer_no(number: int) -> str:
    return f"CH{number:06d}"


def contact_codes(number: int) -> list[str]:
    """A main contact for every customer, an AP contact for every second one (1.5 on average)."""
    return ["MAIN", "AP"] if number % 2 == 0 else ["MAIN"]


def customer_row(number: int, version: int) -> dict[str, str]:
    return {
        "ARDivisionNo": DIVISION,
        "CustomerNo": customer_no(number),
        "CustomerName": f"Chaos customer {number:06d} v{version}",
    }


def contact_row(number: int, code: str, version: int) -> dict[str, str]:
    return {
        "ARDivisionNo": DIVISION,
        "CustomerNo": customer_no(number),
        "ContactCode": code,
        "ContactName": f"Pat Chaos{number:06d}",
        "ContactNotes": f"v{version}",
    }


@dataclass
class TenantLoad:
    tenant: str
    company: str
    customers: int  # numbered customers this tenant gets in total
    created: int = 0
    versions: dict[tuple[str, int, str], int] = field(default_factory=dict)
    writes: int = 0

    @property
    def contacts(self) -> int:
        return sum(len(contact_codes(n)) for n in range(1, self.created + 1))

    def bump(self, table: str, number: int, code: str) -> int:
        version = self.versions.get((table, number, code), 1) + 1
        self.versions[(table, number, code)] = version
        return version


class Workload:
    def __init__(self, sage: httpx.AsyncClient, loads: list[TenantLoad], seed: int) -> None:
        self._sage, self.loads, self._rng = sage, loads, random.Random(seed)

    async def create_share(self, share: float) -> None:
        """Create each tenant's next numbered customers (with contacts), up to `share` of all."""
        for load in self.loads:
            upto = min(load.customers, math.ceil(load.customers * share))
            numbers = range(load.created + 1, upto + 1)
            if not numbers:
                continue
            await self._write(load, CUSTOMERS, [customer_row(n, 1) for n in numbers])
            contacts = [contact_row(n, c, 1) for n in numbers for c in contact_codes(n)]
            await self._write(load, CONTACTS, contacts)
            load.created = upto

    async def edit(self, per_tenant: int) -> None:
        """A new version of `per_tenant` random existing records of each tenant."""
        for load in self.loads:
            if not load.created:
                continue
            customers, contacts = [], []
            for _ in range(per_tenant):
                number = self._rng.randint(1, load.created)
                if self._rng.random() < 0.5:
                    customers.append(customer_row(number, load.bump(CUSTOMERS, number, "")))
                else:
                    code = self._rng.choice(contact_codes(number))
                    contacts.append(contact_row(number, code, load.bump(CONTACTS, number, code)))
            for table, rows in ((CUSTOMERS, customers), (CONTACTS, contacts)):
                if rows:
                    await self._write(load, table, rows)

    async def _write(self, load: TenantLoad, table: str, rows: list[dict[str, str]]) -> None:
        path = f"/_emulator/companies/{load.company}/tables/{table}"
        response = await self._sage.post(path, json={"records": rows})
        response.raise_for_status()
        load.writes += len(rows)


def sage_key(table: str, row: dict[str, Any]) -> str:
    key = f"{row['ARDivisionNo']}-{row['CustomerNo']}"
    return f"{key}:{row['ContactCode']}" if table == CONTACTS else key


async def sage_truth(sage: httpx.AsyncClient, load: TenantLoad) -> dict[RecordKey, str]:
    """Each record Sage holds now, with the version marker Zoho should end up with."""
    truth: dict[RecordKey, str] = {}
    for table, (column, module, _, _) in SIDES.items():
        response = await sage.get(f"/_emulator/companies/{load.company}/tables/{table}")
        response.raise_for_status()
        for row in response.json()["records"]:
            truth[RecordKey(load.tenant, module, sage_key(table, row))] = str(row[column])
    return truth


async def zoho_holdings(zoho: httpx.AsyncClient, tenant: str) -> list[tuple[RecordKey, str]]:
    """Each record the tenant's Zoho org holds (several per key if duplicated)."""
    found: list[tuple[RecordKey, str]] = []
    for _, module, key_field, marker_field in SIDES.values():
        response = await zoho.get(f"/_emulator/orgs/{tenant}/records/{module}")
        response.raise_for_status()
        for record in response.json()["data"]:
            key = str(record.get(key_field) or f"<no {key_field}: id {record.get('id')}>")
            found.append((RecordKey(tenant, module, key), str(record.get(marker_field, ""))))
    return found
