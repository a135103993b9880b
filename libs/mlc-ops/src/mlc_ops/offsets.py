"""Consumer-group offset resets for replay ("re-drive everything since Tuesday").

Safe by construction: the plan is computed and shown first; applying it re-checks that the
group has no live member (a running consumer would overwrite the new offsets with its next
commit, and Kafka refuses commits from outside a live group anyway).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from mlc_core.contracts import Topics

from mlc_ops.errors import Refused

GROUP_TOPICS: dict[str, tuple[str, ...]] = {
    "mlc-mapper": (Topics.SAGE_CHANGES.value,),
    "mlc-zoho-writer": (Topics.ZOHO_COMMANDS.value,),
}
# A fresh broker creates its offsets topic lazily: the coordinator lookup fails for a few
# seconds, which is worth waiting out rather than reporting.
COORDINATOR_ATTEMPTS = 20


class GroupBusy(Refused):
    """The group still has members: stop the service's replicas first."""


@dataclass(frozen=True)
class Target:
    earliest: bool = False
    datetime: datetime | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Move:
    topic: str
    partition: int
    current: int | None
    target: int

    @property
    def delta(self) -> int | None:
        return None if self.current is None else self.target - self.current


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    """(state, number of live members) of a consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for attempt in range(COORDINATOR_ATTEMPTS):
            try:
                described = await admin.describe_consumer_groups([group])
                break
            except GroupCoordinatorNotAvailableError:
                if attempt + 1 == COORDINATOR_ATTEMPTS:
                    raise
                await asyncio.sleep(1)
        _, _, state, _, _, members = described[0].groups[0]
        return str(state), len(members)
    finally:
        await admin.close()


async def committed(
    bootstrap: str, group: str
) -> tuple[dict[TopicPartition, int], list[TopicPartition]]:
    """(the group's committed offsets, every partition of the group's topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        topics = await admin.describe_topics(list(GROUP_TOPICS[group]))
    finally:
        await admin.close()
    tps = [
        TopicPartition(t["topic"], p["partition"])
        for t in topics
        for p in sorted(t["partitions"], key=lambda p: int(p["partition"]))
    ]
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}, tps


async def plan(bootstrap: str, group: str, target: Target) -> list[Move]:
    current, tps = await committed(bootstrap, group)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    # A group-less consumer stopped before its background task first ran raises
    # CancelledError from stop() (aiokafka 0.14 on Python 3.11); one loop turn lets it start.
    await asyncio.sleep(0)
    try:
        wanted = await _targets(consumer, tps, target)
    finally:
        await consumer.stop()
    return [Move(tp.topic, tp.partition, current.get(tp), wanted[tp]) for tp in tps]


async def _targets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], target: Target
) -> dict[TopicPartition, int]:
    start = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    if target.offset is not None:
        # clamped into the partition's range, as kafka-consumer-groups does
        return {tp: min(max(target.offset, start[tp]), end[tp]) for tp in tps}
    if target.datetime is not None:
        millis = int(target.datetime.timestamp() * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, millis))
        return {tp: end[tp] if found[tp] is None else found[tp].offset for tp in tps}
    return dict(start)


async def apply(bootstrap: str, group: str, moves: list[Move]) -> None:
    state, members = await group_members(bootstrap, group)
    if members:
        raise GroupBusy(f"group {group} has {members} live member(s) ({state}): stop them first")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = {TopicPartition(m.topic, m.partition): m.target for m in moves}
        consumer.assign(list(tps))
        await consumer.commit(tps)
    finally:
        await consumer.stop()
