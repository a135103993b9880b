-- Zoho writer: content hashes (unchanged records cost nothing), per-tenant pauses and credits,
-- commands parked while a tenant is paused or a parent record is missing, and modules an org's
-- edition lacks.

-- sha256 of what was last written for the record; an identical command is not sent again.
ALTER TABLE writer_versions ADD COLUMN content_hash bytea;

-- One row per tenant: why and until when its writes are paused, what Zoho last said about
-- credits, and the org's edition (its concurrency), shared by every writer replica.
CREATE TABLE writer_tenant_state (
  tenant_id          text PRIMARY KEY,
  paused_until       timestamptz,
  pause_reason       text,
  consecutive_pauses integer NOT NULL DEFAULT 0,
  credits_remaining  integer,
  credits_seen_at    timestamptz,
  edition            text,
  edition_seen_at    timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Commands the writer keeps instead of failing them: the Kafka offset is committed once a
-- command is here (durable), and a drain loop writes them after the pause or when the parent
-- exists. One row per command event (a redelivered command is parked once).
CREATE TABLE writer_parked (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL,
  event_id        uuid NOT NULL UNIQUE,
  module          text NOT NULL,
  external_value  text NOT NULL,
  command         jsonb NOT NULL,
  kafka_topic     text,
  kafka_partition integer,
  kafka_offset    bigint,
  reason          text NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  not_before      timestamptz NOT NULL DEFAULT now(),
  parked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX writer_parked_due ON writer_parked (tenant_id, not_before, id);

-- A module Zoho answered INVALID_MODULE for: noted once (one warning), then commands for it
-- are skipped without calling Zoho until `recheck_after` (an upgrade may add the module).
CREATE TABLE writer_module_blocks (
  tenant_id      text NOT NULL,
  module         text NOT NULL,
  code           text NOT NULL,
  message        text NOT NULL,
  blocked_at     timestamptz NOT NULL DEFAULT now(),
  recheck_after  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, module)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON writer_tenant_state, writer_parked,
  writer_module_blocks TO mlc_app;
GRANT USAGE ON SEQUENCE writer_parked_id_seq TO mlc_app;
