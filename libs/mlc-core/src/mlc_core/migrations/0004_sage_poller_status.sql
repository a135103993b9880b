-- Per tenant and entity: is polling healthy? (failures past the retry limit show here and in
-- the audit log as sage.poll.attempt events).
CREATE TABLE poller_status (
  tenant_id            text NOT NULL REFERENCES tenants ON DELETE CASCADE,
  entity               text NOT NULL,
  last_success_at      timestamptz,
  last_failure_at      timestamptz,
  last_error           text,
  consecutive_failures integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, entity)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON poller_status TO mlc_app;
