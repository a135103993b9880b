"""mlc_cli."""
