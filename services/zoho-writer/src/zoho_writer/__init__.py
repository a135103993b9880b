"""zoho_writer."""
