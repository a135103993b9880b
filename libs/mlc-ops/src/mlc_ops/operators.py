"""The operator audit trail: who did what, when, to which tenant, and how it ended. The console
writes a row for every sign-in and every state-changing request; `mlc audit operators` reads
them. The table (migration 0010) belongs to the operations layer, not to a service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

MAX_DETAIL = 2000


@dataclass(frozen=True)
class OperatorAction:
    at: datetime
    operator: str
    action: str
    tenant_id: str | None
    detail: str
    outcome: str

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "operator": self.operator,
            "action": self.action,
            "tenant_id": self.tenant_id,
            "detail": self.detail,
            "outcome": self.outcome,
        }


async def record(
    *,
    pool: asyncpg.Pool,
    operator: str,
    action: str,
    tenant_id: str | None = None,
    detail: str = "",
    outcome: str = "ok",
) -> None:
    await pool.execute(
        "INSERT INTO operator_actions (operator, action, tenant_id, detail, outcome)"
        " VALUES ($1, $2, $3, $4, $5)",
        operator,
        action,
        tenant_id,
        detail[:MAX_DETAIL],
        outcome[:MAX_DETAIL],
    )


async def recent(
    *, pool: asyncpg.Pool, tenant_id: str | None = None, limit: int = 50
) -> list[OperatorAction]:
    """Newest first; by index whichever way it is asked, so a million rows cost nothing."""
    if tenant_id is None:
        rows = await pool.fetch(
            "SELECT at, operator, action, tenant_id, detail, outcome FROM operator_actions"
            " ORDER BY at DESC LIMIT $1",
            limit,
        )
    else:
        rows = await pool.fetch(
            "SELECT at, operator, action, tenant_id, detail, outcome FROM operator_actions"
            " WHERE tenant_id = $1 ORDER BY at DESC LIMIT $2",
            tenant_id,
            limit,
        )
    return [OperatorAction(**dict(r)) for r in rows]
