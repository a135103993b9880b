"""`mlc zoho setup <tenant>`: create the custom modules and fields the mapping needs in Zoho.

Reads the org's modules and fields (settings API), creates what is missing where the edition
allows it through the API (custom modules need Enterprise or above), and prints exact manual
steps for the rest. Entities whose module the edition lacks (e.g. Vendors) are switched off in
the tenant's mapping file (`settings.unavailable`), so they give this one warning instead of an
error per record; AR invoices go to the custom module Sage_Invoices when there is no Invoices
module. Safe to run again: it only adds what is missing. --dry-run changes nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import yaml
from mapper.drafts import EXTERNAL_FIELDS
from mapper.mapfile import parse_map
from mapper.profile import TenantMap
from mapper.store import load_stored, save_map
from mapper.zoho_schema import (
    CUSTOM_MODULES,
    field_instruction,
    missing_fields,
    module_instructions,
    modules_for,
    setup_plan,
)
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.entities.zoho import ZohoField
from mlc_core.tenants import Tenant
from mlc_core.zoho.oauth import refresh_access_token

from mlc_cli.common import database, tenant_or_exit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "setup",
        help="create the custom modules and fields the mapping needs in the tenant's Zoho org",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--all", action="store_true", help="prepare every entity, not only polled")
    cmd.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    cmd.set_defaults(handler=setup_cmd)


class SettingsApi:
    """The few Zoho settings calls setup makes (zoho-crm.md §4.3)."""

    def __init__(self, http: httpx.AsyncClient, api_domain: str, token: str) -> None:
        self._http, self._base = http, f"{api_domain.rstrip('/')}/crm/v8/settings"
        self._headers = {"Authorization": f"Zoho-oauthtoken {token}"}

    async def _call(self, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        response = await self._http.request(
            method, f"{self._base}/{path}", headers=self._headers, **kw
        )
        body = response.json() if response.content else {}
        return response.status_code, body if isinstance(body, dict) else {}

    async def modules(self) -> set[str]:
        status, body = await self._call("GET", "modules")
        if status != 200:
            raise SystemExit(f"mlc: Zoho settings/modules answered {status}: {_why(body)}")
        return {m["api_name"] for m in body.get("modules", [])}

    async def field_names(self, module: str) -> set[str]:
        status, body = await self._call("GET", "fields", params={"module": module})
        if status != 200:
            raise SystemExit(
                f"mlc: Zoho settings/fields?module={module} answered {status}: {_why(body)}"
            )
        return {f["api_name"] for f in body.get("fields", [])}

    async def create_module(self, module: str) -> str | None:
        """None when created, else Zoho's reason."""
        item = {"plural_label": module.replace("_", " "), "singular_label": CUSTOM_MODULES[module]}
        status, body = await self._call(
            "POST", "modules", json={"modules": [item | {"api_name": module}]}
        )
        results = body.get("modules") or [body]
        return None if status < 300 and results[0].get("status") == "success" else _why(results[0])

    async def create_fields(
        self, module: str, specs: list[ZohoField], key: str
    ) -> list[str | None]:
        items = [spec.body(external=spec.api_name == key) for spec in specs]
        _, body = await self._call(
            "POST", "fields", params={"module": module}, json={"fields": items}
        )
        results = body.get("fields")
        if not isinstance(results, list) or len(results) != len(specs):
            return [_why(body)] * len(specs)
        return [None if r.get("status") == "success" else _why(r) for r in results]


def _why(body: dict[str, Any]) -> str:
    return f"{body.get('code', '?')}: {body.get('message', '')} {body.get('details', '')}".strip()


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
    return out


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


async def _api(http: httpx.AsyncClient, tenant: Tenant) -> SettingsApi:
    grant = await refresh_access_token(
        http,
        accounts_url=tenant.config.zoho.accounts_url,
        client_id=tenant.config.zoho.client_id,
        client_secret=tenant.secrets.zoho_client_secret.get_secret_value(),
        refresh_token=tenant.secrets.zoho_refresh_token.get_secret_value(),
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
) -> Outcome:
    tenant = await tenant_or_exit(pool, keyring, tenant_id)
    stored = await load_stored(pool, tenant_id)
    source = stored.source_yaml if stored else ""
    entities = list(Entity) if every_entity else list(tenant.config.entities)
    out = await run_setup(await _api(http, tenant), entities, parse_map(source), dry_run=dry_run)
    if not dry_run:
        revision = await save_map(pool, tenant_id, updated_yaml(source, out))
        out.done.append(
            f"mapping file revision {revision} saved (switched off: "
            f"{', '.join(sorted(out.unavailable)) or 'none'})"
        )
    return out


async def setup_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring), httpx.AsyncClient(timeout=60) as http:
        out = await setup(
            pool, keyring, args.tenant_id, http=http, every_entity=args.all, dry_run=args.dry_run
        )
    print(out.text())
