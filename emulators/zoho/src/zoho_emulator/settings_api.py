"""Org and metadata face: /crm/v8/org, /crm/v8/settings/modules, /crm/v8/settings/fields.

Shapes follow Zoho's OpenAPI (modules.json, fields.json) for the properties the
emulator knows; scopes as §1.6 (settings.modules / settings.fields / settings.ALL,
org.READ).  Creating a custom module needs Enterprise or above (§4.3) and costs
500 credits (§5).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoho_emulator.catalog import CUSTOM_MODULE_EDITIONS
from zoho_emulator.errors import ApiError, invalid_module, scope_mismatch
from zoho_emulator.gate import Gate, OrgCall, json_body
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.metadata_views import field_view, module_view
from zoho_emulator.oauth import org_scope_allows, settings_scope_allows
from zoho_emulator.orgs import Org
from zoho_emulator.settings_writes import create_field, create_module
from zoho_emulator.state import ZohoState
from zoho_emulator.validation import JsonDict

CUSTOM_MODULE_COST = 500
Build = Callable[[], JsonDict]


def _items(body: JsonDict, key: str) -> list[object]:
    items = body.get(key)
    if not isinstance(items, list) or not items:
        details = {"api_name": key, "json_path": f"$.{key}"}
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", details)
    return items


def _status(results: list[JsonDict], all_ok: int) -> int:
    ok = sum(1 for r in results if r.get("status") == "success")
    return all_ok if ok == len(results) else (400 if ok == 0 else 207)


class SettingsApi:
    def __init__(self, state: ZohoState) -> None:
        self._state = state
        self._gate = Gate(state)

    def routes(self) -> list[Route]:
        base = "/api/{dc}/crm/v8"
        return [
            Route(f"{base}/org", self.org, methods=["GET"]),
            Route(f"{base}/settings/modules", self.modules, methods=["GET"]),
            Route(f"{base}/settings/modules", self.add_modules, methods=["POST"]),
            Route(f"{base}/settings/modules/{{api_name}}", self.module, methods=["GET"]),
            Route(f"{base}/settings/fields", self.fields, methods=["GET"]),
            Route(f"{base}/settings/fields", self.add_fields, methods=["POST"]),
        ]

    async def org(self, request: Request) -> Response:
        call = await self._gate.open_org(request)
        if not org_scope_allows(call.access.scopes):
            raise scope_mismatch()
        return await self._answer(call, lambda: {"org": [_org_view(call.org)]})

    async def modules(self, request: Request) -> Response:
        call = await self._open(request, "modules", "READ")
        views = [module_view(m, i) for i, m in enumerate(call.org.available_modules(), 1)]
        return await self._answer(call, lambda: {"modules": views})

    async def module(self, request: Request) -> Response:
        call = await self._open(request, "modules", "READ")
        module = call.org.module(request.path_params["api_name"])
        if module is None:
            raise invalid_module()
        view = module_view(module, 1) | {"fields": [field_view(f) for f in module.fields.values()]}
        return await self._answer(call, lambda: {"modules": [view]})

    async def add_modules(self, request: Request) -> Response:
        call = await self._open(request, "modules", "CREATE")
        if call.org.edition not in CUSTOM_MODULE_EDITIONS:
            raise ApiError(
                400,
                "NOT_SUPPORTED",
                "creating custom modules through the API needs Enterprise or above",
                {"edition": call.org.edition},
            )
        items = _items(await json_body(request), "modules")
        async with self._gate.admitted(call.org, CUSTOM_MODULE_COST * len(items)):
            results = [create_module(call.org, i, item) for i, item in enumerate(items)]
        body = JSONResponse({"modules": results}, _status(results, 201))
        return self._gate.respond(call.org, body)

    async def fields(self, request: Request) -> Response:
        call = await self._open(request, "fields", "READ")
        module = self._module_param(call.org, request)
        views = [field_view(f) for f in module.fields.values()]
        return await self._answer(call, lambda: {"fields": views})

    async def add_fields(self, request: Request) -> Response:
        call = await self._open(request, "fields", "CREATE")
        module = self._module_param(call.org, request)
        items = _items(await json_body(request), "fields")
        async with self._gate.admitted(call.org):
            targets = frozenset(m.api_name for m in call.org.available_modules())
            results = [create_field(module, i, item, targets) for i, item in enumerate(items)]
        body = JSONResponse({"fields": results}, _status(results, 201))
        return self._gate.respond(call.org, body)

    async def _open(self, request: Request, resource: str, operation: str) -> OrgCall:
        call = await self._gate.open_org(request)
        if not settings_scope_allows(call.access.scopes, resource, operation):
            raise scope_mismatch()
        return call

    async def _answer(self, call: OrgCall, build: Build) -> Response:
        async with self._gate.admitted(call.org):
            body = build()
        return self._gate.respond(call.org, JSONResponse(body))

    @staticmethod
    def _module_param(org: Org, request: Request) -> ModuleDef:
        name = request.query_params.get("module")
        if not name:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "module"},
            )
        module = org.module(name)
        if module is None:
            raise invalid_module()
        return module


def _org_view(org: Org) -> JsonDict:
    """GET /crm/v8/org: the org's identity and licence (edition) as Zoho reports them."""
    return {
        "id": org.user.id[:-6] + "000001",
        "zgid": org.org_id,
        "company_name": f"{org.org_id} (emulated)",
        "domain_name": f"org{org.org_id}",
        "primary_email": org.user.email,
        "time_zone": org.zone.key,
        "iso_code": "USD",
        "currency_symbol": "$",
        "country_code": org.dc.upper(),
        "type": "production",
        "license_details": {
            "paid": org.edition != "free",
            "paid_type": org.edition,
            "users_license_purchased": org.limits.users,
            "trial_type": None,
            "paid_expiry": None,
        },
    }
