"""How many Zoho calls one replica may have in flight for one org.

Zoho allows per org (per app) Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25
simultaneous calls, and 10 for writes of more than 10 records in every edition (zoho-crm.md §5).
Our writes are batches of up to 100, so an org's ceiling is min(edition, 10); split evenly over
the writer replicas so that together they never exceed it. A 429 anyway (another app of the
same org, a replica count set too low) pauses the tenant instead of failing anything.
"""

from __future__ import annotations

import asyncio

CONCURRENCY = {"free": 5, "standard": 10, "professional": 15, "enterprise": 20, "ultimate": 25}
SUB_CONCURRENCY = 10
# Zoho One is sold with Enterprise limits, CRM Plus with Ultimate's (Kaizen #203).
ALIASES = {"starter": "standard", "zoho one": "enterprise", "crm plus": "ultimate"}


def known_edition(name: str | None) -> str | None:
    if not name:
        return None
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    return key if key in CONCURRENCY else None


def slots(edition: str, replicas: int) -> int:
    return max(1, min(CONCURRENCY[edition], SUB_CONCURRENCY) // max(1, replicas))


class TenantLimiter:
    """One semaphore per tenant, sized from its edition (re-sized when the edition changes)."""

    def __init__(self, *, replicas: int) -> None:
        self._replicas = replicas
        self._gates: dict[str, tuple[str, asyncio.Semaphore]] = {}

    def gate(self, tenant_id: str, edition: str) -> asyncio.Semaphore:
        current = self._gates.get(tenant_id)
        if current is None or current[0] != edition:
            current = (edition, asyncio.Semaphore(slots(edition, self._replicas)))
            self._gates[tenant_id] = current
        return current[1]
