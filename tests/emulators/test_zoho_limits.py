"""Zoho emulator: concurrency, sub-concurrency, credits, DC moves, token storms, search."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from zoho_emulator.state import ZohoState

from tests.emulators.test_zoho_emulator import (
    INVALID_TOKEN,
    ORG,
    Session,
    client,
    connect,
    refresh,
    state,
)
from tests.emulators.test_zoho_modules import ALL_SCOPES, set_org, write

pytestmark = pytest.mark.unit
__all__ = ["client", "state"]


def accounts(count: int, prefix: str = "A") -> list[dict[str, str]]:
    return [
        {"Account_Name": f"{prefix}{i}", "Sage_Customer_No": f"{prefix}-{i}"} for i in range(count)
    ]


async def slow_calls(client: httpx.AsyncClient, latency_ms: int = 1000) -> None:
    fault = {"org": ORG, "latency_ms": latency_ms}
    assert (await client.post("/_emulator/faults", json=fault)).status_code == 200


async def list_call(client: httpx.AsyncClient, session: Session) -> httpx.Response:
    return await client.get(
        f"{session.api_domain}/crm/v8/Accounts",
        params={"fields": "Account_Name"},
        headers=session.headers,
    )


async def test_concurrency_limit_follows_the_edition(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    await set_org(client, edition="free")
    await slow_calls(client)
    answers = await asyncio.gather(*(list_call(client, session) for _ in range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [204] * 5 + [429] * 3
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert "retry-after" not in refused.headers


async def test_sub_concurrency_caps_writes_of_more_than_ten(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    await slow_calls(client)
    heavy = [
        write(client, session, "Accounts", accounts(11, f"H{i}-"), "upsert") for i in range(12)
    ]
    light = [write(client, session, "Accounts", accounts(10, f"L{i}-"), "upsert") for i in range(5)]
    answers = await asyncio.gather(*heavy, *light)
    heavy_statuses = sorted(a.status_code for a in answers[:12])
    assert heavy_statuses == [200] * 10 + [429] * 2
    assert all(a.status_code == 200 for a in answers[12:])
    stats = (await client.get(f"/_emulator/orgs/{ORG}/stats")).json()["limits"]
    assert stats["max_heavy_in_flight"] == 10 and stats["rejected_sub_concurrency"] == 2


async def test_credits_per_ten_records_rolling_window(
    client: httpx.AsyncClient, state: ZohoState
) -> None:
    session = await connect(client)
    await set_org(client, credits_per_day=30)
    first = await write(client, session, "Accounts", accounts(100, "A"), "upsert")
    assert first.status_code == 200 and "x-api-credits-remaining" not in first.headers
    second = await write(client, session, "Accounts", accounts(91, "B"), "upsert")
    assert second.headers["x-api-credits-remaining"] == "10"  # half used: header appears
    third = await write(client, session, "Accounts", accounts(100, "C"), "upsert")
    assert third.headers["x-api-credits-remaining"] == "0"
    refused = await write(client, session, "Accounts", accounts(1, "D"), "upsert")
    assert refused.status_code == 429 and refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["x-api-credits-remaining"] == "0"
    state.clock.advance(24 * 3600 + 1)
    await refresh_session(client, session)
    again = await write(client, session, "Accounts", accounts(1, "D"), "upsert")
    assert again.status_code == 200


async def refresh_session(client: httpx.AsyncClient, session: Session) -> None:
    body = (await refresh(client, session)).json()
    session.access_token, session.api_domain = body["access_token"], body["api_domain"]


async def test_org_moved_to_eu_tokens_carry_the_new_api_domain(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    await write(client, session, "Accounts", accounts(2), "upsert")
    moved = await client.post(f"/_emulator/orgs/{ORG}/move", json={"dc": "eu"})
    assert moved.json()["dc"] == "eu" and moved.json()["access_tokens_invalidated"] == 1
    stale = await list_call(client, session)
    assert stale.status_code == 401 and stale.json() == INVALID_TOKEN
    await refresh_session(client, session)  # at the accounts server that issued the token
    assert session.api_domain.endswith("/api/eu")
    listed = await list_call(client, session)
    assert listed.status_code == 200 and listed.json()["info"]["count"] == 2


async def test_token_expiry_storm(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    storm = await client.post(f"/_emulator/orgs/{ORG}/expire-tokens")
    assert storm.json() == {"expired": 1}
    assert (await list_call(client, session)).json() == INVALID_TOKEN
    await refresh_session(client, session)
    assert (await list_call(client, session)).status_code == 204


async def test_search_forms_and_indexing_lag(client: httpx.AsyncClient, state: ZohoState) -> None:
    session = await connect(client, scopes=ALL_SCOPES)
    await write(
        client,
        session,
        "Contacts",
        [
            {"Last_Name": "Lee", "Email": "ann@acme.com", "Phone": "(312) 555-0100"},
            {"Last_Name": "Leeds", "Email": "bo@globex.com", "Title": "Buyer"},
            {"Last_Name": "Smith", "Title": "Chief Buyer"},
        ],
    )
    url = f"{session.api_domain}/crm/v8/Contacts/search"

    async def names(**params: str) -> list[str]:
        response = await client.get(url, params=params, headers=session.headers)
        if response.status_code == 204:
            return []
        assert response.status_code == 200, response.text
        return sorted(r["Last_Name"] for r in response.json()["data"])

    assert await names(criteria="(Last_Name:equals:lee)") == ["Lee", "Leeds"]  # contains
    assert await names(criteria="((Last_Name:starts_with:Le)and(Title:equals:buyer))") == ["Leeds"]
    assert await names(criteria="((Last_Name:equals:Smith)or(Email:equals:ann))") == [
        "Lee",
        "Smith",
    ]
    assert await names(email="BO@globex.com") == ["Leeds"]
    assert await names(phone="3125550100") == ["Lee"]
    assert await names(word="Buyer") == ["Leeds", "Smith"]
    assert await names(word="Nobody") == []
    too_many = "and".join(f"(Last_Name:equals:x{i})" for i in range(11))
    limited = await client.get(url, params={"criteria": f"({too_many})"}, headers=session.headers)
    assert limited.status_code == 400
    past = await client.get(url, params={"word": "Lee", "page": "11"}, headers=session.headers)
    assert past.json()["code"] == "LIMIT_REACHED"
    await set_org(client, search_lag_seconds=30)
    await write(client, session, "Contacts", [{"Last_Name": "Leeway"}])
    assert await names(word="Leeway") == []
    state.clock.advance(31)
    await refresh_session(client, session)
    assert await names(word="Leeway") == ["Leeway"]


async def test_search_needs_the_search_scope(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    refused = await client.get(
        f"{session.api_domain}/crm/v8/Accounts/search",
        params={"word": "Acme"},
        headers=session.headers,
    )
    assert refused.status_code == 401 and refused.json()["code"] == "OAUTH_SCOPE_MISMATCH"
