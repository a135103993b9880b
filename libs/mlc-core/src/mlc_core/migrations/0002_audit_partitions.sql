-- Schema v2 (audit): the audit log partitioned by month, a global event-id registry that keeps
-- it idempotent across partitions, and a per-record projection (audit_records).
--
-- Why a registry: a partitioned table's unique keys must contain the partition key, so
-- `event_id` alone cannot be unique on audit_events. A redelivered event may arrive in a later
-- month than its first delivery; the narrow audit_event_ids table (one index, no partitions)
-- is what refuses it, in the same statement that inserts the event.

ALTER TABLE audit_events RENAME TO audit_events_v1;
ALTER INDEX audit_events_record RENAME TO audit_events_v1_record;
ALTER INDEX audit_events_correlation RENAME TO audit_events_v1_correlation;
ALTER INDEX audit_events_causation RENAME TO audit_events_v1_causation;
ALTER TABLE audit_events_v1 RENAME CONSTRAINT audit_events_pkey TO audit_events_v1_pkey;

CREATE TABLE audit_event_ids (
  event_id     uuid PRIMARY KEY,
  recorded_at  timestamptz NOT NULL
);

CREATE TABLE audit_events (
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  schema_version  integer NOT NULL,
  tenant_id       text,
  entity          text,
  source_key      text,
  correlation_id  uuid,
  causation_id    uuid,
  occurred_at     timestamptz,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  topic           text NOT NULL,
  kafka_partition integer NOT NULL,
  kafka_offset    bigint NOT NULL,
  payload         jsonb NOT NULL,
  PRIMARY KEY (event_id, recorded_at)
) PARTITION BY RANGE (recorded_at);

-- Trail look-ups: one record's events in time order; links between events; failures by type.
CREATE INDEX audit_events_record ON audit_events (tenant_id, entity, source_key, occurred_at);
CREATE INDEX audit_events_correlation ON audit_events (correlation_id);
CREATE INDEX audit_events_causation ON audit_events (causation_id);
CREATE INDEX audit_events_tenant_type ON audit_events (tenant_id, event_type, occurred_at);

CREATE FUNCTION audit_partition_name(month date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'audit_events_' || to_char(month, 'YYYY"m"MM')
$$;

-- Creates the month's partition (and the next month's) when missing. SECURITY DEFINER so the
-- service role, which may not create tables, can call it; the partitions belong to the owner.
-- Row triggers are cloned onto new partitions by PostgreSQL; the TRUNCATE trigger is not, so
-- it is added here: truncating one partition directly is refused too.
CREATE FUNCTION audit_ensure_partitions(at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  month date;
  name text;
BEGIN
  FOR i IN 0..1 LOOP
    month := (date_trunc('month', at AT TIME ZONE 'UTC') + make_interval(months => i))::date;
    name := audit_partition_name(month);
    CONTINUE WHEN to_regclass(name) IS NOT NULL;
    PERFORM pg_advisory_xact_lock(hashtext(name));
    CONTINUE WHEN to_regclass(name) IS NOT NULL;
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
      name, month::timestamp AT TIME ZONE 'UTC',
      (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    EXECUTE format(
      'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %I'
      ' FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()', name);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION audit_ensure_partitions(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_ensure_partitions(timestamptz) TO mlc_app;

-- Partitions for every month the old table holds, then its rows move over.
DO $$
DECLARE
  m timestamptz;
BEGIN
  PERFORM audit_ensure_partitions(now());
  FOR m IN SELECT DISTINCT date_trunc('month', recorded_at) FROM audit_events_v1 LOOP
    PERFORM audit_ensure_partitions(m);
  END LOOP;
END
$$;
INSERT INTO audit_event_ids (event_id, recorded_at)
  SELECT event_id, recorded_at FROM audit_events_v1;
INSERT INTO audit_events SELECT * FROM audit_events_v1;
DROP TABLE audit_events_v1;

CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_event_ids_no_update_delete BEFORE UPDATE OR DELETE ON audit_event_ids
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_event_ids_no_truncate BEFORE TRUNCATE ON audit_event_ids
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- One row per record (tenant, entity, Sage key), kept by the audit service in the same
-- transaction that stores the events it is derived from. A projection, so it may change; the
-- log it comes from may not.
CREATE TABLE audit_records (
  tenant_id        text NOT NULL,
  entity           text NOT NULL,
  source_key       text NOT NULL,
  module           text,
  zoho_id          text,
  source_version   text,
  last_outcome     text,
  last_outcome_at  timestamptz,
  failure_count    integer NOT NULL DEFAULT 0,
  last_error_code  text,
  last_error       text,
  last_event_at    timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entity, source_key)
);
CREATE INDEX audit_records_zoho_id ON audit_records (tenant_id, zoho_id);
CREATE INDEX audit_records_failing ON audit_records (tenant_id, last_error_code)
  WHERE last_outcome = 'failed';

GRANT SELECT, INSERT ON audit_events, audit_event_ids TO mlc_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_event_ids FROM mlc_app;
GRANT SELECT, INSERT, UPDATE ON audit_records TO mlc_app;
