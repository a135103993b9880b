"""zoho_emulator."""
