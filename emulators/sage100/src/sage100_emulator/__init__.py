"""sage100_emulator."""
