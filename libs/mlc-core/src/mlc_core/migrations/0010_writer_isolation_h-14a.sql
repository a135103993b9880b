-- Zoho writer: what a failure costs (docs/failure-costs.md). A tenant whose share of a batch
-- fails for a reason of its own (Zoho down or too slow, a malformed answer, a bug hit by its
-- data, its secrets unreadable) is paused with a reason and a growing backoff, and its circuit
-- stays open (new commands parked, no Zoho call from the consumer) until a drain pass writes
-- its parked commands again.
ALTER TABLE writer_tenant_state
  ADD COLUMN pause_detail  text,
  ADD COLUMN circuit_open  boolean NOT NULL DEFAULT false;

-- The outcome of the command that last wrote the record, stored the moment Zoho answered:
-- a redelivery of that command (Kafka or PostgreSQL failed after the write) republishes it
-- instead of writing Zoho again.
ALTER TABLE writer_versions
  ADD COLUMN event_id  uuid,
  ADD COLUMN outcome   jsonb;

-- `mlc tenant remove` and `mlc tenant add` forget a tenant id's writer state, so a reused id
-- starts clean (its versions belong to another Zoho org).
GRANT DELETE ON writer_versions TO mlc_operator;
