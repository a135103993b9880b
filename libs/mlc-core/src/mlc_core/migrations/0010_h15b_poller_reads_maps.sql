-- The poller reads each tenant's mapping file for the sensitive columns it asks the agent for
-- (AP_Vendor.TaxpayerIDSocialSecurityNo and the like stay on the Sage server otherwise).
GRANT SELECT ON tenant_mappings TO mlc_poller;
