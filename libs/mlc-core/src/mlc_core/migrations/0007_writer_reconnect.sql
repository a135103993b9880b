-- Zoho writer: a tenant whose Zoho access is gone (refresh token revoked or replaced) is parked
-- in a "reconnect Zoho" state instead of failing each record, and the token refreshes the
-- writer made are remembered so that all replicas together stay under Zoho's throttle.

-- Set while the tenant's refresh token is refused. The fingerprint (SHA-256 of the refused
-- refresh token, never the token) tells the writer when `mlc zoho connect` stored a new one.
ALTER TABLE writer_tenant_state
  ADD COLUMN reconnect_since        timestamptz,
  ADD COLUMN reconnect_error        text,
  ADD COLUMN reconnect_fingerprint  bytea;

-- When each of the last refreshes of this refresh token happened (Zoho allows 10 per 10
-- minutes). `mlc zoho connect` deletes the row: a new refresh token starts a new budget.
ALTER TABLE zoho_tokens
  ADD COLUMN recent_refreshes timestamptz[] NOT NULL DEFAULT '{}';
