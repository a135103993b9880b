"""Change latency: from the moment a version is written in Sage to the moment Zoho shows it.

Every edit of a watched tenant is noted with its write time; a watcher reads each tenant's Zoho
Accounts about once a second and, for every key, settles each pending version at or below the
one Zoho now shows (a version overtaken before it was seen counts until its successor is)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import defaultdict
from collections.abc import Sequence

import httpx

VERSION = re.compile(r" v(\d+)$")
WATCH_S = 1.0


class LatencyProbe:
    def __init__(self, zoho: httpx.AsyncClient, tenants: Sequence[str]) -> None:
        self._zoho, self.tenants = zoho, list(tenants)
        # tenant -> key -> [(version, written at)], oldest first
        self._pending: dict[str, dict[str, list[tuple[int, float]]]] = {
            t: defaultdict(list) for t in self.tenants
        }
        self.samples: dict[str, list[float]] = {t: [] for t in self.tenants}

    def wrote(self, tenant: str, key: str, version: int) -> None:
        if tenant in self._pending:
            self._pending[tenant][key].append((version, time.monotonic()))

    def take(self) -> dict[str, list[float]]:
        """The samples so far (and start a new collection)."""
        taken, self.samples = self.samples, {t: [] for t in self.tenants}
        return taken

    def pending(self) -> int:
        return sum(len(v) for keys in self._pending.values() for v in keys.values())

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for tenant in self.tenants:
                if any(self._pending[tenant].values()):
                    await self._look(tenant)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_S)

    async def _look(self, tenant: str) -> None:
        try:
            response = await self._zoho.get(f"/_emulator/orgs/{tenant}/records/Accounts")
            response.raise_for_status()
        except httpx.HTTPError:
            return  # the next look will do; latency only grows meanwhile
        now = time.monotonic()
        for record in response.json()["data"]:
            key = str(record.get("Sage_Customer_No"))
            match = VERSION.search(str(record.get("Account_Name", "")))
            waiting = self._pending[tenant].get(key)
            if not match or not waiting:
                continue
            shown = int(match.group(1))
            done = [(v, at) for v, at in waiting if v <= shown]
            self.samples[tenant] += [now - at for _, at in done]
            self._pending[tenant][key] = [(v, at) for v, at in waiting if v > shown]
