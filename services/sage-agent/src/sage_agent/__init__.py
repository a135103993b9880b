"""sage_agent: the on-premises agent a customer installs next to Sage 100."""
