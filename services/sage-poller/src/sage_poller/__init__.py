"""sage_poller."""
