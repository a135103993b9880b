"""The writer's settings (MLC_* environment), and the policies built from them: the one place
the tunable numbers have defaults, and where each says why it is what it is."""

from __future__ import annotations

from mlc_core.settings import CommonSettings

from zoho_writer.deps import RetryPolicy, WritePolicy
from zoho_writer.hold_policy import HoldPolicy
from zoho_writer.limiter import CONCURRENCY
from zoho_writer.tokens import REFRESH_BUDGET


class WriterSettings(CommonSettings):
    # Quick tries of a 5xx or a timeout before a retryable failed outcome (RetryPolicy).
    writer_attempts: int = 4
    # The edition assumed when Zoho does not say (no ZohoCRM.org.READ scope); Free is the
    # smallest, so the writer never exceeds any org's limits by assuming it.
    writer_default_edition: str = "free"
    # Zoho sends no Retry-After (zoho-crm.md §5). A concurrency 429 clears once the org's calls
    # in flight finish (seconds), but another app of the same org may hold them: 30 s lets
    # them finish without a burst of probes. Each pause that follows without a successful
    # write in between doubles (30 s, 1, 2, 4, 8 min) up to 15 min, so a tenant limited all
    # day costs about 4 probes an hour, and one that recovers is written within 15 minutes.
    writer_pause_seconds: float = 30.0
    writer_pause_cap_seconds: float = 900.0
    # Credits come back as Zoho's rolling 24 h window moves, not in seconds: wait 15 minutes,
    # then probe with one batch (10 credits) rather than spend what refills on refusals.
    writer_credit_pause_seconds: float = 900.0
    # A missing parent is usually a second behind (written from another partition, often by
    # another replica, during an initial load): the first retry after 1 s (the drain's next
    # tick), doubling (capped at 10 min); 40 tries span over 5 hours, then the child fails
    # (retryable, dead letter) for a person to look at. 5 s cost a 4-replica load half its time.
    writer_parent_retry_seconds: float = 1.0
    writer_parent_attempts: int = 40
    writer_drain_interval_seconds: float = 2.0
    # Records per batch (a fetch and its linger, every partition): more records per pass means
    # fuller 100-record calls and more of them in flight at once (up to the org's concurrency).
    writer_max_poll_records: int = 5000
    # After a fetch, the consumer keeps fetching while a tenant's commands do not fill whole
    # 100-record calls (fill.py), so one change set spread over every partition goes out in
    # full calls: until no command came for WRITER_LINGER_MS, and never past
    # WRITER_LINGER_MAX_MS after the first fetch. Measured (bench calls_per_change, 2-core
    # machine shared with other work, load 10-18): the mapper publishes one poll's 1,000 changed
    # customers over 0.7-1.7 s, at most 290 ms apart; 500 ms of quiet ends a burst with margin,
    # and is all a lone change waits on top of its poll interval (seconds to minutes). The bound
    # covers a burst spread like those; a stream that never pauses is written every 2 s. A
    # backlog never waits: a fetch of WRITER_MAX_POLL_RECORDS is written at once. 0: no linger.
    writer_linger_ms: float = 500.0
    writer_linger_max_ms: float = 2000.0
    # One Zoho call, all of it (connect, wait, read): an upsert of 100 records answers in a few
    # seconds; 30 s is far past a slow moment yet lets a hanging org cost little. A timeout is
    # a 5xx-like blip: retried quickly, then the tenant is paused (HoldReason.ZOHO_UNAVAILABLE).
    zoho_timeout_seconds: float = 30.0
    # A tenant's share of a drain pass, all calls and retries: past it the tenant is paused
    # as too slow and its unwritten commands parked again. The drain runs tenants on their own
    # and holds no partition, so this only bounds one tenant's slot: a full drain pass (1,000
    # commands) on a Free org (5 calls at a time) is 2 rounds of calls; 120 s allows a slow
    # moment without pausing a tenant that is only slow-ish.
    writer_share_deadline_seconds: float = 120.0
    # A tenant's share of a consumed batch, counted while it waits on its own org (its call
    # slots, token, Zoho's answers and retries): the consumer fetches again only once every
    # tenant's share is done, so this is what one tenant costs the others' next changes.
    # 3 s keeps healthy tenants' change latency (a quiet 2-4 s) within twice itself when a
    # batch meets a slow org (measured: docs/chaos.md, noisy neighbour; 6 s broke it). It is
    # about one call of 100 records at Zoho's usual speed, and cheap to pass: a tenant with an
    # answered call is busy, not slow; the rest of its share goes to the drain (every 2 s)
    # with no pause. One without an answer is paused as too slow, circuit open, and later
    # batches park it without calling Zoho. Time on PostgreSQL or this process's CPU is not
    # counted: on a loaded machine every share of a batch ends late alike, and counting it cut
    # healthy tenants by the batch (bench fairness: 209 paused while Zoho answered in 300 ms).
    writer_batch_wait_seconds: float = 3.0
    # Token refreshes per tenant per 10 minutes, all replicas together (Zoho allows 10).
    writer_refresh_budget: int = REFRESH_BUDGET

    def policy(self) -> WritePolicy:
        if self.writer_default_edition not in CONCURRENCY:
            raise ValueError(f"MLC_WRITER_DEFAULT_EDITION must be one of {sorted(CONCURRENCY)}")
        return WritePolicy(
            parent_retry_seconds=self.writer_parent_retry_seconds,
            parent_attempts=self.writer_parent_attempts,
            default_edition=self.writer_default_edition,
            call_timeout_seconds=self.zoho_timeout_seconds,
            share_deadline_seconds=self.writer_share_deadline_seconds,
            batch_wait_seconds=self.writer_batch_wait_seconds,
        )

    def hold_policy(self) -> HoldPolicy:
        return HoldPolicy(
            pause_seconds=self.writer_pause_seconds,
            pause_cap_seconds=self.writer_pause_cap_seconds,
            credit_pause_seconds=self.writer_credit_pause_seconds,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.writer_attempts)
