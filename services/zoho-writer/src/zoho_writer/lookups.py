"""Parents before children: contacts and orders name their account (and order lines their
product) by Sage key; the writer turns each into `{"id": <Zoho id>}` before writing.

A parent is looked up first among what this writer has written (writer_versions, and the
earlier waves of the same batch), then, for a required one, in Zoho by its external field (GET
with X-EXTERNAL, 1 credit). A required parent that does not exist yet makes the command wait
(it is parked and retried): it is usually still on its way through another partition.

Zoho is not asked for a parent that is on its way: one in the same batch (an earlier wave
writes it), one parked here (`coming`), or any parent of a command that has not waited a few
retry delays yet (`may_ask`; WritePolicy.parent_lookup_after), by which time a parent this
product writes is in writer_versions. An initial load meets thousands of contacts before their
accounts; asking for each cost a call's latency and a credit per parent, and those calls took
the org's concurrency from the accounts' own writes (a 1,500-record load: 1,261 lookups, 23 s).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mlc_core.contracts import ZohoLookup, ZohoUpsertCommand

ParentKey = tuple[str, str]  # (module, external value)
BY_ZOHO_ID = "id"  # a link Sage holds as the Zoho id itself (a deal), not as a Sage key
# Asks Zoho for a parent's id; None when Zoho has no such record.
AskZoho = Callable[[ZohoLookup], Awaitable[str | None]]


def set_path(record: dict[str, Any], path: str, zoho_id: str | None) -> dict[str, Any]:
    """A copy of `record` with `path` ("Field" or "Subform.<row>.Field") set to {"id": …},
    or removed when `zoho_id` is None."""
    result = copy.deepcopy(record)
    *parents, leaf = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if zoho_id is None:
        node.pop(leaf, None)
    else:
        node[leaf] = {"id": zoho_id}
    return result


def _not_in_zoho(lookup: ZohoLookup) -> str:
    return (
        f"{lookup.path}: Zoho has no {lookup.module} record with id {lookup.external_value};"
        " written without it"
    )


@dataclass
class Resolution:
    ready: list[ZohoUpsertCommand] = field(default_factory=list)
    # command -> the first required parent it waits for, as "Module external_value"
    waiting: list[tuple[ZohoUpsertCommand, str]] = field(default_factory=list)
    # command -> why its lookups cannot be applied (a dead letter: the mapping must change)
    refused: list[tuple[ZohoUpsertCommand, str]] = field(default_factory=list)


def _ask_always(cmd: ZohoUpsertCommand) -> bool:
    return True


@dataclass
class Resolver:
    known: dict[ParentKey, str]
    ask_zoho: AskZoho
    coming: set[ParentKey] = field(default_factory=set)
    may_ask: Callable[[ZohoUpsertCommand], bool] = _ask_always
    _asked: dict[ParentKey, str | None] = field(default_factory=dict)

    async def resolve(self, commands: list[ZohoUpsertCommand]) -> Resolution:
        # Every parent to ask for is asked at once (the org's concurrency gate in `ask_zoho`
        # bounds the calls in flight): one at a time, a slow org would cost a call's time per
        # parent, past the batch deadline.
        in_batch = {(cmd.module, cmd.external_value) for cmd in commands}
        wanted = {
            (lk.module, lk.external_value): lk
            for cmd in commands
            for lk in cmd.lookups
            if self._askable(cmd, lk, in_batch)
        }
        missing = [lk for key, lk in wanted.items() if key not in self._asked]
        answers = await asyncio.gather(*(self.ask_zoho(lk) for lk in missing))
        for lk, answer in zip(missing, answers, strict=True):
            self._asked[(lk.module, lk.external_value)] = answer
        result = Resolution()
        for cmd in commands:
            try:
                resolved = self._one(cmd)
            except (LookupError, TypeError, ValueError) as exc:
                # A lookup path that does not fit the record (a line that is not there, a
                # field that is not an object): this command's fault, not its tenant's.
                result.refused.append((cmd, f"lookup path does not fit the record: {exc!r}"))
                continue
            if isinstance(resolved, str):
                result.waiting.append((cmd, resolved))
            else:
                result.ready.append(resolved)
        return result

    def _one(self, cmd: ZohoUpsertCommand) -> ZohoUpsertCommand | str:
        record, warnings = cmd.record, cmd.warnings
        for lookup in cmd.lookups:
            zoho_id = self._id_of(lookup)
            if zoho_id is None and lookup.required:
                return f"{lookup.module} {lookup.external_field}={lookup.external_value}"
            if zoho_id is None and lookup.external_field == BY_ZOHO_ID:
                warnings = [*warnings, _not_in_zoho(lookup)]
            record = set_path(record, lookup.path, zoho_id)
        if not cmd.lookups:
            return cmd
        return cmd.model_copy(update={"record": record, "warnings": warnings})

    def _askable(
        self, cmd: ZohoUpsertCommand, lookup: ZohoLookup, in_batch: set[ParentKey]
    ) -> bool:
        key = (lookup.module, lookup.external_value)
        if key in self.known:
            return False
        if lookup.external_field == BY_ZOHO_ID:
            # A link by Zoho id (a deal) is read once: an id Zoho lacks would fail the whole
            # record. No command of ours carries that key, so it is never on its way.
            return True
        # Optional links cost no extra call (1 credit each): filled once the writer has
        # written the parent, e.g. on the record's next change.
        on_its_way = key in in_batch or key in self.coming
        return lookup.required and not on_its_way and self.may_ask(cmd)

    def _id_of(self, lookup: ZohoLookup) -> str | None:
        key = (lookup.module, lookup.external_value)
        if key in self.known:
            return self.known[key]
        return self._asked.get(key)  # asked in `resolve`, or not to be asked: waits
