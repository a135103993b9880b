"""The consent page of each accounts server: GET {accounts}/oauth/v2/auth (zoho-crm.md §1.1,
§1.2). GET shows what the client asks for and lets the user pick the org (the emulator has no
logins: the user is "an administrator of the chosen org"); POST approves or denies.

Approval redirects to the redirect URI with `code`, `location` and `accounts-server`: the
accounts server of the org's data centre, wherever the page was opened (multi-DC), where the
code must be exchanged. Without access_type=offline the code yields no refresh token.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from zoho_emulator.dcs import accounts_server, is_data_centre
from zoho_emulator.http_common import base_url, oauth_params
from zoho_emulator.state import ZohoState

KEPT = ("scope", "client_id", "response_type", "access_type", "redirect_uri", "state", "prompt")


class ConsentError(Exception):
    """A request Zoho answers with an error page instead of a redirect."""


class ConsentPage:
    def __init__(self, state: ZohoState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        path = "/accounts/{dc}/oauth/v2/auth"
        return [Route(path, self.show, methods=["GET"]), Route(path, self.decide, methods=["POST"])]

    async def show(self, request: Request) -> Response:
        params = dict(request.query_params)
        try:
            redirect_uri = self._checked(request.path_params["dc"], params)
        except ConsentError as exc:
            return _error_page(str(exc))
        return HTMLResponse(self._page(params, redirect_uri, request.query_params.get("org")))

    async def decide(self, request: Request) -> Response:
        params = await oauth_params(request)
        try:
            redirect_uri = self._checked(request.path_params["dc"], params)
        except ConsentError as exc:
            return _error_page(str(exc))
        answer = {"state": params["state"]} if params.get("state") else {}
        if params.get("decision") != "approve":
            return _redirect(redirect_uri, {"error": "access_denied", **answer})
        org = self._state.org(params.get("org", ""))
        grant = self._state.mint_grant_code(
            org.org_id,
            params["client_id"],
            [s.strip() for s in params["scope"].split(",") if s.strip()],
            offline=params.get("access_type") == "offline",
        )
        where = {
            "location": grant.dc,
            "accounts-server": accounts_server(base_url(request), grant.dc),
        }
        return _redirect(redirect_uri, {"code": grant.code, **where, **answer})

    def _checked(self, dc: str, params: dict[str, str]) -> str:
        """The redirect URI to answer to, or why there is none (Zoho shows an error page)."""
        if not is_data_centre(dc):
            raise ConsentError(f"unknown data centre {dc!r}")
        client = self._state.oauth.client(params.get("client_id", ""))
        if client is None or not client.serves(dc):
            raise ConsentError("invalid_client: no such client at this accounts server")
        if params.get("response_type") != "code":
            raise ConsentError("response_type must be code")
        if not params.get("scope"):
            raise ConsentError("scope is missing")
        given = params.get("redirect_uri")
        if client.redirect_uri and given and given != client.redirect_uri:
            raise ConsentError("invalid_redirect_uri: not the one registered for the client")
        redirect_uri = given or client.redirect_uri
        if not redirect_uri:
            raise ConsentError("redirect_uri is missing")
        return redirect_uri

    def _page(self, params: dict[str, str], redirect_uri: str, chosen: str | None) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{escape(params[k])}">'
            for k in KEPT
            if params.get(k)
        )
        orgs = "".join(
            f'<option value="{escape(o.org_id)}"{" selected" if o.org_id == chosen else ""}>'
            f"{escape(o.org_id)} ({o.dc})</option>"
            for o in self._state.orgs()
        )
        scopes = "".join(f"<li>{escape(s)}</li>" for s in params["scope"].split(","))
        offline = params.get("access_type") == "offline"
        return (
            "<!doctype html><html><head><title>Zoho Accounts - consent</title></head><body>"
            f"<h1>{escape(params['client_id'])} would like to access your Zoho CRM</h1>"
            f"<ul>{scopes}</ul>"
            f"<p>{'It keeps access until you revoke it' if offline else 'For one hour'};"
            f" you will return to {escape(redirect_uri)}.</p>"
            f'<form method="post">{hidden}<label>Organization <select name="org">{orgs}'
            '</select></label> <button name="decision" value="approve">Accept</button>'
            ' <button name="decision" value="deny">Reject</button></form></body></html>'
        )


def _redirect(redirect_uri: str, query: dict[str, str]) -> Response:
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(query)}", status_code=302)


def _error_page(message: str) -> Response:
    body = (
        f"<!doctype html><html><body><h1>Invalid request</h1><p>{escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=400)
