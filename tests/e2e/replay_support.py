"""Helpers for the replay tests: run the real `mlc` command against the test stack."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import httpx
from mlc_devtools.devstack import DevStack, script


def mlc(stack: DevStack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`mlc …` as an operator runs it, configured by the stack's environment only."""
    done = subprocess.run(
        [script("mlc"), *args],
        env=stack.config.env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"mlc {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


async def amlc(stack: DevStack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(mlc, stack, *args, check=check)


async def mlc_json(stack: DevStack, *args: str) -> Any:
    return json.loads((await amlc(stack, *args, "--json")).stdout)


async def zoho_calls(zoho: httpx.AsyncClient, org: str) -> int:
    stats = (await zoho.get(f"/_emulator/orgs/{org}/stats")).json()
    return int(stats["calls"]["total"])
