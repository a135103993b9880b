"""`mlc zoho …`: the tenant's Zoho CRM side.

Each sub-command lives in its own module exposing `register(sub)`; this module only groups them.
"""

from __future__ import annotations

import argparse

from mlc_cli import zoho_connect, zoho_setup


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    zoho = verbs.add_parser("zoho", help="the tenant's Zoho CRM side")
    sub = zoho.add_subparsers(dest="action", required=True)
    zoho_connect.register(sub)
    zoho_setup.register(sub)
