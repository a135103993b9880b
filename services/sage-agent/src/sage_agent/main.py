"""sage-agent entry point (filled in by the Sage-side work)."""

from __future__ import annotations


def run() -> None:
    raise SystemExit("mlc-sage-agent: not implemented yet")
