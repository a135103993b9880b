"""`mlc tenant import tenants.yaml`: tenants declared in a file, for GitOps (the file format
and what import does: mlc_ops.tenant_file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlc_ops import tenant_file
from mlc_ops.tenant_file import TenantFileError, apply, parse_file

from mlc_cli.common import add_json_flag, database, emit, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "import",
        help="create or update tenants from a YAML file (declarative, for GitOps)",
        description=tenant_file.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--dry-run", action="store_true", help="validate and show, write nothing")
    cmd.add_argument("--prune", action="store_true", help="disable tenants the file omits")
    add_json_flag(cmd)
    cmd.set_defaults(handler=import_cmd)


async def import_cmd(args: argparse.Namespace) -> None:
    try:
        entries = parse_file(args.file)
        async with database() as (pool, keyring):
            report = await apply(
                pool=pool, keyring=keyring, entries=entries, dry_run=args.dry_run, prune=args.prune
            )
    except TenantFileError as exc:
        raise SystemExit(f"mlc: nothing imported: {exc}") from exc
    suffix = " (dry run: nothing written)" if args.dry_run else ""
    emit(
        args,
        report,
        lambda rows: (
            table([[r["tenant"], r["action"]] for r in rows], ["TENANT", "ACTION"]) + suffix
        ),
    )
