-- Per-tenant mapping overrides (mapper; docs/mapping.md). One current map per tenant: the YAML
-- as the operator wrote it, and the validated form the mapper applies. `revision` grows with
-- every change, so a mapper's cache and the audit of who-changed-what can tell versions apart.
CREATE TABLE tenant_mappings (
  tenant_id   text PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
  source_yaml text NOT NULL,
  spec        jsonb NOT NULL,
  revision    integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_mappings TO mlc_app;
