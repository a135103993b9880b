"""Accounts server face: {base}/accounts/{dc}/oauth/v2/... (zoho-crm.md §1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoho_emulator.dcs import DATA_CENTRES, accounts_server, api_domain, is_data_centre
from zoho_emulator.http_common import base_url, oauth_params
from zoho_emulator.oauth import IssuedTokens, TokenEndpointError
from zoho_emulator.state import ZohoState


def _token_body(issued: IssuedTokens, request: Request) -> dict[str, object]:
    """Exact shapes of §1.3: a refresh response has api_domain but no refresh_token."""
    body: dict[str, object] = {"access_token": issued.access_token}
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    body |= {
        "api_domain": api_domain(base_url(request), issued.api_dc),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    }
    return body


class AccountsApi:
    def __init__(self, state: ZohoState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        base = "/accounts/{dc}/oauth"
        return [
            Route(f"{base}/v2/token", self.token, methods=["POST"]),
            Route(f"{base}/v2/token/revoke", self.revoke, methods=["POST"]),
            Route(f"{base}/serverinfo", self.server_info, methods=["GET"]),
        ]

    async def token(self, request: Request) -> Response:
        """Failures are HTTP 200 with an error body, like the real server (§1.4)."""
        dc = request.path_params["dc"]
        if not is_data_centre(dc):
            return JSONResponse({"error": "invalid_dc"}, 404)
        params = await oauth_params(request)
        oauth = self._state.oauth
        try:
            grant_type = params.get("grant_type")
            if grant_type == "authorization_code":
                issued = oauth.exchange_code(dc, params)
            elif grant_type == "refresh_token":
                issued = oauth.refresh(dc, params)
            else:
                # Not in the reference; the OAuth 2.0 RFC's name for it.
                raise TokenEndpointError({"error": "unsupported_grant_type"})
        except TokenEndpointError as exc:
            return JSONResponse(exc.body, 200)
        return JSONResponse(_token_body(issued, request))

    async def revoke(self, request: Request) -> Response:
        """Unknown tokens give HTTP 400 (§1.2); the body is not documented."""
        dc = request.path_params["dc"]
        token = (await oauth_params(request)).get("token", "")
        if is_data_centre(dc) and self._state.oauth.revoke(dc, token):
            return JSONResponse({"status": "success"})
        return JSONResponse({"status": "failure", "error": "invalid_token"}, 400)

    async def server_info(self, request: Request) -> Response:
        """Location -> accounts server map, like GET accounts.zoho.com/oauth/serverinfo."""
        base = base_url(request)
        locations = {dc: accounts_server(base, dc) for dc in DATA_CENTRES}
        return JSONResponse({"result": "success", "locations": locations})
