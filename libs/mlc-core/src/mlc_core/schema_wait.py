"""Wait until the database has every migration this image ships, then exit 0.

Run as an init container before each service (deploy/k8s): with a plain `kubectl apply` the
migration Job and the Deployments start together, and a service must not start on an older
schema. Connects with the service's own role (MLC_DATABASE_URL); gives up with exit code 1
after MLC_SCHEMA_WAIT_SECONDS (default 600), naming the migrations still missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time

from mlc_core.db import NOT_YET, pending_migrations


async def wait_for_schema(dsn: str, *, timeout_s: float, interval_s: float = 2.0) -> list[str]:
    """The migrations still missing when `timeout_s` ran out; [] once all are applied."""
    deadline = time.monotonic() + timeout_s
    missing: list[str] = ["(database not reachable)"]
    while True:
        with contextlib.suppress(*NOT_YET):
            missing = await pending_migrations(dsn)
        if not missing or time.monotonic() + interval_s > deadline:
            return missing
        await asyncio.sleep(interval_s)


def main() -> None:
    dsn = os.environ.get("MLC_DATABASE_URL")
    if not dsn:
        raise SystemExit("schema-wait: set MLC_DATABASE_URL (the service's connection)")
    timeout = float(os.environ.get("MLC_SCHEMA_WAIT_SECONDS", "600"))
    missing = asyncio.run(wait_for_schema(dsn, timeout_s=timeout))
    if missing:
        print(
            f"schema-wait: migrations not applied after {timeout:.0f} s: {', '.join(missing)}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    print("schema-wait: schema is current")


if __name__ == "__main__":
    main()
