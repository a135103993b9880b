"""The Zoho host allow-list: credentials go only to Zoho's data-centre hosts, over HTTPS."""

from __future__ import annotations

import httpx
import pytest
from mlc_core.zoho.hosts import ZohoHostRefused, ZohoHosts, is_loopback
from mlc_core.zoho.oauth import refresh_access_token

ZOHO_ONLY = ZohoHosts(allowed_hosts="")


@pytest.mark.parametrize(
    "url",
    ["https://accounts.zoho.eu", "https://accounts.zohocloud.ca/", "https://accounts.zoho.com"],
)
def test_zoho_accounts_servers_are_allowed(url: str) -> None:
    assert ZOHO_ONLY.check_accounts_url(url) == url


@pytest.mark.parametrize(
    "url",
    ["https://www.zohoapis.com", "https://www.zohoapis.com.au", "https://sandbox.zohoapis.eu"],
)
def test_zoho_api_domains_are_allowed(url: str) -> None:
    assert ZOHO_ONLY.check_api_domain(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://accounts.zoho.com.evil.example", "not one of Zoho's data-centre hosts"),
        ("https://www.zohoapis.com", "not one of Zoho's"),  # an API host is no accounts server
        ("http://accounts.zoho.com", "must use HTTPS"),
        ("ftp://accounts.zoho.com", "not an http"),
        ("accounts.zoho.com", "not an http"),
    ],
)
def test_other_accounts_urls_are_refused_naming_the_tenant(url: str, why: str) -> None:
    with pytest.raises(ZohoHostRefused, match=why) as refused:
        ZOHO_ONLY.check_accounts_url(url, tenant_id="acme")
    assert str(refused.value).startswith("tenant acme: ")
    assert refused.value.code == "HOST_NOT_ALLOWED"


def test_the_setting_adds_hosts_and_plain_http_only_on_loopback() -> None:
    hosts = ZohoHosts(allowed_hosts="127.0.0.1, proxy.corp:8443,zoho.test")
    assert hosts.check_api_domain("http://127.0.0.1:18200/api/eu")
    assert hosts.check_accounts_url("https://proxy.corp:8443/accounts")
    with pytest.raises(ZohoHostRefused, match="not one of"):
        hosts.check_accounts_url("https://proxy.corp:9999")  # only the port listed
    with pytest.raises(ZohoHostRefused, match="must use HTTPS"):
        hosts.check_accounts_url("http://zoho.test")  # listed, but not loopback
    with pytest.raises(ZohoHostRefused, match="not one of"):
        ZOHO_ONLY.check_api_domain("http://127.0.0.1:18200")  # loopback is not itself allowed
    compose = ZohoHosts(allowed_hosts="http://zoho-emulator:18200")
    assert compose.check_accounts_url("http://zoho-emulator:18200/accounts/us")
    with pytest.raises(ZohoHostRefused, match="must use HTTPS"):
        compose.check_accounts_url("http://zoho-emulator:18300/accounts/us")


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("zoho.test")


async def test_a_token_naming_an_unlisted_api_domain_is_refused_naming_tenant_and_host() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"access_token": "1000.a", "api_domain": "https://api.evil.example"}
        return httpx.Response(200, json=body | {"expires_in": 3600})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(ZohoHostRefused) as refused:
            await refresh_access_token(
                http,
                accounts_url="https://accounts.zoho.eu",
                client_id="c",
                client_secret="s",
                refresh_token="r",
                hosts=ZOHO_ONLY,
                tenant_id="acme",
            )
    assert "tenant acme" in str(refused.value) and "https://api.evil.example" in str(refused.value)


async def test_an_unlisted_accounts_server_is_never_sent_the_secret() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(ZohoHostRefused, match=r"accounts\.evil\.example"):
            await refresh_access_token(
                http,
                accounts_url="https://accounts.evil.example",
                client_id="c",
                client_secret="s",
                refresh_token="r",
                hosts=ZOHO_ONLY,
            )
    assert sent == []
