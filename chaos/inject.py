"""Carries out planned faults: processes, the broker and the database, the emulators' fault
controls. Also the supervisor, which restarts a process that died on its own (as Kubernetes
would) and counts it: a service that exits without being killed is a finding."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import httpx
from mlc_devtools.devstack import DevStack

from chaos import infra
from chaos.plan import Fault, FaultKind

log = logging.getLogger("chaos")
SAGE_LOCK_RATE = 0.1


class Injector:
    def __init__(
        self,
        *,
        stack: DevStack,
        zoho: httpx.AsyncClient,
        sage: httpx.AsyncClient,
        seed: int,
        moved_to: str = "eu",
    ) -> None:
        self.stack, self._zoho, self._sage = stack, zoho, sage
        self._seed, self._moved_to = seed, moved_to
        self.injected: Counter[str] = Counter()
        self.not_injected: Counter[str] = Counter()  # the harness failed (a script, an emulator)
        self.unexpected_exits: Counter[str] = Counter()
        self._down: set[str] = set()  # killed on purpose, not yet restarted
        self._infra = asyncio.Lock()  # the supervisor waits while the broker or database is down
        self._reap: list[asyncio.Task[int]] = []  # `kafka.sh start` processes still probing

    async def apply(self, fault: Fault) -> None:
        log.info("fault: %s %s", fault.kind, fault.target)
        if fault.kind is FaultKind.KILL:
            await self._kill(fault.target, fault.seconds)
        elif fault.kind is FaultKind.KAFKA_RESTART:
            await self._restart_kafka()
        elif fault.kind is FaultKind.POSTGRES_RESTART:
            await self._restart_postgres()
        else:
            await self._emulator_fault(fault)
        self.injected[fault.label] += 1

    async def _kill(self, name: str, down_for: float) -> None:
        self._down.add(name)
        try:
            await asyncio.to_thread(self.stack.stop, name, kill=True)
            await asyncio.sleep(down_for)
            self.stack.start(name)
        finally:
            self._down.discard(name)

    async def _restart_kafka(self) -> None:
        async with self._infra:
            start = await infra.restart_kafka(self.stack.config.kafka_bootstrap, self._infra_log)
            self._reap.append(asyncio.create_task(start.wait()))

    async def _restart_postgres(self) -> None:
        async with self._infra:
            await infra.restart_postgres(self._infra_log)

    @property
    def _infra_log(self) -> Path:
        return self.stack.config.log_dir / "infra-restarts.log"

    async def _emulator_fault(self, fault: Fault) -> None:
        request = self._request(fault)
        client = (
            self._sage
            if fault.kind in (FaultKind.SAGE_LOCKS_ON, FaultKind.SAGE_LOCKS_OFF)
            else self._zoho
        )
        for attempt in range(3):  # a busy emulator may drop a connection; the call is idempotent
            try:
                response = await client.post(request[0], json=request[1])
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await asyncio.sleep(1.0)
        response.raise_for_status()

    def _request(self, fault: Fault) -> tuple[str, dict[str, object]]:
        kind, org = fault.kind, fault.target
        if kind in (FaultKind.ZOHO_5XX, FaultKind.ZOHO_429):
            return "/_emulator/faults", {
                "org": org,
                "status": fault.status,
                "seconds": fault.seconds,
            }
        if kind is FaultKind.TOKEN_EXPIRY:
            return f"/_emulator/orgs/{org}/expire-tokens", {}
        if kind is FaultKind.DC_MOVE:
            return f"/_emulator/orgs/{org}/move", {"dc": self._moved_to}
        rate = SAGE_LOCK_RATE if kind is FaultKind.SAGE_LOCKS_ON else 0.0
        return "/_emulator/boi/locks", {"rate": rate, "seed": self._seed}

    async def clear(self) -> None:
        """Every emulator fault off (the end of the chaos window)."""
        (await self._zoho.delete("/_emulator/faults")).raise_for_status()
        body = {"rate": 0.0, "seed": self._seed}
        (await self._sage.post("/_emulator/boi/locks", json=body)).raise_for_status()

    async def reap(self) -> None:
        """Wait for the `kafka.sh start` runs still probing (their result does not matter: the
        broker was seen serving), so none outlives the suite."""
        await asyncio.gather(*self._reap)

    async def sage_busy_answers(self) -> int:
        """How many BOI reads the emulator answered "Record/file busy" (the locks injected)."""
        response = await self._sage.get("/_emulator/boi")
        response.raise_for_status()
        return int(response.json()["busy_answers"])

    async def supervise(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with self._infra:
                for name in self.stack.dead():
                    if name not in self._down:
                        self._restart_crashed(name)
            await asyncio.sleep(1.0)

    def _restart_crashed(self, name: str) -> None:
        self.unexpected_exits[name] += 1
        tail = self.stack.log_tail(name, lines=40)
        log.warning("%s exited on its own; restarting it. Last log lines:\n%s", name, tail)
        self.stack.start(name)
