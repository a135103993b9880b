"""Zoho emulator control read of per-record write times (used by bench/ to time each write)."""

from __future__ import annotations

import httpx
import pytest
from zoho_emulator.state import ZohoState

from tests.emulators.test_zoho_emulator import ORG, client, connect, state
from tests.emulators.test_zoho_modules import write

pytestmark = pytest.mark.unit
__all__ = ["client", "state"]


async def modified(client: httpx.AsyncClient, since: float) -> list[dict[str, object]]:
    response = await client.get(
        f"/_emulator/orgs/{ORG}/records/Accounts/modified",
        params={"since": since, "key": "Sage_Customer_No"},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_lists_only_records_written_since_with_key_time_and_count(
    client: httpx.AsyncClient, state: ZohoState
) -> None:
    session = await connect(client)
    first = [{"Account_Name": "A", "Sage_Customer_No": "01-A"}]
    assert (await write(client, session, "Accounts", first, "upsert")).status_code == 200
    state.clock.advance(10)
    cut = state.clock.now()
    again = [{"Account_Name": "B", "Sage_Customer_No": "01-B"}, first[0] | {"Phone": "1"}]
    assert (await write(client, session, "Accounts", again, "upsert")).status_code == 200

    rows = {row["key"]: row for row in await modified(client, cut)}
    assert set(rows) == {"01-A", "01-B"}
    assert rows["01-A"]["write_count"] == 2 and rows["01-B"]["write_count"] == 1
    assert all(cut <= float(str(r["modified_time"])) <= state.clock.now() for r in rows.values())
    assert len(await modified(client, state.clock.now() + 1)) == 0


async def test_bad_since_and_unknown_module_are_refused(client: httpx.AsyncClient) -> None:
    await connect(client)
    bad = await client.get(f"/_emulator/orgs/{ORG}/records/Accounts/modified?since=soon")
    assert bad.status_code == 400 and "since" in bad.text
    unknown = await client.get(f"/_emulator/orgs/{ORG}/records/Nope/modified")
    assert unknown.status_code == 404
