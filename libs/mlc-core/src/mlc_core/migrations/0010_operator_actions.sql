-- The operator audit trail: every state-changing request of the console (and the sign-ins) is
-- one row saying who did what to which tenant, when, and how it ended. Append-only like the
-- audit log: the operator role (mlc_app, the dev role, is a member) may insert and read; a trigger
-- refuses changes.
CREATE TABLE operator_actions (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  operator    text NOT NULL,
  action      text NOT NULL,
  tenant_id   text,
  detail      text NOT NULL DEFAULT '',
  outcome     text NOT NULL DEFAULT 'ok'
);
CREATE INDEX operator_actions_at ON operator_actions (at DESC);
CREATE INDEX operator_actions_tenant_at ON operator_actions (tenant_id, at DESC);

CREATE FUNCTION operator_actions_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'operator_actions is append-only';
END $$;
CREATE TRIGGER operator_actions_no_update_delete BEFORE UPDATE OR DELETE ON operator_actions
  FOR EACH ROW EXECUTE FUNCTION operator_actions_refuse_change();
CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON operator_actions
  FOR EACH STATEMENT EXECUTE FUNCTION operator_actions_refuse_change();

GRANT SELECT, INSERT ON operator_actions TO mlc_operator;
GRANT USAGE ON SEQUENCE operator_actions_id_seq TO mlc_operator;
