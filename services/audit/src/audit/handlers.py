"""Thin handler: store a batch of events, durably, before the offsets are committed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
from mlc_core.kafka import Record
from mlc_core.logging import ctx

from audit.service import to_row
from audit.store import store_rows

log = logging.getLogger(__name__)


async def handle_batch(records: Sequence[Record], *, pool: asyncpg.Pool) -> None:
    rows = [to_row(record) for record in records]
    new = await store_rows(pool, rows)
    log.debug("stored", extra=ctx(received=len(rows), new=new, topic=records[0].topic))
