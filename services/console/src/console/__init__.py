"""The operator console: sign-in, tenants' health, one tenant's status and actions, a record's
trail. Every read and action goes through mlc_ops, the code `mlc` runs."""
