"""The Zoho reads and metadata calls operators' tools make (mlc_core.zoho.records listing and
read by external key, mlc_core.zoho.metadata): requests as Zoho documents them, answers parsed,
every failure one class of the ZohoError tree."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from mlc_core.zoho import metadata
from mlc_core.zoho.errors import (
    ZohoRateLimited,
    ZohoRequestError,
    ZohoScopeError,
    ZohoUnavailable,
)
from mlc_core.zoho.oauth import access_token_context
from mlc_core.zoho.records import get_by_external, list_records

API = "https://www.zohoapis.eu"
AUTH = {"api_domain": API, "access_token": "tok"}
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_listing_follows_page_then_page_token_and_stops_when_no_more() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        n = len(seen)
        info = {"more_records": n < 3, "next_page_token": f"t{n}" if n >= 2 else None}
        return httpx.Response(200, json={"data": [{"id": str(n)}], "info": info})

    async with client(handler) as http:
        pages = [p async for p in list_records(http, **AUTH, module="Accounts", fields=["A", "B"])]
    assert [p[0]["id"] for p in pages] == ["1", "2", "3"]
    first, second, third = (r.url.params for r in seen)
    assert first["page"] == "1" and first["fields"] == "A,B" and first["per_page"] == "200"
    assert second["page"] == "2" and "page_token" not in second
    # past Zoho's 2,000-record page limit: page_token only, never page beside it
    assert third["page_token"] == "t2" and "page" not in third
    assert seen[0].headers["Authorization"] == "Zoho-oauthtoken tok"
    assert str(seen[0].url).startswith(f"{API}/crm/v8/Accounts?")


async def test_listing_an_empty_module_yields_nothing() -> None:
    async with client(lambda _: httpx.Response(204)) as http:
        pages = [p async for p in list_records(http, **AUTH, module="Accounts", fields=["A"])]
    assert pages == []


async def test_listing_refuses_more_fields_than_zoho_takes() -> None:
    async with client(lambda _: httpx.Response(204)) as http:
        with pytest.raises(ValueError, match="fields"):
            await anext(list_records(http, **AUTH, module="M", fields=[f"F{i}" for i in range(51)]))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"code": "TOO_MANY_REQUESTS"}, ZohoRateLimited),
        (401, {"code": "OAUTH_SCOPE_MISMATCH"}, ZohoScopeError),
        (400, {"code": "LIMIT_EXCEEDED"}, ZohoRequestError),
        (503, None, ZohoUnavailable),
    ],
)
async def test_listing_failures_are_the_error_tree(
    status: int, body: object, error: type[Exception]
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if body else httpx.Response(status)

    async with client(handler) as http:
        with pytest.raises(error):
            await anext(list_records(http, **AUTH, module="Accounts", fields=["A"]))


async def test_transport_failure_is_unavailable_and_names_the_domain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(handler) as http:
        with pytest.raises(ZohoUnavailable, match=r"zohoapis\.eu"):
            await metadata.org(http, **AUTH)


async def test_read_by_external_key_sends_x_external_and_returns_the_record() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/01-NONE"):
            return httpx.Response(204)
        return httpx.Response(200, json={"data": [{"id": "9", "Sage_Customer_No": "01-A"}]})

    async with client(handler) as http:
        found = await get_by_external(
            http, **AUTH, module="Accounts", external_field="Sage_Customer_No", value="01-A"
        )
        missing = await get_by_external(
            http, **AUTH, module="Accounts", external_field="Sage_Customer_No", value="01-NONE"
        )
    assert found == {"id": "9", "Sage_Customer_No": "01-A"} and missing is None
    assert seen[0].headers["X-EXTERNAL"] == "Accounts.Sage_Customer_No"
    assert seen[0].url.path == "/crm/v8/Accounts/01-A"


async def test_org_reads_name_edition_and_credits() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        body = {"org": [{"company_name": "Acme", "license_details": {"paid_type": "Enterprise"}}]}
        return httpx.Response(200, json=body, headers={"X-API-CREDITS-REMAINING": "812"})

    async with client(handler) as http:
        org = await metadata.org(http, **AUTH)
    assert org == metadata.Org("Acme", "enterprise", 812)


async def test_modules_and_fields_say_what_exists_and_which_keys_are_external() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/settings/modules"):
            modules = [{"api_name": "Accounts"}, {"api_name": "Home", "api_supported": False}]
            return httpx.Response(200, json={"modules": modules})
        assert request.url.params["module"] == "Accounts"
        fields = [{"api_name": "Name"}, {"api_name": "Key", "external": {"type": "org"}}]
        return httpx.Response(200, json={"fields": fields})

    async with client(handler) as http:
        modules = await metadata.modules(http, **AUTH)
        fields = await metadata.fields(http, **AUTH, module="Accounts")
    assert modules == [metadata.ModuleInfo("Accounts", True), metadata.ModuleInfo("Home", False)]
    assert fields == [metadata.FieldInfo("Name", None), metadata.FieldInfo("Key", "org")]


async def test_create_returns_a_result_per_item_and_a_refused_call_raises() -> None:
    answers = iter(
        [
            httpx.Response(
                207,
                json={
                    "fields": [
                        {"status": "success", "code": "SUCCESS", "details": {"id": "1"}},
                        {"status": "error", "code": "DUPLICATE_DATA", "message": "dup"},
                    ]
                },
            ),
            httpx.Response(400, json={"code": "NOT_SUPPORTED", "message": "needs Enterprise"}),
        ]
    )
    async with client(lambda _: next(answers)) as http:
        results = await metadata.create_fields(
            http, **AUTH, module="Accounts", items=[{"api_name": "A"}, {"api_name": "B"}]
        )
        with pytest.raises(ZohoRequestError, match="NOT_SUPPORTED"):
            await metadata.create_modules(http, **AUTH, items=[{"api_name": "M"}])
    assert [r.ok for r in results] == [True, False] and results[1].code == "DUPLICATE_DATA"


def test_the_token_context_is_per_tenant() -> None:
    assert access_token_context("a") != access_token_context("b")
    assert access_token_context("a") == "tenant:a:zoho-access-token"  # stored rows use it
