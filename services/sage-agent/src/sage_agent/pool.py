"""A small pool of logged-on SY_Session objects, one thread each.

pvxcom.exe objects are apartment-threaded: an object must be used from the thread that made it,
so every pooled session owns a one-thread executor and all its calls run there. Sessions are
keyed by (company, user): a logon is per company. Business objects are created per operation
and released at its end (prompt release keeps Sage's files closed between polls).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sage_agent.boi import Boi, BoiError, BoiLogonError, BoiUnavailable, check

T = TypeVar("T")


@dataclass(frozen=True)
class Logon:
    company: str
    user: str
    password: str

    @property
    def pool_key(self) -> tuple[str, str, str]:
        # The password is part of the key (a changed password must log on again), hashed so
        # the pool never holds it as a dictionary key in clear.
        return self.company, self.user, hashlib.sha256(self.password.encode()).hexdigest()


class Session:
    """A ProvideX.Script plus a logged-on SY_Session, bound to its own thread."""

    def __init__(self, boi: Boi, session: Any, executor: ThreadPoolExecutor) -> None:
        self.boi, self.session, self._executor = boi, session, executor

    async def run(self, work: Callable[[Boi, Any], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, self.boi, self.session)

    def close(self) -> None:
        def shutdown() -> None:
            with contextlib.suppress(BoiError):
                self.boi.call(self.session, "nCleanup")
                self.boi.release(self.session)
            self.boi.close()

        self._executor.submit(shutdown).result()
        self._executor.shutdown(wait=True)


def open_session(boi: Boi, logon: Logon) -> Any:
    session = boi.new_object("SY_Session")
    try:
        for method, args in (
            ("nSetUser", (logon.user, logon.password)),
            ("nSetCompany", (logon.company,)),
        ):
            check(boi, session, method, *args)
    except BoiError as exc:
        boi.release(session)
        raise BoiLogonError(f"Sage logon to company {logon.company} failed: {exc}") from exc
    return session


class SessionPool:
    def __init__(self, make_boi: Callable[[], Boi], *, size: int) -> None:
        self._make_boi = make_boi
        self._size = size
        self._slots = asyncio.Semaphore(size)
        self._idle: dict[tuple[str, str, str], list[Session]] = {}
        self.created = 0

    @contextlib.asynccontextmanager
    async def session(self, logon: Logon) -> AsyncIterator[Session]:
        async with self._slots:
            idle = self._idle.setdefault(logon.pool_key, [])
            session = idle.pop() if idle else await self._create(logon)
            healthy = False
            try:
                yield session
                healthy = True
            except BoiError as exc:
                # A lock or a missing record leaves the session usable; a COM failure does not.
                healthy = not isinstance(exc, BoiUnavailable)
                raise
            finally:
                if healthy:
                    idle.append(session)
                else:
                    # After a failure the COM side may be in any state: start afresh next time.
                    await asyncio.get_running_loop().run_in_executor(None, session.close)
                await self._trim(keep=logon.pool_key)

    async def _trim(self, *, keep: tuple[str, str, str]) -> None:
        """At most `size` sessions stay logged on, whatever the number of companies: each one
        is a Sage user session holding files open."""
        while sum(len(v) for v in self._idle.values()) > self._size:
            victim = next((k for k, v in self._idle.items() if v and k != keep), keep)
            session = self._idle[victim].pop(0)
            await asyncio.get_running_loop().run_in_executor(None, session.close)

    async def _create(self, logon: Logon) -> Session:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="boi")
        loop = asyncio.get_running_loop()

        def start() -> Session:
            boi = self._make_boi()
            try:
                return Session(boi, open_session(boi, logon), executor)
            except BaseException:
                boi.close()
                raise

        try:
            session = await loop.run_in_executor(executor, start)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self.created += 1
        return session

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sessions in self._idle.values():
            for session in sessions:
                await loop.run_in_executor(None, session.close)
        self._idle.clear()
