"""`mlc ping`'s Zoho half: token refresh, api_domain, scopes, edition, modules, key fields."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from mapper.admin import TenantMap, written_fields
from mlc_core.entities.zoho import ZOHO_TARGETS
from mlc_core.tenants import Tenant
from mlc_core.zoho import metadata
from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoPermanentError,
    ZohoRateLimited,
    ZohoTokenThrottled,
    ZohoUnavailable,
)
from mlc_core.zoho.oauth import TokenGrant, refresh_access_token

from mlc_ops.ping_checks import Check, fail, ok, unreachable_fix

# Module and upsert key per entity (mlc_core.entities.zoho), and the keys also matched: without
# those fields Zoho refuses every upsert of the entity, so ping names them before a sync does.
TARGETS: dict[str, tuple[str, str]] = {
    str(entity): (target.module, target.upsert_key) for entity, target in ZOHO_TARGETS.items()
}
ALSO_NEEDED: dict[str, list[tuple[str, str]]] = {
    str(entity): [(target.module, key) for key in target.second_keys]
    for entity, target in ZOHO_TARGETS.items()
}
ALWAYS_REPORTED = ("Vendors", "Invoices")  # edition-dependent; worth knowing before a sale
RECONNECT = "run `mlc zoho connect {tenant} --dc {dc}`"


@dataclass
class ZohoProbe:
    """Read-only calls with one fresh access token; remembers refused scopes."""

    http: httpx.AsyncClient
    grant: TokenGrant
    scope_refused: list[str] = field(default_factory=list)
    credits_left: int | None = None
    _fields: dict[str, list[metadata.FieldInfo]] = field(default_factory=dict)

    async def fields(self, module: str) -> list[metadata.FieldInfo]:
        """The module's fields, read once per ping."""
        if module not in self._fields:
            self._fields[module] = await metadata.fields(self.http, **self.auth, module=module)
        return self._fields[module]

    @property
    def auth(self) -> dict[str, str]:
        return {"api_domain": self.grant.api_domain, "access_token": self.grant.access_token}

    def refused(self, what: str, exc: ZohoError) -> None:
        if exc.code == "OAUTH_SCOPE_MISMATCH":
            self.scope_refused.append(what)


async def refresh(http: httpx.AsyncClient, tenant: Tenant) -> tuple[TokenGrant | None, Check]:
    zoho = tenant.config.zoho
    hint = RECONNECT.format(tenant=tenant.tenant_id, dc=zoho.dc)
    try:
        grant = await refresh_access_token(
            http,
            accounts_url=zoho.accounts_url,
            client_id=zoho.client_id,
            client_secret=tenant.secrets.zoho_client_secret.get_secret_value(),
            refresh_token=tenant.secrets.zoho_refresh_token.get_secret_value(),
        )
    except ZohoTokenThrottled as exc:
        return None, fail("zoho", "token refresh", str(exc), "wait 10 minutes, then ping again")
    except ZohoAuthError as exc:
        return None, fail("zoho", "token refresh", str(exc), hint)
    except ZohoError as exc:
        return None, fail(
            "zoho", "token refresh", str(exc), unreachable_fix(zoho.accounts_url, exc)
        )
    return grant, ok("zoho", "token refresh", f"at {zoho.accounts_url} ({zoho.dc})")


async def zoho_checks(
    http: httpx.AsyncClient, tenant: Tenant, tenant_map: TenantMap | None = None
) -> list[Check]:
    grant, refreshed = await refresh(http, tenant)
    if grant is None:
        return [refreshed]
    probe = ZohoProbe(http, grant)
    checks = [refreshed, _api_domain(tenant, grant)]
    try:
        checks += [await _org(probe, tenant), *await _modules_and_keys(probe, tenant)]
        checks += await mapped_field_checks(probe, tenant, tenant_map)
    except ZohoUnavailable as exc:
        url = grant.api_domain
        return [
            *checks,
            fail("zoho", "CRM API reachable", f"{url}: {exc!r}", unreachable_fix(url, exc)),
        ]
    return [*checks, _scopes(probe, tenant), _credits(probe)]


def _api_domain(tenant: Tenant, grant: TokenGrant) -> Check:
    stored = tenant.config.zoho.api_domain
    if stored and stored.rstrip("/") != grant.api_domain.rstrip("/"):
        detail = f"{grant.api_domain} (was {stored}: the org moved; the writer follows it)"
        return ok("zoho", "api_domain", detail)
    return ok("zoho", "api_domain", grant.api_domain)


async def _org(probe: ZohoProbe, tenant: Tenant) -> Check:
    try:
        found = await metadata.org(probe.http, **probe.auth)
    except (ZohoPermanentError, ZohoRateLimited) as exc:
        probe.refused("org", exc)
        detail = f"GET /crm/v8/org answered {exc.status} {exc.code or ''}".strip()
        return fail("zoho", "org and edition", detail, _fix(exc, tenant, "ZohoCRM.org.READ"))
    probe.credits_left = found.credits_remaining
    edition = found.edition or "unknown"
    return ok("zoho", "org and edition", f"{found.company_name or '?'}: {edition}")


async def _modules_and_keys(probe: ZohoProbe, tenant: Tenant) -> list[Check]:
    try:
        listed = await metadata.modules(probe.http, **probe.auth)
    except (ZohoPermanentError, ZohoRateLimited) as exc:
        probe.refused("settings/modules", exc)
        fix = _fix(exc, tenant, "ZohoCRM.settings.modules.READ")
        return [fail("zoho", "modules", f"settings/modules answered {exc.status}", fix)]
    present = {m.api_name for m in listed if m.api_supported}
    needed = list(
        dict.fromkeys(
            [TARGETS[e] for e in tenant.config.entities if e in TARGETS]
            + [n for e in tenant.config.entities for n in ALSO_NEEDED.get(e, [])]
        )
    )
    checks = [_modules_check(present, list(dict.fromkeys(m for m, _ in needed)))]
    for module, key in needed:
        if module in present:
            checks.append(await _key_field(probe, tenant, module, key))
    return checks


def _modules_check(present: set[str], needed: list[str]) -> Check:
    missing = [m for m in needed if m not in present]
    extra = ", ".join(f"{m} {'yes' if m in present else 'no'}" for m in ALWAYS_REPORTED)
    if missing:
        fix = "a higher edition, or leave those entities out (`mlc sage set --entities`)"
        return fail("zoho", "modules", f"missing: {', '.join(missing)} ({extra})", fix)
    return ok("zoho", "modules", f"{', '.join(needed)} present ({extra})")


async def _key_field(probe: ZohoProbe, tenant: Tenant, module: str, key: str) -> Check:
    name = f"external key {module}.{key}"
    try:
        listed = await probe.fields(module)
    except (ZohoPermanentError, ZohoRateLimited) as exc:
        probe.refused("settings/fields", exc)
        fix = _fix(exc, tenant, "ZohoCRM.settings.fields.READ")
        return fail("zoho", name, f"settings/fields answered {exc.status}", fix)
    found = next((f for f in listed if f.api_name == key), None)
    create = (
        f"`mlc zoho setup {tenant.tenant_id}`, or in Zoho: Setup > Modules and Fields >"
        f" {module}: add a text field {key}"
    )
    if found is None:
        return fail("zoho", name, "field missing", f"{create}, marked External (org)")
    if found.external_type is None:
        return fail("zoho", name, "field exists but is not external", f"{create} as External")
    return ok("zoho", name, f"present, external ({found.external_type})")


async def mapped_field_checks(
    probe: ZohoProbe, tenant: Tenant, tenant_map: TenantMap | None
) -> list[Check]:
    """Every field the tenant's mapping writes must exist in its module: Zoho ignores a field
    it does not have, so a missing one would be left empty in every record, silently."""
    try:
        present = {m.api_name for m in await metadata.modules(probe.http, **probe.auth)}
    except (ZohoPermanentError, ZohoRateLimited):
        return []  # the modules check reports it
    wanted: dict[str, dict[str, None]] = {}
    for entity in tenant.config.entities:
        if tenant_map is not None and not tenant_map.enabled(entity):
            continue
        for module, written in written_fields(entity, tenant_map or TenantMap()).items():
            wanted.setdefault(module, {}).update(dict.fromkeys(written))
    checks = []
    for module, names in wanted.items():
        if module not in present:
            continue  # reported by the modules check
        try:
            have = {f.api_name for f in await probe.fields(module)}
        except (ZohoPermanentError, ZohoRateLimited) as exc:
            probe.refused("settings/fields", exc)
            continue  # the key-field check reports the refusal
        checks.append(_mapped_fields_check(tenant, module, [n for n in names if n not in have]))
    return checks


def _mapped_fields_check(tenant: Tenant, module: str, missing: list[str]) -> Check:
    name = f"mapped fields {module}"
    if not missing:
        return ok("zoho", name, "every mapped field present")
    fix = (
        f"`mlc zoho setup {tenant.tenant_id}` creates them; fields added in the tenant's"
        f" mapping file: add them in Zoho (Setup > Modules and Fields > {module})"
    )
    return fail("zoho", name, f"not in Zoho, would stay empty: {', '.join(missing)}", fix)


def _fix(exc: ZohoError, tenant: Tenant, scope: str) -> str:
    if exc.code == "OAUTH_SCOPE_MISMATCH":
        return _scope_fix(tenant, scope)
    return f"Zoho said {exc.code or 'nothing readable'}: retry; if it stays, see status.zoho.com"


def _scope_fix(tenant: Tenant, scope: str) -> str:
    reconnect = RECONNECT.format(tenant=tenant.tenant_id, dc=tenant.config.zoho.dc)
    return f"the grant lacks {scope}: {reconnect} (its default scopes include it)"


def _scopes(probe: ZohoProbe, tenant: Tenant) -> Check:
    if probe.scope_refused:
        refused = ", ".join(probe.scope_refused)
        return fail("zoho", "scopes", f"refused for {refused}", _scope_fix(tenant, "those scopes"))
    return ok("zoho", "scopes", "org, modules and fields readable")


def _credits(probe: ZohoProbe) -> Check:
    left = probe.credits_left
    return ok(
        "zoho", "API credits", f"{left} left" if left is not None else "over half of today's left"
    )
