"""`mlc reconcile`'s Sage side against the real agent and the Sage emulator: the key set is
the authority. Sage changes between reading the key set and reading the rows (made here, for
real, at that moment): a customer deleted meanwhile is asked for by key and left out, one added
meanwhile is not in this reconciliation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mlc_core.contracts import Entity
from mlc_core.sage.agent import ChangePage, SageAgentClient
from mlc_devtools.devstack import StackConfig
from mlc_ops.reconcile_sources import sage_records
from sage_poller.admin import KEY_FUNCTIONS

from tests.cli.emulator_fixtures import emulators, sage_company

pytestmark = pytest.mark.integration
__all__ = ["emulators"]
COMPANY = "RSC"


class SageChangesMidRead(SageAgentClient):
    """The real agent client; Sage changes once, right after the key set was read."""

    def __init__(self, sage: httpx.AsyncClient, victim: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sage, self._victim, self._changed = sage, victim, False
        self.fetched: list[str] = []

    async def changes(self, **kwargs: Any) -> ChangePage:
        if not self._changed:
            self._changed = True
            division, number = self._victim.split("-", 1)
            base = f"/_emulator/companies/{COMPANY}/ar_customers"
            assert (await self._sage.delete(f"{base}/{division}/{number}")).status_code == 200
            late = {"ARDivisionNo": "01", "CustomerNo": "LATE", "CustomerName": "Late Ltd"}
            assert (await self._sage.post(base, json={"records": [late]})).status_code == 200
        return await super().changes(**kwargs)

    async def fetch(self, *, company: str, entity: str, source_key: str) -> dict[str, Any]:
        self.fetched.append(source_key)
        return await super().fetch(company=company, entity=entity, source_key=source_key)


async def test_the_key_set_decides_which_records_are_compared(emulators: StackConfig) -> None:
    await sage_company(emulators, COMPANY, customers=6)
    key_of = KEY_FUNCTIONS[Entity.AR_CUSTOMER]
    async with (
        httpx.AsyncClient(base_url=emulators.sage_url, timeout=30) as sage,
        httpx.AsyncClient(timeout=30) as http,
    ):
        listed = (await sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()
        keys = sorted(key_of(r) for r in listed["records"])
        agent = SageChangesMidRead(
            sage, keys[0], http=http, base_url=emulators.agent_url,
            token=emulators.sage_agent_token,
        )  # fmt: skip
        rows = await sage_records(agent, company=COMPANY, entity=Entity.AR_CUSTOMER, key_of=key_of)
    assert [key_of(r) for r in rows] == keys[1:]  # neither the deleted one nor 01-LATE
    assert agent.fetched == [keys[0]]  # in the key set, not in the feed: asked for by key
