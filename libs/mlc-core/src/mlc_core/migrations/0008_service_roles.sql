-- Least privilege: one login role per service and one for operators (the `mlc` CLI and the
-- console), each granted only the tables it uses. Deployments connect each service with its
-- own role; `mlc db migrate` sets each role's password from MLC_DATABASE_<ROLE>_PASSWORD
-- (a role without one cannot log in with a password).
--
-- The audit log: only mlc_audit inserts into audit_events and the event-id registry, so no
-- other service can pre-claim an event id (which would make the audit drop the real event as
-- a duplicate); nobody is granted UPDATE, DELETE or TRUNCATE, and the triggers of 0001/0002
-- refuse them even to the owner.
--
-- mlc_app stays the development and test role: a member of every role below, so the local
-- stack and tests run all services on one connection string. Deployments give it no password.

DO $$
DECLARE
  role text;
BEGIN
  FOREACH role IN ARRAY ARRAY['mlc_poller', 'mlc_mapper', 'mlc_writer', 'mlc_audit',
                              'mlc_operator'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
      EXECUTE format('CREATE ROLE %I LOGIN', role);
    END IF;
  END LOOP;
END
$$;

-- sage-poller: tenants (to decrypt the agent's credentials), its own state and outbox, and the
-- `mlc sync` requests it works through.
GRANT SELECT ON tenants TO mlc_poller;
GRANT SELECT, INSERT, UPDATE, DELETE ON poller_watermarks, poller_versions, poller_status
  TO mlc_poller;
GRANT SELECT, INSERT, DELETE ON poller_outbox TO mlc_poller;
GRANT USAGE ON SEQUENCE poller_outbox_id_seq TO mlc_poller;
GRANT SELECT, UPDATE ON sync_requests TO mlc_poller;

-- mapper: reads tenants and their mapping overrides; writes nothing.
GRANT SELECT ON tenants, tenant_mappings TO mlc_mapper;

-- zoho-writer: tenants (to decrypt the Zoho refresh token), tokens and its own state.
GRANT SELECT ON tenants TO mlc_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON zoho_tokens, writer_versions, writer_tenant_state,
  writer_parked, writer_module_blocks TO mlc_writer;
GRANT USAGE ON SEQUENCE writer_parked_id_seq TO mlc_writer;

-- audit: the only role that appends to the log; keeps the per-record projection.
GRANT SELECT, INSERT ON audit_events, audit_event_ids TO mlc_audit;
GRANT SELECT, INSERT, UPDATE ON audit_records TO mlc_audit;
GRANT EXECUTE ON FUNCTION audit_ensure_partitions(timestamptz) TO mlc_audit;

-- operators: read everything; manage tenants, mappings, Zoho connections, sync requests and
-- the services' state tables an operator resets; never write the audit log.
GRANT SELECT ON tenants, poller_watermarks, poller_versions, poller_status, poller_outbox,
  sync_requests, tenant_mappings, zoho_tokens, writer_versions, writer_tenant_state,
  writer_parked, writer_module_blocks, audit_events, audit_event_ids, audit_records,
  schema_migrations TO mlc_operator;
GRANT INSERT, UPDATE, DELETE ON tenants, tenant_mappings, zoho_tokens, poller_watermarks,
  poller_versions, writer_tenant_state, writer_parked, writer_module_blocks TO mlc_operator;
GRANT INSERT, UPDATE ON sync_requests TO mlc_operator;
GRANT USAGE ON SEQUENCE sync_requests_request_id_seq TO mlc_operator;

-- every service may see which migrations are applied: it waits for its schema at start
-- (python -m mlc_core.schema_wait, the init container in deploy/k8s).
GRANT SELECT ON schema_migrations TO mlc_poller, mlc_mapper, mlc_writer, mlc_audit;

GRANT mlc_poller, mlc_mapper, mlc_writer, mlc_audit, mlc_operator TO mlc_app;
