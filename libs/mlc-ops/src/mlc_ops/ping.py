"""Ping: does each part of a tenant's setup work (agent, SOAP, Zoho token, org, modules,
external keys, scopes)? Every check only reads; each failure carries its fix."""

from __future__ import annotations

import httpx
from mlc_core.tenants import Tenant

from mlc_ops.ping_checks import Check, sage_agent, sage_soap
from mlc_ops.ping_zoho import zoho_checks

__all__ = ["Check", "ping"]


async def ping(*, tenant: Tenant, http: httpx.AsyncClient) -> list[Check]:
    sage = [*await sage_agent(http, tenant), *await sage_soap(http, tenant)]
    return [*sage, *await zoho_checks(http, tenant)]
