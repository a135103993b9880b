"""`mlc mapping …`: a tenant's mapping file (docs/mapping.md): check, set, show, remove.

`set` validates the file first and stores it only when valid (errors name the line and the
field), so a bad map never reaches the mapper; mappers pick a new map up within 30 seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlc_ops.tenants import (
    MapFileError,
    check_mapping,
    mapping,
    remove_mapping,
    set_mapping,
)

from mlc_cli.common import database, pool_only


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = verbs.add_parser(
        "mapping", help="per-tenant mapping files", description=__doc__
    ).add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate a mapping file; store nothing")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=check_cmd)
    put = sub.add_parser("set", help="validate and store a tenant's mapping file")
    put.add_argument("tenant_id")
    put.add_argument("file", type=Path)
    put.set_defaults(handler=set_cmd)
    show = sub.add_parser("show", help="print a tenant's stored mapping file")
    show.add_argument("tenant_id")
    show.set_defaults(handler=show_cmd)
    remove = sub.add_parser("remove", help="back to the default mapping")
    remove.add_argument("tenant_id")
    remove.set_defaults(handler=remove_cmd)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
        check_mapping(text)
    except OSError as exc:
        raise SystemExit(f"mlc: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SystemExit(f"mlc: {path} is not UTF-8 text ({exc.reason})") from exc
    except MapFileError as exc:
        raise SystemExit(f"mlc: {path}: {exc}") from exc
    return text


async def check_cmd(args: argparse.Namespace) -> None:
    _read(args.file)
    print(f"{args.file}: valid")


async def set_cmd(args: argparse.Namespace) -> None:
    text = _read(args.file)
    async with database() as (pool, keyring):
        revision = await set_mapping(
            pool=pool, keyring=keyring, tenant_id=args.tenant_id, source_yaml=text
        )
    print(f"tenant {args.tenant_id}: mapping file stored (revision {revision})")


async def show_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        stored = await mapping(pool=pool, tenant_id=args.tenant_id)
    if stored is None:
        print(f"# tenant {args.tenant_id}: no mapping file; the default mapping applies")
        return
    print(f"# tenant {args.tenant_id}, revision {stored.revision}\n{stored.source_yaml}", end="")


async def remove_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        removed = await remove_mapping(pool=pool, tenant_id=args.tenant_id)
    print(f"tenant {args.tenant_id}: " + ("mapping file removed" if removed else "had none"))
