"""Ping: does each part of a tenant's setup work (agent, SOAP, Zoho token, org, modules,
external keys, scopes)? Every check only reads; each failure carries its fix."""

from __future__ import annotations

import httpx
from mapper.admin import TenantMap
from mlc_core.tenants import Tenant

from mlc_ops.ping_checks import Check, sage_agent, sage_soap
from mlc_ops.ping_zoho import zoho_checks

__all__ = ["Check", "ping"]


async def ping(
    *, tenant: Tenant, http: httpx.AsyncClient, tenant_map: TenantMap | None = None
) -> list[Check]:
    """`tenant_map`: the tenant's mapping (mapper.admin.MapCache), whose fields must exist in
    Zoho; None checks the default mapping's."""
    sage = [*await sage_agent(http, tenant), *await sage_soap(http, tenant)]
    return [*sage, *await zoho_checks(http, tenant, tenant_map)]
