-- The poller reads each tenant's mapping file for the sensitive columns it asks the agent for
-- (AP_Vendor.TaxpayerIDSocialSecurityNo and the like stay on the Sage server otherwise).
GRANT SELECT ON tenant_mappings TO mlc_poller;

-- Renumbering (docs/sage.md): for entities Sage can renumber, the digest of the last emitted
-- record without its key columns, so a poll that meets a new key can find the record it was.
ALTER TABLE poller_versions ADD COLUMN identity_hash bytea;
CREATE INDEX poller_versions_identity ON poller_versions (tenant_id, entity, identity_hash)
  WHERE identity_hash IS NOT NULL;
