-- Schema v1: tenants, poller state, writer state, Zoho tokens, and the append-only audit log.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mlc_app') THEN
    CREATE ROLE mlc_app LOGIN;
  END IF;
END
$$;

CREATE TABLE tenants (
  tenant_id     text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  display_name  text NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  config        jsonb NOT NULL,
  -- AES-GCM envelope (mlc_core.crypto), associated data 'tenant:<id>:secrets'
  secrets       bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Where each tenant's poll of each entity has got to: (DateUpdated, TimeUpdated) inclusive.
CREATE TABLE poller_watermarks (
  tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
  entity      text NOT NULL,
  stamp_date  text NOT NULL,
  stamp_hours double precision NOT NULL,
  polled_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entity)
);

-- Last version of each record that reached Kafka: the dedupe for inclusive, overlapping polls.
CREATE TABLE poller_versions (
  tenant_id      text NOT NULL REFERENCES tenants ON DELETE CASCADE,
  entity         text NOT NULL,
  source_key     text NOT NULL,
  source_version text NOT NULL,
  content_hash   bytea NOT NULL,
  PRIMARY KEY (tenant_id, entity, source_key)
);

-- One access token per tenant, shared by all writer replicas (refreshed under an advisory lock).
CREATE TABLE zoho_tokens (
  tenant_id     text PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
  access_token  bytea NOT NULL,
  api_domain    text NOT NULL,
  expires_at    timestamptz NOT NULL,
  -- when replicas should stop using it and refresh (before expiry, so calls never race it)
  refresh_at    timestamptz NOT NULL,
  refreshed_at  timestamptz NOT NULL DEFAULT now()
);

-- Newest source version applied per Zoho record: the stale-version guard for replays.
CREATE TABLE writer_versions (
  tenant_id      text NOT NULL,
  module         text NOT NULL,
  external_value text NOT NULL,
  source_version text NOT NULL,
  zoho_id        text NOT NULL,
  written_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, module, external_value)
);

CREATE TABLE audit_events (
  event_id        uuid PRIMARY KEY,
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
  payload         jsonb NOT NULL
);
CREATE INDEX audit_events_record ON audit_events (tenant_id, entity, source_key, occurred_at);
CREATE INDEX audit_events_correlation ON audit_events (correlation_id);
CREATE INDEX audit_events_causation ON audit_events (causation_id);

-- The audit log is append-only even for the table owner: a trigger refuses changes.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, poller_watermarks, poller_versions,
  zoho_tokens, writer_versions TO mlc_app;
GRANT SELECT, INSERT ON audit_events TO mlc_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM mlc_app;
