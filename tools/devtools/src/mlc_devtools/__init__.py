"""Development tools for ml-connector: the demo, the local stack and emulator wiring.

Used by `make demo`, bench/, chaos/ and the tests; never installed in the production image.
"""
