"""The machine a benchmark ran on: CPU, memory, load, software versions and the commit."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import psutil  # type: ignore[import-untyped]

POM = Path(__file__).resolve().parent.parent / "deploy/local/kafka/pom.xml"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def kafka_version() -> str:
    """The running broker's release (from its classpath), else the pinned one."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "kafka.Kafka" in cmdline:
            found = re.search(r"kafka-(\d+\.\d+\.\d+)/libs", cmdline)
            if found:
                return found.group(1)
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", _read(POM))
    return os.environ.get("MLC_KAFKA_VERSION") or (pinned.group(1) if pinned else "unknown")


async def postgres_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
            cwd=POM.parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


async def describe(dsn: str) -> dict[str, Any]:
    """Everything but the closing load average (added when the run ends)."""
    memory = psutil.virtual_memory()
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gib": round(memory.total / 2**30, 1),
        "ram_available_gib_at_start": round(memory.available / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "postgresql": await postgres_version(dsn),
        "git_commit": git("rev-parse", "HEAD") or "unknown",
        "git_uncommitted_changes": bool(git("status", "--porcelain")),
        "load_average_start": load_average(),
    }
