"""Zoho CRM emulator: OAuth behaviour, token limits, upsert semantics, faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from zoho_emulator.app import create_app
from zoho_emulator.main import build_state, parse_args
from zoho_emulator.state import ZohoState

pytestmark = pytest.mark.unit

BASE = "http://127.0.0.1:18200"
CLIENT_ID, SECRET = "1000.CLIENT", "s3cret"
ORG = "20091234"


@dataclass
class Session:
    access_token: str
    refresh_token: str
    api_domain: str
    accounts: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.access_token}"}


@pytest.fixture
def state() -> ZohoState:
    return ZohoState()


@pytest.fixture
async def client(state: ZohoState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


async def grant_code(
    client: httpx.AsyncClient, org: str = ORG, dc: str = "us", scopes: list[str] | None = None
) -> dict[str, Any]:
    await client.post("/_emulator/clients", json={"client_id": CLIENT_ID, "client_secret": SECRET})
    await client.post("/_emulator/orgs", json={"org_id": org, "dc": dc})
    body = {"client_id": CLIENT_ID, "scopes": scopes or ["ZohoCRM.modules.ALL"]}
    response = await client.post(f"/_emulator/orgs/{org}/grant-codes", json=body)
    assert response.status_code == 201, response.text
    code: dict[str, Any] = response.json()
    return code


async def token_call(client: httpx.AsyncClient, accounts: str, **params: str) -> httpx.Response:
    data = {"client_id": CLIENT_ID, "client_secret": SECRET} | params
    return await client.post(f"{accounts}/oauth/v2/token", data=data)


async def connect(
    client: httpx.AsyncClient, org: str = ORG, dc: str = "us", scopes: list[str] | None = None
) -> Session:
    code = await grant_code(client, org, dc, scopes)
    response = await token_call(
        client, code["accounts_server"], grant_type="authorization_code", code=code["code"]
    )
    body = response.json()
    return Session(
        body["access_token"], body["refresh_token"], body["api_domain"], code["accounts_server"]
    )


async def refresh(client: httpx.AsyncClient, session: Session) -> httpx.Response:
    return await token_call(
        client, session.accounts, grant_type="refresh_token", refresh_token=session.refresh_token
    )


async def upsert(
    client: httpx.AsyncClient, session: Session, records: list[Any], **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{session.api_domain}/crm/v8/Accounts/upsert",
        json={"data": records, **extra},
        headers=session.headers,
    )


async def get_accounts(client: httpx.AsyncClient, session: Session, token: str) -> httpx.Response:
    return await client.get(
        f"{session.api_domain}/crm/v8/Accounts",
        params={"fields": "Account_Name"},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )


INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}

# -- OAuth --------------------------------------------------------------------------


async def test_code_exchange_is_single_use(client: httpx.AsyncClient) -> None:
    code = await grant_code(client, dc="eu")
    assert code["accounts_server"] == f"{BASE}/accounts/eu"
    first = await token_call(
        client, code["accounts_server"], grant_type="authorization_code", code=code["code"]
    )
    body = first.json()
    assert set(body) == {"access_token", "refresh_token", "api_domain", "token_type", "expires_in"}
    assert body["api_domain"] == f"{BASE}/api/eu"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    again = await token_call(
        client, code["accounts_server"], grant_type="authorization_code", code=code["code"]
    )
    assert again.status_code == 200
    assert again.json() == {"error": "invalid_code"}


async def test_params_in_query_string_are_accepted(client: httpx.AsyncClient) -> None:
    code = await grant_code(client)
    params = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "code": code["code"],
    }
    response = await client.post(f"{code['accounts_server']}/oauth/v2/token", params=params)
    assert "access_token" in response.json()


async def test_expired_grant_code(client: httpx.AsyncClient, state: ZohoState) -> None:
    code = await grant_code(client)
    state.clock.advance(181)
    response = await token_call(
        client, code["accounts_server"], grant_type="authorization_code", code=code["code"]
    )
    assert response.json() == {"error": "invalid_code"}


async def test_refresh_has_api_domain_and_no_refresh_token(client: httpx.AsyncClient) -> None:
    session = await connect(client, dc="au")
    response = await refresh(client, session)
    body = response.json()
    assert response.status_code == 200
    assert "refresh_token" not in body
    assert body["api_domain"] == f"{BASE}/api/au"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"] != session.access_token
    assert (await get_accounts(client, session, body["access_token"])).status_code == 204


async def test_token_errors_are_http_200_bodies(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    cases = [
        ({"client_id": "nobody"}, {"error": "invalid_client"}),
        ({"client_secret": "wrong"}, {"error": "invalid_client_secret"}),
        ({"refresh_token": "1000.unknown.token"}, {"error": "invalid_code"}),
    ]
    for override, expected in cases:
        params = {"grant_type": "refresh_token", "refresh_token": session.refresh_token}
        response = await token_call(client, session.accounts, **(params | override))
        assert response.status_code == 200
        assert response.json() == expected


async def test_sixteenth_token_evicts_the_oldest(
    client: httpx.AsyncClient, state: ZohoState
) -> None:
    session = await connect(client)
    tokens = [session.access_token]
    for n in range(15):
        if n == 10:
            state.clock.advance(601)  # leave the 10-per-10-minutes refresh window
        response = await refresh(client, session)
        tokens.append(response.json()["access_token"])
    oldest = await get_accounts(client, session, tokens[0])
    assert oldest.status_code == 401
    assert oldest.json() == INVALID_TOKEN
    for token in (tokens[1], tokens[-1]):
        assert (await get_accounts(client, session, token)).status_code == 204
    stats = (await client.get(f"/_emulator/orgs/{ORG}/stats")).json()
    assert stats["live_access_tokens"] == 15 and stats["token_refreshes"] == 15


async def test_refresh_throttle(client: httpx.AsyncClient, state: ZohoState) -> None:
    session = await connect(client)
    for _ in range(10):
        assert "access_token" in (await refresh(client, session)).json()
    denied = await refresh(client, session)
    assert denied.status_code == 200
    assert denied.json() == {
        "error_description": "You have made too many requests continuously. "
        "Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    }
    state.clock.advance(600)
    assert "access_token" in (await refresh(client, session)).json()


async def test_expired_token_is_invalid(client: httpx.AsyncClient, state: ZohoState) -> None:
    session = await connect(client)
    state.clock.advance(3601)
    response = await get_accounts(client, session, session.access_token)
    assert response.status_code == 401 and response.json() == INVALID_TOKEN


async def test_revoke_cascades(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    url = f"{session.accounts}/oauth/v2/token/revoke"
    response = await client.post(url, params={"token": session.refresh_token})
    assert response.json() == {"status": "success"}
    assert (await get_accounts(client, session, session.access_token)).status_code == 401
    assert (await refresh(client, session)).json() == {"error": "invalid_code"}
    assert (await client.post(url, params={"token": session.refresh_token})).status_code == 400


async def test_tokens_are_bound_to_their_dc(client: httpx.AsyncClient) -> None:
    session = await connect(client, dc="us")
    response = await client.get(
        f"{BASE}/api/eu/crm/v8/Accounts", params={"fields": "Account_Name"}, headers=session.headers
    )
    assert response.status_code == 401 and response.json() == INVALID_TOKEN
    wrong_accounts = await token_call(
        client,
        f"{BASE}/accounts/eu",
        grant_type="refresh_token",
        refresh_token=session.refresh_token,
    )
    assert wrong_accounts.json() == {"error": "invalid_code"}


async def test_missing_header_and_missing_scope(client: httpx.AsyncClient) -> None:
    session = await connect(client, scopes=["ZohoCRM.settings.ALL"])
    response = await client.post(f"{session.api_domain}/crm/v8/Accounts/upsert", json={"data": []})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILURE"
    response = await upsert(client, session, [{"Account_Name": "Acme"}])
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


# -- records ------------------------------------------------------------------------


async def test_upsert_inserts_then_updates_on_external_field(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client)
    record = {"Account_Name": "Summit Supply", "Sage_Customer_No": "01-0000012"}
    first = await upsert(client, session, [record], duplicate_check_fields=["Sage_Customer_No"])
    assert first.status_code == 200
    inserted = first.json()["data"][0]
    assert inserted["code"] == "SUCCESS" and inserted["status"] == "success"
    assert inserted["action"] == "insert" and inserted["duplicate_field"] is None
    assert inserted["message"] == "record added"
    assert set(inserted["details"]) >= {
        "id",
        "Created_Time",
        "Modified_Time",
        "Created_By",
        "Modified_By",
    }
    renamed = record | {"Account_Name": "Summit Supply Co.", "Phone": "(312) 555-0142"}
    second = await upsert(client, session, [renamed])
    updated = second.json()["data"][0]
    assert second.status_code == 200
    assert updated["action"] == "update" and updated["duplicate_field"] == "Sage_Customer_No"
    assert updated["message"] == "record updated"
    assert updated["details"]["id"] == inserted["details"]["id"]
    stored = (await client.get(f"/_emulator/orgs/{ORG}/records/Accounts")).json()["data"]
    assert len(stored) == 1
    assert stored[0]["Account_Name"] == "Summit Supply Co." and stored[0]["$write_count"] == 2
    by_external = await client.get(
        f"{session.api_domain}/crm/v8/Accounts/01-0000012",
        headers=session.headers | {"X-EXTERNAL": "Accounts.Sage_Customer_No"},
    )
    assert by_external.json()["data"][0]["Phone"] == "(312) 555-0142"


async def test_default_duplicate_check_starts_with_the_system_field(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client)
    await upsert(client, session, [{"Account_Name": "Acme", "Sage_Customer_No": "01-A"}])
    same_name = [{"Account_Name": "Acme", "Sage_Customer_No": "02-B"}]
    by_default = (await upsert(client, session, same_name)).json()["data"][0]
    assert by_default["action"] == "update" and by_default["duplicate_field"] == "Account_Name"
    other = [{"Account_Name": "Acme", "Sage_Customer_No": "03-C"}]
    explicit = await upsert(client, session, other, duplicate_check_fields=["Sage_Customer_No"])
    assert explicit.json()["data"][0]["action"] == "insert"


async def test_mandatory_missing_gives_207(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    response = await upsert(
        client,
        session,
        [{"Account_Name": "Good"}, {"Sage_Customer_No": "01-X", "Phone": "(312) 555-0000"}],
    )
    assert response.status_code == 207
    good, bad = response.json()["data"]
    assert good["action"] == "insert"
    assert bad == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Account_Name", "json_path": "$.data[1].Account_Name"},
        "message": "required field not found",
        "status": "error",
    }


async def test_invalid_data_and_all_failed_is_400(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    response = await upsert(
        client,
        session,
        [{"Account_Name": "x" * 201}, {"Account_Name": "Bad phone", "Phone": "call us"}],
    )
    assert response.status_code == 400
    too_long, bad_phone = response.json()["data"]
    assert too_long["code"] == "INVALID_DATA"
    assert too_long["details"]["maximum_length"] == 200
    assert bad_phone["details"]["expected_data_type"] == "phone"
    assert bad_phone["details"]["api_name"] == "Phone"


async def test_batch_over_100_is_limit_exceeded(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    records = [{"Account_Name": f"Account {n}"} for n in range(101)]
    response = await upsert(client, session, records)
    assert response.status_code == 400
    assert response.json()["code"] == "LIMIT_EXCEEDED"
    assert response.json()["status"] == "error"
    stats = (await client.get(f"/_emulator/orgs/{ORG}/stats")).json()
    assert stats["records_written"] == {}


async def test_insert_with_taken_external_value_is_duplicate_data(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client)
    url = f"{session.api_domain}/crm/v8/Accounts"
    record = {"Account_Name": "Acme", "Sage_Customer_No": "01-0000001"}
    first = await client.post(url, json={"data": [record]}, headers=session.headers)
    assert first.status_code == 201
    second = await client.post(url, json={"data": [record]}, headers=session.headers)
    assert second.status_code == 400
    error = second.json()["data"][0]
    assert error["code"] == "DUPLICATE_DATA"
    assert error["details"]["duplicate_record"]["id"] == first.json()["data"][0]["details"]["id"]


async def test_get_by_id_list_and_unknown_module(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    records = [{"Account_Name": f"Account {n}"} for n in range(3)]
    written = (await upsert(client, session, records)).json()["data"]
    record_id = written[0]["details"]["id"]
    url = f"{session.api_domain}/crm/v8/Accounts"
    one = await client.get(f"{url}/{record_id}", headers=session.headers)
    assert one.json()["data"][0]["Account_Name"] == "Account 0"
    assert (await client.get(f"{url}/999", headers=session.headers)).status_code == 204
    page = await client.get(
        url, params={"fields": "Account_Name", "per_page": 2}, headers=session.headers
    )
    assert page.json()["info"]["more_records"] is True and len(page.json()["data"]) == 2
    no_fields = await client.get(url, headers=session.headers)
    assert no_fields.status_code == 400
    bad = await client.get(
        f"{session.api_domain}/crm/v8/Widgets", params={"fields": "Name"}, headers=session.headers
    )
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_MODULE"


# -- faults and stats -----------------------------------------------------------------


async def test_fault_makes_the_org_answer_503(client: httpx.AsyncClient, state: ZohoState) -> None:
    session = await connect(client)
    response = await client.post(
        "/_emulator/faults", json={"org": ORG, "status": 503, "seconds": 120}
    )
    assert response.status_code == 200
    failed = await upsert(client, session, [{"Account_Name": "Acme"}])
    assert failed.status_code == 503
    assert failed.json()["code"] == "INTERNAL_ERROR"
    state.clock.advance(121)
    assert (await upsert(client, session, [{"Account_Name": "Acme"}])).status_code == 200
    await client.post("/_emulator/faults", json={"org": ORG, "status": 503})
    assert (await upsert(client, session, [{"Account_Name": "Acme"}])).status_code == 503
    await client.delete("/_emulator/faults")
    assert (await upsert(client, session, [{"Account_Name": "Acme"}])).status_code == 200
    stats = (await client.get(f"/_emulator/orgs/{ORG}/stats")).json()
    assert stats["faulted_calls"] == 2 and stats["calls"]["by_module"] == {"Accounts": 2}


async def test_latency_fault(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    await client.post("/_emulator/faults", json={"org": ORG, "latency_ms": 150})
    started = time.monotonic()
    response = await get_accounts(client, session, session.access_token)
    assert response.status_code == 204
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(
    ("answer", "body"),
    [("empty", ""), ("no_data", '{"data": []}'), ("malformed", '{"data": [{"code": "SUCCESS"')],
)
async def test_answer_fault_gives_a_200_that_fits_no_documented_shape(
    client: httpx.AsyncClient, answer: str, body: str
) -> None:
    session = await connect(client)
    await client.post("/_emulator/faults", json={"org": ORG, "answer": answer, "calls": 1})
    hostile = await upsert(client, session, [{"Account_Name": "Acme"}])
    assert hostile.status_code == 200 and hostile.text.startswith(body)
    assert (await upsert(client, session, [{"Account_Name": "Acme"}])).json()["data"]
    refused = await client.post("/_emulator/faults", json={"org": ORG, "answer": "teapot"})
    assert refused.status_code == 400


def test_main_seeds_clients_and_orgs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_ZOHO_EMULATOR_SEED_CLIENTS", raising=False)
    monkeypatch.delenv("MLC_ZOHO_EMULATOR_SEED_ORGS", raising=False)
    args = parse_args(
        ["--seed-client", "cid:sec:ret", "--seed-org", "org1:eu", "--token-ttl", "60"]
    )
    state = build_state(args)
    assert state.org("org1").dc == "eu"
    assert state.oauth.has_client("cid") and state.oauth.token_ttl == 60
    code = state.mint_grant_code("org1", "cid")
    issued = state.oauth.exchange_code(
        "eu", {"client_id": "cid", "client_secret": "sec:ret", "code": code.code}
    )
    assert issued.expires_in == 60


async def test_workflows_run_only_when_trigger_is_omitted_or_lists_workflow(
    client: httpx.AsyncClient, state: ZohoState
) -> None:
    session = await connect(client)
    record = {"Account_Name": "Summit Supply", "Sage_Customer_No": "01-0000012"}
    for trigger in ([], ["approval"]):
        reply = await upsert(client, session, [record], trigger=trigger)
        assert reply.status_code in (200, 201), reply.text
    assert state.stats(ORG)["workflow_runs"] == 0
    await upsert(client, session, [record])  # omitted: Zoho runs every trigger
    await upsert(client, session, [record, {"Account_Name": "Two"}], trigger=["workflow"])
    assert state.stats(ORG)["workflow_runs"] == 3
