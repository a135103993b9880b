"""consume_combined and its linger, against a scripted consumer (the real broker:
tests/services/zoho_writer/test_writer_fill_live.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from mlc_core.consume import Linger, consume_combined
from mlc_core.kafka import Backoff, Record

from tests.factories import FakeRecord

TOPIC = "mlc.zoho.commands"
Fetch = dict[TopicPartition, list[FakeRecord]]


def tp(partition: int) -> TopicPartition:
    return TopicPartition(TOPIC, partition)


def recs(partition: int, start: int, n: int) -> list[FakeRecord]:
    return [
        FakeRecord(b"{}", key=b"t|e|k", topic=TOPIC, partition=partition, offset=start + i)
        for i in range(n)
    ]


class ScriptedConsumer:
    """Answers each getmany with the next scripted fetch; `None` is a wait with nothing (for the
    caller's whole timeout); past the script's end, short waits with nothing (`run` stops the
    loop once every scripted record was handled, or soon after the end if some never are)."""

    def __init__(self, stop: asyncio.Event, script: list[Fetch | None]) -> None:
        self._stop, self._script = stop, list(script)
        self.scripted = {
            (r.partition, r.offset) for f in script if f for v in f.values() for r in v
        }
        self.ended_at: float | None = None
        self.timeouts: list[float] = []
        self.max_records: list[int | None] = []
        self.commits: list[dict[TopicPartition, int]] = []
        self.assigned = {tp(p) for p in range(6)}
        self.fail_commit = False
        self._group_id = "test"

    async def getmany(self, timeout_ms: float = 0, max_records: int | None = None) -> Fetch:
        self.timeouts.append(timeout_ms)
        self.max_records.append(max_records)
        if not self._script:
            self.ended_at = self.ended_at or time.monotonic()
            await asyncio.sleep(min(timeout_ms, 20) / 1000)
            return {}
        step = self._script.pop(0)
        if step is None:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        return step

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def highwater(self, partition: TopicPartition) -> int | None:
        return None

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail_commit:
            raise CommitFailedError("rebalanced")
        self.commits.append(dict(offsets))


async def until(check: Callable[[], bool]) -> None:
    while True:
        if check():
            return
        await asyncio.sleep(0.005)


def always(records: Sequence[Record]) -> bool:
    return True


async def run(
    consumer: ScriptedConsumer, stop: asyncio.Event, linger: Linger | None, fail_first: int = 0
) -> list[list[tuple[int, int]]]:
    calls: list[list[tuple[int, int]]] = []
    handled: set[tuple[int, int]] = set()

    async def handler(records: Sequence[Record]) -> None:
        calls.append([(r.partition, r.offset) for r in records])
        if len(calls) <= fail_first:
            raise RuntimeError("PostgreSQL went away")
        handled.update(calls[-1])

    async def stop_when_done() -> None:
        while not stop.is_set():
            ended = consumer.ended_at
            if ended and (handled >= consumer.scripted or time.monotonic() - ended > 0.3):
                stop.set()
            await asyncio.sleep(0.005)

    stopper = asyncio.create_task(stop_when_done())
    await asyncio.wait_for(
        consume_combined(
            consumer, handler, stop=stop, linger=linger, backoff=Backoff(base=0.01, cap=0.02)
        ),
        10,
    )
    await stopper
    return calls


async def test_every_partition_of_a_fetch_goes_to_one_handler_call_then_all_are_committed() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 5, 2), tp(3): recs(3, 9, 1)}])

    calls = await run(consumer, stop, linger=None)

    assert calls == [[(0, 5), (0, 6), (3, 9)]]
    assert consumer.commits == [{tp(0): 7, tp(3): 10}]


async def test_a_failure_retries_the_whole_combined_batch_and_commits_only_after() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 2), tp(1): recs(1, 0, 1)}])

    calls = await run(consumer, stop, linger=None, fail_first=2)

    assert len(calls) == 3 and calls[0] == calls[1] == calls[2]
    assert consumer.commits == [{tp(0): 2, tp(1): 1}]  # once, after the call that returned


async def test_a_partition_revoked_meanwhile_is_left_to_its_new_owner() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 1), tp(1): recs(1, 0, 1)}])
    consumer.assigned = {tp(1)}

    await run(consumer, stop, linger=None)

    assert consumer.commits == [{tp(1): 1}]


async def test_a_lost_commit_does_not_stop_the_consumer() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 1)}, {tp(0): recs(0, 1, 1)}])
    consumer.fail_commit = True

    calls = await run(consumer, stop, linger=None)

    assert calls == [[(0, 0)], [(0, 1)]]


async def test_the_linger_adds_what_follows_until_nothing_more_is_wanted() -> None:
    stop = asyncio.Event()
    script: list[Fetch | None] = [
        {tp(0): recs(0, 0, 40)},
        {tp(1): recs(1, 0, 30)},
        {tp(0): recs(0, 40, 30)},  # 100 now: the linger ends here
        {tp(2): recs(2, 0, 5)},  # the next batch
    ]
    consumer = ScriptedConsumer(stop, script)

    def partial(records: Sequence[Record]) -> bool:
        return len(records) % 100 != 0

    linger = Linger(wants_more=partial, quiet_ms=200, max_ms=1000, max_records=5000)
    calls = await run(consumer, stop, linger)

    assert [len(c) for c in calls[:1]] == [100]
    assert [p for p, _ in calls[0]].count(0) == 70  # partition 0's two fetches, in order
    assert [o for p, o in calls[0] if p == 0] == list(range(70))
    assert consumer.commits[0] == {tp(0): 70, tp(1): 30}


async def test_the_linger_ends_after_its_quiet_time_without_records() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 3)}, None, {tp(0): recs(0, 3, 1)}])
    linger = Linger(wants_more=always, quiet_ms=100, max_ms=5000, max_records=5000)

    started = time.monotonic()
    calls = await run(consumer, stop, linger)

    assert calls[0] == [(0, 0), (0, 1), (0, 2)]  # the record after the quiet gap: next batch
    assert calls[1] == [(0, 3)]
    assert consumer.timeouts[1] == pytest.approx(100, abs=20)
    assert time.monotonic() - started < 2


async def test_the_linger_never_passes_its_bound_while_records_keep_coming() -> None:
    stop = asyncio.Event()
    trickle: list[Fetch | None] = [{tp(0): recs(0, i, 1)} for i in range(400)]
    consumer = ScriptedConsumer(stop, trickle)

    async def slow_getmany(timeout_ms: float = 0, max_records: int | None = None) -> Fetch:
        await asyncio.sleep(0.01)  # a record every 10 ms: never quiet for 100 ms
        return await ScriptedConsumer.getmany(consumer, timeout_ms, max_records)

    consumer.getmany = slow_getmany  # type: ignore[method-assign]
    linger = Linger(wants_more=always, quiet_ms=100, max_ms=300, max_records=5000)

    calls = await run(consumer, stop, linger)

    assert 10 < len(calls[0]) < 40  # about 300 ms of 10 ms records, then the batch went out
    lingering = consumer.timeouts[1 : len(calls[0])]  # the fetches that added to batch one
    assert lingering and max(lingering) <= 100.5  # each waited at most the quiet time


async def test_the_linger_stops_at_max_records_and_asks_only_for_what_fits() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 6)}, {tp(1): recs(1, 0, 4)}])
    linger = Linger(wants_more=always, quiet_ms=1000, max_ms=5000, max_records=10)

    calls = await run(consumer, stop, linger)

    assert len(calls[0]) == 10
    assert consumer.max_records[1] == 4  # 10 in all, 6 already there


async def test_an_empty_fetch_never_lingers() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{}, {}, {tp(0): recs(0, 0, 100)}])
    linger = Linger(wants_more=always, quiet_ms=1000, max_ms=5000, max_records=5000)

    started = time.monotonic()
    calls = await run(consumer, stop, linger)

    assert calls == [[(0, i) for i in range(100)]]
    assert consumer.timeouts[:3] == [500, 500, 500]  # plain fetches, no linger after the empty
    assert time.monotonic() - started < 3


async def test_a_stop_ends_the_linger_and_the_fetched_records_are_still_handled() -> None:
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 3)}, None, None, None])

    async def stopped_meanwhile(timeout_ms: float = 0, max_records: int | None = None) -> Fetch:
        fetched = await ScriptedConsumer.getmany(consumer, timeout_ms, max_records)
        stop.set()  # SIGTERM arrives with the first fetch
        return fetched

    consumer.getmany = stopped_meanwhile  # type: ignore[method-assign]
    linger = Linger(wants_more=always, quiet_ms=1000, max_ms=5000, max_records=5000)
    started = time.monotonic()
    calls = await run(consumer, stop, linger)

    assert calls == [[(0, 0), (0, 1), (0, 2)]]
    assert consumer.commits == [{tp(0): 3}]
    assert len(consumer.timeouts) == 1 and time.monotonic() - started < 0.5  # no linger fetch


async def test_the_next_batch_is_fetched_while_one_is_handled_and_handled_after_its_commit() -> (
    None
):
    stop = asyncio.Event()
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 1)}, {tp(1): recs(1, 0, 1)}])
    release, events = asyncio.Event(), []

    async def handler(records: Sequence[Record]) -> None:
        events.append(("handled", [(r.partition, r.offset) for r in records]))
        if len(events) == 1:
            await release.wait()  # batch one is still being written

    async def watch() -> None:
        await until(lambda: len(consumer.timeouts) >= 2)  # fetched while batch one is held
        events.append(("fetched ahead", len(consumer.commits)))
        release.set()
        await until(lambda: len(consumer.commits) >= 2)
        stop.set()

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(consume_combined(consumer, handler, stop=stop), 10)
    await watcher

    assert events == [
        ("handled", [(0, 0)]),
        ("fetched ahead", 0),  # fetched before batch one was committed
        ("handled", [(1, 0)]),
    ]
    assert consumer.commits == [{tp(0): 1}, {tp(1): 1}]  # in order, one batch at a time


async def test_a_batch_fetched_ahead_leaves_partitions_revoked_meanwhile() -> None:
    stop = asyncio.Event()
    fetch_two = {tp(1): recs(1, 0, 1), tp(2): recs(2, 0, 1)}
    consumer = ScriptedConsumer(stop, [{tp(0): recs(0, 0, 1)}, fetch_two])
    calls: list[list[tuple[int, int]]] = []

    async def handler(records: Sequence[Record]) -> None:
        calls.append([(r.partition, r.offset) for r in records])
        if len(calls) == 1:
            await until(lambda: len(consumer.timeouts) >= 2)
            consumer.assigned = {tp(0), tp(1)}  # partition 2 moved to another member
        else:
            stop.set()

    await asyncio.wait_for(consume_combined(consumer, handler, stop=stop), 10)

    assert calls == [[(0, 0)], [(1, 0)]]
    assert consumer.commits == [{tp(0): 1}, {tp(1): 1}]
