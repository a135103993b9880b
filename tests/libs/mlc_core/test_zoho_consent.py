"""OAuth setup helpers: authorization URL, redirect parsing, exchange where the redirect says."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from mlc_core.zoho.consent import (
    ConsentError,
    authorization_url,
    exchange_redirect,
    redirect_grant,
)
from mlc_core.zoho.hosts import ZohoHosts
from zoho_emulator.app import create_app
from zoho_emulator.state import ZohoState

BASE = "http://127.0.0.1"


def test_authorization_url_asks_for_offline_access_with_consent() -> None:
    url = authorization_url(
        dc="eu", client_id="1000.ABC", redirect_uri="https://mlc.example/cb", state="s1"
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.zoho.eu/oauth/v2/auth"
    )
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["response_type"] == "code" and query["state"] == "s1"
    scopes = query["scope"].split(",")  # commas, not spaces
    assert "ZohoCRM.modules.ALL" not in scopes and "ZohoCRM.settings.ALL" not in scopes
    assert {"ZohoCRM.modules.accounts.ALL", "ZohoCRM.modules.salesorders.ALL"} <= set(scopes)
    assert {"ZohoCRM.modules.custom.ALL", "ZohoCRM.settings.fields.ALL"} <= set(scopes)
    assert "ZohoCRM.org.READ" in scopes and not any(s.startswith("ZohoSearch") for s in scopes)


def test_redirect_names_the_accounts_server_and_foreign_ones_are_refused() -> None:
    eu = "https://mlc.example/cb?code=1000.x&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu"
    grant = redirect_grant(eu, default_dc="us")
    assert (grant.code, grant.accounts_server, grant.location) == (
        "1000.x",
        "https://accounts.zoho.eu",
        "eu",
    )
    assert redirect_grant("https://cb?code=c", default_dc="in").accounts_server == (
        "https://accounts.zoho.in"
    )
    with pytest.raises(ConsentError, match="not one of Zoho's data-centre hosts"):
        redirect_grant("https://cb?code=c&accounts-server=https://evil.example", default_dc="us")
    with pytest.raises(ConsentError, match="state"):
        redirect_grant("https://cb?code=c&state=other", default_dc="us", state="mine")
    with pytest.raises(ConsentError, match="access_denied"):
        redirect_grant("https://cb?error=access_denied", default_dc="us")


async def test_code_is_exchanged_at_the_redirects_accounts_server() -> None:
    state = ZohoState()
    state.add_client("1000.ABC", "secret")
    state.add_org("900", "eu")
    code = state.mint_grant_code("900", "1000.ABC").code
    server = f"{BASE}/accounts/eu"
    redirect = "https://mlc.example/cb?" + urlencode(
        {"code": code, "location": "eu", "accounts-server": server}
    )
    grant = redirect_grant(redirect, default_dc="us", hosts=ZohoHosts(allowed_hosts="127.0.0.1"))
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        token = await exchange_redirect(
            http,
            grant,
            client_id="1000.ABC",
            client_secret="secret",
            redirect_uri="https://mlc.example/cb",
            hosts=ZohoHosts(allowed_hosts="127.0.0.1"),
        )
    assert token.refresh_token and token.api_domain == f"{BASE}/api/eu"
