-- The poller's transactional outbox: a page's events are written here in the same PostgreSQL
-- transaction as the versions (content hashes) and the watermark they justify; a relay in the
-- poller publishes them in id order with the idempotent producer and deletes them only after
-- Kafka acknowledged them. A crash in between re-publishes (at least once, same event ids).
CREATE TABLE poller_outbox (
  id         bigserial PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants ON DELETE CASCADE,
  entity     text NOT NULL,
  topic      text NOT NULL,
  payload    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX poller_outbox_tenant ON poller_outbox (tenant_id, id);
GRANT SELECT, INSERT, DELETE ON poller_outbox TO mlc_app;
GRANT USAGE ON SEQUENCE poller_outbox_id_seq TO mlc_app;

-- `mlc sync`: requests the poller picks up on its next tick (poll now, full re-sync, one key),
-- marked done with counts, which the CLI shows while it waits.
CREATE TABLE sync_requests (
  request_id   bigserial PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
  entity       text NOT NULL,
  mode         text NOT NULL CHECK (mode IN ('poll', 'full', 'key')),
  source_key   text,
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'running', 'done', 'failed')),
  seen         integer NOT NULL DEFAULT 0,
  emitted      integer NOT NULL DEFAULT 0,
  error        text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  CHECK ((mode = 'key') = (source_key IS NOT NULL))
);
CREATE INDEX sync_requests_open ON sync_requests (tenant_id, request_id)
  WHERE status IN ('pending', 'running');
GRANT SELECT, INSERT, UPDATE ON sync_requests TO mlc_app;
GRANT USAGE ON SEQUENCE sync_requests_request_id_seq TO mlc_app;
