"""mlc_core."""
