"""What every CRM API call goes through: DC, token, injected faults, module, scopes, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from zoho_emulator.dcs import is_data_centre
from zoho_emulator.errors import (
    ApiError,
    authentication_failure,
    internal_error,
    invalid_module,
    invalid_token,
    invalid_url,
    scope_mismatch,
)
from zoho_emulator.faults import ANSWERS, MalformedAnswer
from zoho_emulator.http_common import BodyError, JsonObject, read_json_object
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.oauth import AccessToken, InvalidTokenError, scope_allows
from zoho_emulator.orgs import Org
from zoho_emulator.state import ZohoState

_TOKEN_SCHEME = "zoho-oauthtoken"


@dataclass(frozen=True)
class OrgCall:
    org: Org
    access: AccessToken


@dataclass(frozen=True)
class CrmCall:
    org: Org
    module: ModuleDef
    access: AccessToken


def bearer(request: Request) -> str:
    """`Authorization: Zoho-oauthtoken <token>`; any other form is AUTHENTICATION_FAILURE.

    Whether Zoho also accepts `Bearer` is unconfirmed (§1.3); it is refused here.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != _TOKEN_SCHEME or not token.strip():
        raise authentication_failure()
    return token.strip()


async def json_body(request: Request) -> JsonObject:
    try:
        return await read_json_object(request)
    except BodyError as exc:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"reason": str(exc)}) from exc


class Gate:
    def __init__(self, state: ZohoState) -> None:
        self._state = state

    async def open_org(self, request: Request) -> OrgCall:
        """Authenticate and apply the org's injected error faults."""
        dc = request.path_params["dc"]
        if not is_data_centre(dc):
            raise invalid_url()
        token = bearer(request)
        org_id = self._state.oauth.org_of(token)
        if org_id is not None:
            self._fault_status(org_id)
            self._fault_answer(org_id)
        try:
            access = self._state.oauth.authenticate(dc, token)
        except InvalidTokenError:
            raise invalid_token() from None
        return OrgCall(self._state.org(access.org_id), access)

    async def open_module(self, request: Request, *operations: str) -> CrmCall:
        """As open_org, then the module (of this edition) and the module scopes."""
        call = await self.open_org(request)
        module = call.org.module(request.path_params["module"])
        if module is None:
            raise invalid_module()
        if not all(scope_allows(call.access.scopes, module.api_name, op) for op in operations):
            raise scope_mismatch()
        call.org.stats.calls[module.api_name] += 1
        return CrmCall(call.org, module, call.access)

    @asynccontextmanager
    async def admitted(
        self, org: Org, cost: int = 1, *, heavy: bool = False
    ) -> AsyncIterator[None]:
        """Hold a concurrency slot (and credits) for the call; latency is spent holding it."""
        org.limits.enter(cost, heavy=heavy)
        try:
            latency = self._state.faults.latency_seconds(org.org_id)
            if latency:
                await asyncio.sleep(latency)
            yield
        finally:
            org.limits.leave(heavy=heavy)

    @staticmethod
    def respond(org: Org, response: Response) -> Response:
        response.headers.update(org.limits.credits_header())
        return response

    def _fault_answer(self, org_id: str) -> None:
        answer = self._state.faults.take_answer(org_id)
        if answer is not None:
            self._state.org(org_id).stats.faulted_calls += 1
            raise MalformedAnswer(ANSWERS[answer])

    def _fault_status(self, org_id: str) -> None:
        status = self._state.faults.take_status(org_id)
        if status is not None:
            self._state.org(org_id).stats.faulted_calls += 1
            raise internal_error(status)
