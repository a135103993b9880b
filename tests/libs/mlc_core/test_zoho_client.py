from __future__ import annotations

import json

import httpx
import pytest
from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoModuleUnavailable,
    ZohoRateLimited,
    ZohoRequestError,
    ZohoRetryableError,
    ZohoTokenInvalid,
    ZohoTokenThrottled,
    ZohoUnavailable,
)
from mlc_core.zoho.oauth import exchange_grant_code, parse_token_response, refresh_access_token
from mlc_core.zoho.records import WriteReply, find_by_external, upsert


def client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_refresh_posts_form_to_the_dc_and_reads_api_domain() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "access_token": "1000.a",
                "expires_in": 3600,
                "api_domain": "https://www.zohoapis.eu",
                "token_type": "Bearer",
            },
        )

    async with client(httpx.MockTransport(handler)) as http:
        grant = await refresh_access_token(
            http,
            accounts_url="https://accounts.zoho.eu",
            client_id="c",
            client_secret="s",
            refresh_token="r",
        )
    assert str(seen[0].url) == "https://accounts.zoho.eu/oauth/v2/token"
    assert b"grant_type=refresh_token" in seen[0].content
    assert grant.api_domain == "https://www.zohoapis.eu" and grant.refresh_token is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"error": "invalid_code"}, ZohoAuthError),
        ({"error": "invalid_client"}, ZohoAuthError),
        ({"error": "Access Denied", "status": "failure"}, ZohoTokenThrottled),
    ],
)
def test_token_errors_arrive_as_http_200_bodies(body: dict[str, str], error: type) -> None:
    with pytest.raises(error):
        parse_token_response(body, "https://accounts.zoho.com")


def test_throttle_is_retryable_and_bad_code_is_not() -> None:
    assert issubclass(ZohoTokenThrottled, ZohoRetryableError)
    assert not issubclass(ZohoAuthError, ZohoRetryableError)


def test_legacy_milliseconds_expiry() -> None:
    grant = parse_token_response(
        {"access_token": "a", "api_domain": "d", "expires_in": 3600000, "expires_in_sec": 3600}, "x"
    )
    assert grant.expires_in == 3600


async def test_code_exchange_without_refresh_token_explains_offline_access() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            200,
            json={"access_token": "a", "api_domain": "https://www.zohoapis.eu", "expires_in": 3600},
        )
    )
    async with client(transport) as http:
        with pytest.raises(ZohoAuthError, match="access_type=offline"):
            await exchange_grant_code(
                http,
                accounts_url="https://accounts.zoho.eu",
                client_id="c",
                client_secret="s",
                code="x",
            )


def upsert_answer(status: int, body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


async def call_upsert(transport: httpx.MockTransport, n: int = 1) -> list[object]:
    return list((await call_upsert_reply(transport, n)).results)


async def call_upsert_reply(transport: httpx.MockTransport, n: int = 1) -> WriteReply:
    async with client(transport) as http:
        return await upsert(
            http,
            api_domain="https://www.zohoapis.com",
            access_token="t",
            module="Accounts",
            records=[{"Account_Name": "x"}] * n,
            duplicate_check_fields=["Sage_Customer_No"],
        )


async def test_upsert_sends_zoho_oauthtoken_and_external_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "data": [
                    {
                        "code": "SUCCESS",
                        "action": "insert",
                        "details": {"id": "42"},
                        "status": "success",
                    }
                ]
            },
        )

    results = await call_upsert(httpx.MockTransport(handler))
    assert seen[0].headers["Authorization"] == "Zoho-oauthtoken t"
    assert str(seen[0].url) == "https://www.zohoapis.com/crm/v8/Accounts/upsert"
    assert json.loads(seen[0].content)["duplicate_check_fields"] == ["Sage_Customer_No"]
    assert results[0].zoho_id == "42"  # type: ignore[attr-defined]


async def test_per_record_errors_in_a_400_are_results_not_exceptions() -> None:
    body = {
        "data": [
            {
                "code": "MANDATORY_NOT_FOUND",
                "status": "error",
                "message": "required",
                "details": {"api_name": "Account_Name"},
            }
        ]
    }
    [result] = await call_upsert(upsert_answer(400, body))
    assert result.ok is False and result.field == "Account_Name"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"code": "INVALID_TOKEN", "status": "error"}, ZohoTokenInvalid),
        (429, {"code": "TOO_MANY_REQUESTS"}, ZohoRateLimited),
        (503, {"code": "INTERNAL_ERROR"}, ZohoUnavailable),
        (400, {"code": "INVALID_MODULE", "status": "error"}, ZohoModuleUnavailable),
        (400, {"code": "LIMIT_EXCEEDED", "status": "error"}, ZohoRequestError),
    ],
)
async def test_whole_request_errors_map_to_the_tree(status: int, body: object, error: type) -> None:
    with pytest.raises(error):
        await call_upsert(upsert_answer(status, body))


async def test_connection_failure_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ZohoUnavailable):
        await call_upsert(httpx.MockTransport(handler))


async def test_more_than_100_records_is_refused_locally() -> None:
    with pytest.raises(ValueError, match=r"1\.\.100"):
        await call_upsert(upsert_answer(200, {}), n=101)


async def test_credits_remaining_is_read_when_zoho_sends_it() -> None:
    ok = {
        "data": [
            {"code": "SUCCESS", "action": "insert", "details": {"id": "1"}, "status": "success"}
        ]
    }
    with_header = httpx.MockTransport(
        lambda request: httpx.Response(200, json=ok, headers={"X-API-CREDITS-REMAINING": "1234"})
    )
    assert (await call_upsert_reply(with_header)).credits_remaining == 1234
    assert (await call_upsert_reply(upsert_answer(200, ok))).credits_remaining is None


async def test_find_by_external_sends_x_external_and_reads_204_as_missing() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/01-ABF"):
            return httpx.Response(200, json={"data": [{"id": "77", "Account_Name": "x"}]})
        return httpx.Response(204)

    async with client(httpx.MockTransport(handler)) as http:
        found = [
            await find_by_external(
                http,
                api_domain="https://www.zohoapis.eu",
                access_token="t",
                module="Accounts",
                external_field="Sage_Customer_No",
                value=value,
            )
            for value in ("01-ABF", "01-NONE")
        ]
    assert found == ["77", None]
    assert seen[0].headers["X-EXTERNAL"] == "Accounts.Sage_Customer_No"
    assert str(seen[0].url) == "https://www.zohoapis.eu/crm/v8/Accounts/01-ABF"
