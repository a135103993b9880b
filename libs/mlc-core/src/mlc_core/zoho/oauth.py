"""Zoho Accounts: grant-code exchange and access-token refresh at a data centre.

Zoho answers most token failures with HTTP 200 and an `error` key, so the body decides, not the
status. The refresh response carries `api_domain`, the host every CRM call must go to.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoTokenThrottled,
    ZohoUnavailable,
)

ACCOUNTS_SERVERS = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "cn": "https://accounts.zoho.com.cn",
    "ca": "https://accounts.zohocloud.ca",
    "sa": "https://accounts.zoho.sa",
}


def access_token_context(tenant_id: str) -> str:
    """Associated data sealing a tenant's stored access token: a ciphertext copied to another
    tenant's row, or to another column, does not decrypt. The writer stores the token with it;
    whoever reads or re-encrypts that column uses this same function."""
    return f"tenant:{tenant_id}:zoho-access-token"


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: float
    api_domain: str
    refresh_token: str | None = None


async def refresh_access_token(
    http: httpx.AsyncClient,
    *,
    accounts_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> TokenGrant:
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    return await _token_call(http, accounts_url, form)


async def exchange_grant_code(
    http: httpx.AsyncClient,
    *,
    accounts_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None = None,
) -> TokenGrant:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    grant = await _token_call(http, accounts_url, form)
    if grant.refresh_token is None:
        raise ZohoAuthError("Zoho returned no refresh token: authorize with access_type=offline")
    return grant


async def _token_call(
    http: httpx.AsyncClient, accounts_url: str, form: dict[str, str]
) -> TokenGrant:
    url = f"{accounts_url.rstrip('/')}/oauth/v2/token"
    try:
        response = await http.post(url, data=form, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ZohoUnavailable(f"accounts server {accounts_url} unreachable: {exc}") from exc
    if response.status_code >= 500:
        raise ZohoUnavailable(
            f"accounts server answered {response.status_code}", status=response.status_code
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise ZohoUnavailable(f"accounts server sent non-JSON ({response.status_code})") from exc
    return parse_token_response(body, accounts_url)


def parse_token_response(body: dict[str, object], accounts_url: str) -> TokenGrant:
    error = body.get("error")
    if error == "Access Denied":
        raise ZohoTokenThrottled(
            "Zoho refused a token refresh: too many in 10 minutes", code="Access Denied"
        )
    if error:
        raise ZohoAuthError(_auth_hint(str(error), accounts_url), code=str(error))
    if "access_token" not in body or "api_domain" not in body:
        raise ZohoError("token response lacks access_token or api_domain")
    # Up to 2019 Zoho sent expires_in in milliseconds alongside expires_in_sec.
    expires = body.get("expires_in_sec", body.get("expires_in", 3600))
    refresh = body.get("refresh_token")
    return TokenGrant(
        access_token=str(body["access_token"]),
        expires_in=float(str(expires)),
        api_domain=str(body["api_domain"]),
        refresh_token=str(refresh) if refresh else None,
    )


def _auth_hint(error: str, accounts_url: str) -> str:
    hints = {
        "invalid_code": "grant code or refresh token is expired, used, revoked or from another DC",
        "invalid_client": f"client id unknown at {accounts_url}: wrong data centre?",
        "invalid_client_secret": "client secret is wrong",
        "invalid_redirect_uri": "redirect URI does not match the one registered",
    }
    hint = hints.get(error, "see Zoho's token error list")
    return f"Zoho accounts server refused the token request: {error} ({hint})"
