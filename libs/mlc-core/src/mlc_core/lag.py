"""Consumer lag: how many events wait for a consumer group (end offsets minus committed ones).

Two readers use it: `mlc status` (every group, once) and the poller's pacing of bulk pages
(the groups between the poller and Zoho, every half second; sage_poller/pacing.py), so the
clients are kept open between reads. A group with no member (`Empty`, `Dead`) is reported by
`lag` but left out of `active_lag`: nobody consumes it, so waiting for it cannot help.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from mlc_core.contracts import Topics
from mlc_core.kafka import client_options
from mlc_core.settings import KafkaSecurity

# The consumer groups on the path from the poller to Zoho, and the topic each consumes.
PIPELINE_GROUPS: Mapping[str, Topics] = {
    "mlc-mapper": Topics.SAGE_CHANGES,
    "mlc-zoho-writer": Topics.ZOHO_COMMANDS,
}
_IDLE_STATES = {"Empty", "Dead"}


@dataclass(frozen=True)
class Progress:
    """Groups' events still waiting, and the events they have done (their committed offsets
    summed): two readings' `done` apart over their time is the groups' pace."""

    waiting: int
    done: int


class LagReader:
    """Reads consumer groups' lag over one admin client and one group-less consumer."""

    def __init__(self, bootstrap: str, *, security: KafkaSecurity | None = None) -> None:
        options = client_options(security)
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=10_000, **options
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, **options
        )
        self._partitions: dict[str, list[TopicPartition]] = {}
        # One reading at a time: concurrent requests on aiokafka's admin client were seen to
        # answer a group's description wrongly (a live group read as memberless).
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._admin.start()
        await self._consumer.start()

    async def close(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def lag(self, groups: Mapping[str, Topics | None]) -> dict[str, int]:
        """Events waiting per group; a topic of None means every topic of ours."""
        async with self._lock:
            return await self._lag(groups)

    async def active_lag(self, groups: Mapping[str, Topics | None]) -> int:
        """Events waiting for the groups that have a member now, summed."""
        return (await self.active_progress(groups)).waiting

    async def active_progress(self, groups: Mapping[str, Topics | None]) -> Progress:
        """Events waiting for the groups that have a member now, and every group's events done
        (a memberless group's committed offsets do not move, so its `done` adds no pace)."""
        async with self._lock:
            active = {g for g in groups if await self._has_members(g)}
            offsets = await self._offsets(groups)
        waiting = sum(lag for g, (lag, _) in offsets.items() if g in active)
        return Progress(waiting=waiting, done=sum(done for _, done in offsets.values()))

    async def _lag(self, groups: Mapping[str, Topics | None]) -> dict[str, int]:
        return {group: lag for group, (lag, _) in (await self._offsets(groups)).items()}

    async def _offsets(self, groups: Mapping[str, Topics | None]) -> dict[str, tuple[int, int]]:
        """Per group: (events waiting, events done)."""
        if not groups:
            return {}
        topics = {str(t) for t in groups.values()} if None not in groups.values() else set(Topics)
        partitions = await self._topic_partitions(sorted(topics))
        ends = await self._consumer.end_offsets([tp for tps in partitions.values() for tp in tps])
        return {
            group: await self._group_offsets(group, topic, partitions, ends)
            for group, topic in groups.items()
        }

    async def _topic_partitions(self, topics: list[str]) -> dict[str, list[TopicPartition]]:
        """Only the topics asked for: the poller may describe no others (`mlc kafka acls`)."""
        missing = [t for t in topics if t not in self._partitions]
        if missing:  # partitions are only ever added by `mlc kafka`: read each topic once
            for d in await self._admin.describe_topics(missing):
                parts = d["partitions"]
                self._partitions[d["topic"]] = [
                    TopicPartition(d["topic"], p["partition"]) for p in parts
                ]
        return {t: self._partitions[t] for t in topics if t in self._partitions}

    async def _has_members(self, group: str) -> bool:
        try:
            responses = await self._admin.describe_consumer_groups([group])
        except GroupCoordinatorNotAvailableError:
            return False
        described: list[Any] = [g for r in responses for g in r.groups]
        # DescribeGroups' group entries: (error_code, group_id, state, protocol_type, ...).
        return any(entry[2] not in _IDLE_STATES for entry in described)

    async def _group_offsets(
        self,
        group: str,
        topic: str | None,
        partitions: dict[str, list[TopicPartition]],
        ends: dict[TopicPartition, int],
    ) -> tuple[int, int]:
        wanted = [tp for t, tps in partitions.items() if topic in (None, t) for tp in tps]
        try:
            committed = await self._admin.list_consumer_group_offsets(group, partitions=wanted)
        except GroupCoordinatorNotAvailableError:
            committed = {}  # no group has committed anything on this cluster yet
        done = {tp: max(0, getattr(committed.get(tp), "offset", -1)) for tp in wanted}
        lag = sum(max(0, ends.get(tp, 0) - done[tp]) for tp in wanted)
        return lag, sum(done.values())
