"""Kafka plumbing under the faults `make chaos` found: a service started while the broker is down
waits for it (it used to exit, and in the dev stack stayed down), and a partition revoked by a
rebalance while its batch ran does not crash the consumer (it used to: IllegalStateError)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaConnectionError
from mlc_core.consume import consume_forever
from mlc_core.kafka import Record, ensure_topics

from tests.factories import FakeRecord


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


async def test_ensure_topics_keeps_trying_an_unreachable_broker_then_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mlc_core.kafka")
    bootstrap = f"127.0.0.1:{closed_port()}"

    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(ensure_topics(bootstrap, partitions=1, wait_seconds=1.5), 30)

    waits = [r for r in caplog.records if r.getMessage() == "Kafka not reachable yet, waiting"]
    assert len(waits) >= 2


class RebalancedConsumer:
    """Hands out one batch, then loses the partition to a rebalance before it commits."""

    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop
        self.tp = TopicPartition("mlc.sage.changes", 1)
        self.fetches = 0

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[FakeRecord]]:
        self.fetches += 1
        if self.fetches > 1:
            self._stop.set()
            return {}
        return {self.tp: [FakeRecord(b"{}", topic=self.tp.topic, partition=1, offset=7)]}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        raise IllegalStateError(f"Partition {self.tp} is not assigned")


async def test_a_partition_revoked_mid_batch_does_not_stop_the_consumer() -> None:
    stop = asyncio.Event()
    consumer = RebalancedConsumer(stop)
    handled: list[int] = []

    async def handler(records: Sequence[Record]) -> None:
        handled.extend(r.offset for r in records)

    await asyncio.wait_for(consume_forever(consumer, handler, stop=stop), 10)

    assert handled == [7] and consumer.fetches == 2  # kept consuming after the lost commit
