"""Zoho setup (`mlc zoho setup <tenant>`): create the custom modules and fields the mapping
needs in the tenant's Zoho org.

Reads the org's modules and fields (settings API), creates what is missing where the edition
allows it through the API (custom modules need Enterprise or above), and prints exact manual
steps for the rest. Entities whose module the edition lacks (e.g. Vendors) are switched off in
the tenant's mapping file (`settings.unavailable`), so they give this one warning instead of an
error per record; AR invoices go to the custom module Sage_Invoices when there is no Invoices
module. Safe to run again: it only adds what is missing. --dry-run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
import httpx
import yaml
from mapper.admin import (
    CUSTOM_MODULES,
    EXTERNAL_FIELDS,
    TenantMap,
    field_instruction,
    load_stored,
    missing_fields,
    module_instructions,
    modules_for,
    parse_map,
    save_map,
    setup_plan,
    written_fields,
)
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.entities.zoho import ZohoField
from mlc_core.tenants import Tenant, load_tenant
from mlc_core.zoho import metadata
from mlc_core.zoho.errors import ZohoRequestError
from mlc_core.zoho.hosts import ZohoHosts
from mlc_core.zoho.oauth import refresh_access_token
from mlc_core.zoho.records import RecordResult


class SettingsApi:
    """The Zoho settings calls setup makes, with one access token (mlc_core.zoho.metadata)."""

    def __init__(self, http: httpx.AsyncClient, api_domain: str, token: str) -> None:
        self._http, self._auth = http, {"api_domain": api_domain, "access_token": token}

    async def modules(self) -> set[str]:
        return {m.api_name for m in await metadata.modules(self._http, **self._auth)}

    async def field_names(self, module: str) -> set[str]:
        found = await metadata.fields(self._http, **self._auth, module=module)
        return {f.api_name for f in found}

    async def create_module(self, module: str) -> str | None:
        """None when created, else Zoho's reason (e.g. the edition allows no custom module)."""
        item = {"plural_label": module.replace("_", " "), "singular_label": CUSTOM_MODULES[module]}
        try:
            [result] = await metadata.create_modules(
                self._http, **self._auth, items=[item | {"api_name": module}]
            )
        except ZohoRequestError as exc:
            return str(exc)
        return _why(result)

    async def create_fields(
        self, module: str, specs: list[ZohoField], key: str
    ) -> list[str | None]:
        items = [spec.body(external=spec.api_name == key) for spec in specs]
        try:
            results = await metadata.create_fields(
                self._http, **self._auth, module=module, items=items
            )
        except ZohoRequestError as exc:
            return [str(exc)] * len(specs)
        return [_why(r) for r in results]


def _why(result: RecordResult) -> str | None:
    return None if result.ok else f"{result.code or '?'}: {result.message or ''}".strip()


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unavailable: set[Entity] = field(default_factory=set)
    invoice_module: str = "Invoices"

    def text(self) -> str:
        parts = [*self.done, *(f"WARNING: {w}" for w in self.warnings)]
        if self.manual:
            parts += ["Do by hand in Zoho (the API cannot here):", *(f"  {m}" for m in self.manual)]
        return "\n".join(parts or ["nothing to do: the org has every module and field needed"])


async def run_setup(
    api: SettingsApi, entities: list[Entity], tenant_map: TenantMap, *, dry_run: bool
) -> Outcome:
    the_plan = setup_plan(entities, await api.modules(), tenant_map.settings.invoice_module)
    out = Outcome(warnings=list(the_plan.warnings), invoice_module=the_plan.invoice_module)
    out.unavailable.update(the_plan.unavailable)
    for module in the_plan.create_modules:
        error = None if dry_run else await api.create_module(module)
        if error is None:
            out.done.append(f"{'would create' if dry_run else 'created'} module {module}")
            continue
        out.manual += [f"({error})", *module_instructions(module)]
        out.unavailable.update(e for e in entities if module in modules_for(e, out.invoice_module))
    wanted = [e for e in entities if e not in out.unavailable]
    for module in the_plan.modules_needed(wanted):
        if dry_run and module in the_plan.create_modules:
            continue
        await _fields(api, module, entities, out, dry_run=dry_run)
    if not dry_run:
        await _unwritable(api, wanted, tenant_map, out)
    return out


async def _unwritable(
    api: SettingsApi, entities: list[Entity], tenant_map: TenantMap, out: Outcome
) -> None:
    """Fields the tenant's mapping writes that the org still lacks (its own added fields,
    ones Zoho refused to create): Zoho would drop their values, so each is a step to do."""
    written: dict[str, dict[str, None]] = {}
    for entity in entities:
        if tenant_map.enabled(entity):
            for module, fields in written_fields(entity, tenant_map).items():
                written.setdefault(module, {}).update(dict.fromkeys(fields))
    present = await api.modules()
    for module, names in written.items():
        if module not in present:
            continue
        have = await api.field_names(module)
        for name in (n for n in names if n not in have):
            out.manual.append(
                f"{module}.{name} is mapped but not in Zoho (its values would stay empty):"
                f" In Zoho CRM: Setup > Customization > Modules and Fields > {module} > add the"
                f" field; its API name must be {name}"
            )


async def _fields(
    api: SettingsApi, module: str, entities: list[Entity], out: Outcome, *, dry_run: bool
) -> None:
    specs = missing_fields(module, await api.field_names(module))
    if not specs:
        return
    key = EXTERNAL_FIELDS[module]
    errors = [None] * len(specs) if dry_run else await api.create_fields(module, specs, key)
    for spec, error in zip(specs, errors, strict=True):
        if error is None:
            out.done.append(
                f"{'would create' if dry_run else 'created'} field {module}.{spec.api_name}"
            )
            continue
        out.manual.append(field_instruction(module, spec) + f"  ({error})")
        if spec.api_name == key:  # no upsert key: writes would fail record by record
            out.unavailable.update(
                e for e in entities if modules_for(e, out.invoice_module)[0] == module
            )


async def _api(http: httpx.AsyncClient, tenant: Tenant, hosts: ZohoHosts | None) -> SettingsApi:
    grant = await refresh_access_token(
        http,
        accounts_url=tenant.config.zoho.accounts_url,
        client_id=tenant.config.zoho.client_id,
        client_secret=tenant.secrets.zoho_client_secret.get_secret_value(),
        refresh_token=tenant.secrets.zoho_refresh_token.get_secret_value(),
        hosts=hosts,
        tenant_id=tenant.tenant_id,
    )
    return SettingsApi(http, grant.api_domain, grant.access_token)


def updated_yaml(source: str, out: Outcome) -> str:
    """The tenant's mapping file with setup's findings (comments in it are not kept)."""
    data = yaml.safe_load(source) or {}
    settings = data.setdefault("settings", {})
    settings["unavailable"] = sorted(str(e) for e in out.unavailable)
    settings["invoice_module"] = out.invoice_module
    return yaml.safe_dump(data, sort_keys=False)


async def setup(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    *,
    http: httpx.AsyncClient,
    every_entity: bool = False,
    dry_run: bool = False,
    hosts: ZohoHosts | None = None,
) -> Outcome:
    """Raises mlc_core.tenants.TenantNotFound, or a mlc_core.zoho ZohoError when Zoho refuses
    a whole call (token, scopes, reachability)."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    stored = await load_stored(pool, tenant_id)
    source = stored.source_yaml if stored else ""
    entities = list(Entity) if every_entity else list(tenant.config.entities)
    out = await run_setup(
        await _api(http, tenant, hosts), entities, parse_map(source), dry_run=dry_run
    )
    if not dry_run:
        revision = await save_map(pool, tenant_id, updated_yaml(source, out))
        out.done.append(
            f"mapping file revision {revision} saved (switched off: "
            f"{', '.join(sorted(out.unavailable)) or 'none'})"
        )
    return out
