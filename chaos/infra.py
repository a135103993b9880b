"""Restarts of the broker and the database, data kept, through deploy/local's scripts.

The broker's readiness is judged here by a Kafka client, not by kafka.sh's own probe: that
probe starts a JVM per attempt, which on a busy 2-core machine can take longer than its
20-second timeout again and again while the broker itself has long been serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "local"
START_TIMEOUT_S = 300.0


async def restart_postgres(log_path: Path) -> None:
    proc = await _spawn(log_path, "postgres.sh", "restart")
    if await proc.wait() != 0:
        raise RuntimeError(f"postgres.sh restart failed; see {log_path}")


async def restart_kafka(bootstrap: str, log_path: Path) -> asyncio.subprocess.Process:
    """Stop, start, wait until a client can use the broker; returns the still running
    `kafka.sh start` (its own probe may go on for a while), to be reaped later."""
    stop = await _spawn(log_path, "kafka.sh", "stop")
    if await stop.wait() != 0:
        raise RuntimeError(f"kafka.sh stop failed; see {log_path}")
    start = await _spawn(log_path, "kafka.sh", "start")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not await _broker_answers(bootstrap):
        if start.returncode not in (None, 0) or time.monotonic() > deadline:
            raise RuntimeError(f"the broker did not come back; see {log_path}")
        await asyncio.sleep(1.0)
    return start


async def _broker_answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:  # any failure means "not yet"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def _spawn(log_path: Path, script: str, command: str) -> asyncio.subprocess.Process:
    with log_path.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            str(DEPLOY / script), command, stdout=out, stderr=out, env=_env()
        )


def _env() -> dict[str, str]:
    # kafka.sh's own wait, which goes on after we see the broker serving: long enough that a
    # slow probe on a loaded machine is not reported as a failed start.
    timeout = os.environ.get("MLC_KAFKA_START_TIMEOUT", str(int(START_TIMEOUT_S)))
    return {**os.environ, "MLC_KAFKA_START_TIMEOUT": timeout}
