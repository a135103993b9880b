"""The agent's change feed as an async iterator of pages, one page fetched ahead.

While the poller plans, queues and relays one page, the agent already renders the next: the
two run in different processes (often different machines), so overlapping them roughly halves
an initial poll's wall time. Only one request is ever outstanding, so the agent's snapshot
cursor sees the same sequential reads as without prefetch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from mlc_core.sage.agent import ChangePage, SageAgentClient

from sage_poller.retry import Retrier
from sage_poller.service import PollContext, Stamp


async def change_pages(
    agent: SageAgentClient,
    retrier: Retrier,
    poll: PollContext,
    *,
    since: Stamp | None,
    page_size: int,
) -> AsyncGenerator[ChangePage, None]:
    def fetch(cursor: str | None) -> asyncio.Task[ChangePage]:
        async def one() -> ChangePage:
            return await agent.changes(
                company=poll.company_code,
                entity=poll.entity,
                since=(since.date, since.hours) if since else None,
                cursor=cursor,
                limit=page_size,
                include=poll.include,
            )

        return asyncio.ensure_future(retrier.call("changes", one))

    pending: asyncio.Task[ChangePage] | None = fetch(None)
    try:
        while pending is not None:
            page = await pending
            pending = fetch(page.next_cursor) if page.next_cursor else None
            yield page
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
