-- The last successful poll's timing, per tenant and entity (sage_poller/loops.py): when it
-- began, how long it took, and how long after it was due it began. A poller whose polls begin
-- later and later is running more tenants than its cores poll on time (docs/capacity.md);
-- a poll that takes long is a slow Sage server or agent. Both add to a change's latency.
ALTER TABLE poller_status
  ADD COLUMN last_poll_started_at timestamptz,
  ADD COLUMN last_poll_seconds    real,
  ADD COLUMN last_poll_late_seconds real;
