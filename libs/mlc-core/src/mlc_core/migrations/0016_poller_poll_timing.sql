-- The last successful poll's timing, per tenant and entity (sage_poller/loops.py): when it
-- began, how long after it was due, how long it took and how much of that it waited on the
-- tenant's agent. Polls that begin later and later: the poller runs more tenants than its
-- cores poll on time (docs/capacity.md). A long poll mostly on Sage: a slow Sage server or
-- agent; mostly not: this side. All of it adds to a change's latency.
ALTER TABLE poller_status
  ADD COLUMN last_poll_started_at timestamptz,
  ADD COLUMN last_poll_seconds    real,
  ADD COLUMN last_poll_late_seconds real,
  ADD COLUMN last_poll_sage_seconds real;
