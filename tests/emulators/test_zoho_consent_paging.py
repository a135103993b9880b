"""The emulator's consent page (GET shows it, POST approves or denies, the redirect names the
org's accounts server) and listing past the first 2000 records with page_token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mlc_core.zoho.consent import authorization_url, exchange_redirect, redirect_grant
from mlc_core.zoho.errors import ZohoAuthError
from zoho_emulator.state import ZohoState

from tests.emulators.test_zoho_emulator import (
    BASE,
    CLIENT_ID,
    ORG,
    SECRET,
    Session,
    client,
    connect,
    state,
    upsert,
)

pytestmark = pytest.mark.unit
__all__ = ["client", "state"]
REDIRECT = "https://connector.example/zoho/callback"


async def consent_url(client: httpx.AsyncClient, *, offline: bool = True) -> str:
    await client.post(
        "/_emulator/clients",
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uri": REDIRECT},
    )
    await client.post("/_emulator/orgs", json={"org_id": ORG, "dc": "eu"})
    await client.post("/_emulator/orgs", json={"org_id": "other-us", "dc": "us"})
    url = authorization_url(
        dc="us", client_id=CLIENT_ID, redirect_uri=REDIRECT, state="xyz",
        accounts_url=f"{BASE}/accounts/us",
    )  # fmt: skip
    return url if offline else url.replace("access_type=offline", "access_type=online")


async def approve(client: httpx.AsyncClient, url: str, decision: str = "approve") -> str:
    page = await client.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    form = dict(parse_qs(urlsplit(url).query, keep_blank_values=True))
    body = {k: v[0] for k, v in form.items()} | {"org": ORG, "decision": decision}
    answer = await client.post(urlsplit(url).path, data=body)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def test_consent_page_shows_the_request_and_the_orgs(client: httpx.AsyncClient) -> None:
    page = (await client.get(await consent_url(client) + f"&org={ORG}")).text
    for part in (
        CLIENT_ID,
        "ZohoCRM.modules.accounts.ALL",
        REDIRECT,
        f'value="{ORG}" selected',
        "Accept",
    ):
        assert part in page, part
    assert "other-us (us)" in page


async def test_approval_redirects_with_code_location_and_the_orgs_accounts_server(
    client: httpx.AsyncClient,
) -> None:
    location = await approve(client, await consent_url(client))  # opened on the US server
    assert location.startswith(REDIRECT + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["location"] == "eu" and query["state"] == "xyz"
    assert query["accounts-server"] == f"{BASE}/accounts/eu"
    grant = redirect_grant(location, default_dc="us", state="xyz")
    at_us = await client.post(
        f"{BASE}/accounts/us/oauth/v2/token",
        data={"grant_type": "authorization_code", "client_id": CLIENT_ID,
              "client_secret": SECRET, "code": grant.code, "redirect_uri": REDIRECT},
    )  # fmt: skip
    assert at_us.json() == {"error": "invalid_code"}  # the code belongs to the EU server
    token = await exchange_redirect(
        client, grant, client_id=CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT
    )
    assert token.refresh_token and token.api_domain == f"{BASE}/api/eu"


async def test_denial_and_online_access_give_no_refresh_token(client: httpx.AsyncClient) -> None:
    denied = await approve(client, await consent_url(client), decision="deny")
    assert parse_qs(urlsplit(denied).query) == {"error": ["access_denied"], "state": ["xyz"]}
    online = await approve(client, await consent_url(client, offline=False))
    grant = redirect_grant(online, default_dc="us")
    with pytest.raises(ZohoAuthError, match="no refresh token"):
        await exchange_redirect(
            client, grant, client_id=CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT
        )


async def test_bad_consent_requests_get_an_error_page(client: httpx.AsyncClient) -> None:
    url = await consent_url(client)
    for bad in (
        url.replace(CLIENT_ID, "1000.NOSUCH"),
        url.replace("response_type=code", "response_type=token"),
        url.replace("connector.example", "evil.example"),
    ):
        page = await client.get(bad)
        assert page.status_code == 400 and "Invalid request" in page.text, bad


async def list_page(
    client: httpx.AsyncClient, session: Session, **params: str | int
) -> httpx.Response:
    return await client.get(
        f"{session.api_domain}/crm/v8/Accounts",
        params={"fields": "Account_Name,Sage_Customer_No", "per_page": 200, **params},
        headers=session.headers,
    )


async def test_listing_past_2000_records_continues_with_page_token(
    client: httpx.AsyncClient, state: ZohoState
) -> None:
    session = await connect(client, scopes=["ZohoCRM.modules.ALL"])
    for start in range(0, 2150, 100):
        batch = [
            {"Account_Name": f"Acme {i}", "Sage_Customer_No": f"01-{i:05d}"}
            for i in range(start, min(start + 100, 2150))
        ]
        assert (await upsert(client, session, batch)).status_code < 300
    seen: list[str] = []
    for page in range(1, 11):
        body = (await list_page(client, session, page=page)).json()
        seen += [r["Sage_Customer_No"] for r in body["data"]]
    assert body["info"]["more_records"] is True and body["info"]["next_page_token"]
    refused = (await list_page(client, session, page=11)).json()
    assert refused["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    rest = await list_page(client, session, page_token=body["info"]["next_page_token"])
    assert rest.status_code == 200
    info = rest.json()["info"]
    assert info["count"] == 150 and info["more_records"] is False and info["page"] == 11
    assert info["next_page_token"] is None
    seen += [r["Sage_Customer_No"] for r in rest.json()["data"]]
    assert sorted(seen) == [f"01-{i:05d}" for i in range(2150)]


async def test_page_token_rules(client: httpx.AsyncClient, state: ZohoState) -> None:
    session = await connect(client, scopes=["ZohoCRM.modules.ALL"])
    batch = [{"Account_Name": f"Acme {i}", "Sage_Customer_No": f"01-{i}"} for i in range(5)]
    await upsert(client, session, batch)
    first = (await list_page(client, session, per_page=2)).json()["info"]
    token = first["next_page_token"]
    assert first["page_token_expiry"]

    async def error(**params: str | int) -> str:
        answer = await list_page(client, session, per_page=2, **params)
        assert answer.status_code == 400
        return str(answer.json()["code"])

    assert await error(page_token=token, page=2) == "AMBIGUITY_DURING_PROCESSING"
    assert await error(page_token=token, sort_order="asc") == "TOKEN_BOUND_DATA_MISMATCH"
    assert await error(page_token="nonsense") == "INVALID_DATA"
    second = await list_page(client, session, per_page=2, page_token=token)
    assert second.json()["info"]["page"] == 2 and len(second.json()["data"]) == 2
    await client.post("/_emulator/clock", json={"advance_seconds": 24 * 3600 + 1})
    session = await connect(client, scopes=["ZohoCRM.modules.ALL"])  # tokens expired too
    assert await error(page_token=token) == "EXPIRED_VALUE"


async def test_a_smaller_discrete_limit_makes_page_tokens_testable(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client, scopes=["ZohoCRM.modules.ALL"])
    batch = [{"Account_Name": f"Acme {i}", "Sage_Customer_No": f"01-{i}"} for i in range(7)]
    await upsert(client, session, batch)
    await client.post(f"/_emulator/orgs/{ORG}/settings", json={"discrete_page_limit": 4})
    assert (await list_page(client, session, per_page=2, page=3)).status_code == 400
    body = (await list_page(client, session, per_page=2, page=2)).json()
    rest = await list_page(client, session, per_page=2, page_token=body["info"]["next_page_token"])
    assert rest.json()["info"]["page"] == 3
