"""The poller's settings (MLC_* environment) and what is built from them."""

from __future__ import annotations

from mlc_core.settings import CommonSettings
from mlc_core.supervise import RestartBackoff
from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from sage_poller.deps import PollOptions
from sage_poller.handlers import DEFAULT_PAGE_SIZE
from sage_poller.pacing import BacklogReader, Pacer
from sage_poller.schedule import SchedulePolicy


class PollerSettings(CommonSettings):
    # Bounded types, so a negative pace or a zero interval stops the poller at start with the
    # setting's name, instead of a pacer that never waits or a loop that polls without pause.

    # One interval for every entity when set (dev stacks, tests); otherwise the per-entity
    # defaults in schedule.py, each overridable in MLC_POLL_INTERVALS ('{"ap_vendor": 1800}').
    poll_interval_seconds: PositiveFloat | None = None
    poll_intervals: dict[str, PositiveFloat] = {}
    reconcile_interval_seconds: PositiveFloat = 3600.0
    poll_overlap_seconds: NonNegativeFloat = 120.0
    poll_page_size: PositiveInt = DEFAULT_PAGE_SIZE
    poll_attempts: PositiveInt = 5
    tenant_refresh_seconds: PositiveFloat = 30.0
    # The most events waiting for the mapper and the writer before a poll's later pages wait
    # (pacing.py); 0 turns pacing off. It is also a load's deepest depth in flight: the
    # writer's batch and the one it fetches ahead share it, so at 2,000 its batches held about
    # 600 commands (a call or two per wave of Zoho's 10) and, at 300 ms Zoho latency,
    # `make bench`'s load ran at 947 records/s with the poller waiting on the pacer. At 6,000
    # batches fill toward the writer's 5,000, but the load still waited on the cap: 1,111
    # records/s against 1,354 at 10,000, with the same cores busy; beside 1,000 polling
    # tenants the bound by time (below) stays under either, and their write stage held
    # (docs/benchmark.md).
    poll_pace_backlog: NonNegativeInt = 10000
    # Below that cap the bound is this many seconds of the pipeline's measured pace (0: the cap
    # alone), since seconds are what another tenant's edit waits behind a load. Alone at 300 ms
    # the pipeline does about 2,700 events/s (a record is an event for each group), so 3 s is
    # about 8,000; beside 1,000 polling tenants it measured median 1,280 events/s, so the
    # bound settled near 3,000 and their write stage went from p90 7.9 s (the cap alone) to
    # 3.3-4.0 s (docs/benchmark.md).
    poll_pace_seconds: NonNegativeFloat = 3.0
    # PostgreSQL connections. Every tenant's loop shares them, and a poll's page holds one
    # while Kafka acknowledges its events (the outbox relay's lock spans the publish). At 5,
    # under an initial load beside 1,000 polling tenants, small tenants' polls waited median
    # 7 s (up to 39 s) for a connection, most of their time off Sage; at 16 none of them was
    # more than 1 s off Sage (docs/benchmark.md).
    poller_db_pool_size: PositiveInt = 16

    def schedule_policy(self) -> SchedulePolicy:
        return SchedulePolicy(
            overrides=dict(self.poll_intervals),
            every=self.poll_interval_seconds,
            reconcile_every=self.reconcile_interval_seconds,
        )

    def pacer(self, reader: BacklogReader) -> Pacer | None:
        if not self.poll_pace_backlog:
            return None
        seconds = self.poll_pace_seconds or None
        return Pacer(reader, max_backlog=self.poll_pace_backlog, seconds=seconds)

    def poll_options(self) -> PollOptions:
        return PollOptions(
            overlap_seconds=self.poll_overlap_seconds,
            page_size=self.poll_page_size,
            attempts=self.poll_attempts,
        )

    def restart_backoff(self) -> RestartBackoff:
        # A tenant's loop that crashed (PostgreSQL or Kafka restarting, its outbox refused)
        # tries again within seconds, and while the outage lasts no less often than the
        # tenant list is refreshed: the same wait an idle tenant has between checks.
        return RestartBackoff(base=1.0, cap=self.tenant_refresh_seconds)
