"""Telling a renumbered record from a delete plus a new record (docs/sage.md, "Renumbering").

Sage keeps no surrogate key: its renumbering utility moves a record to a new key, and the
agent then sees the old key gone and a new one appear (sage100.md §4 item 6). Two places
pair them, both on content alone (stamps aside, so it holds whether or not the utility
stamps the record):

- a poll that meets a key it never emitted looks up known records with the same identity
  digest (the record without its key columns; SageTable.identity_digest), and when exactly
  one matches and the agent no longer has that key, the new record is that one, renumbered;
- the key reconciliation: a new record whose content, with its key columns set back to a
  gone key's values, has exactly the digest last emitted for that gone key.

Only one-to-one pairs count: when several known keys match one new record (or several new
records one known key), nothing is paired and they stay deletes and creations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from mlc_core.entities.sage import SAGE_TABLES, SourceKeyError, record_digest

from sage_poller.service import Known, Moves, PollContext, candidate_keys
from sage_poller.store import PollerStore
from sage_poller.validation import InvalidRecord, source_key

Gone = Callable[[str], Awaitable[bool]]  # does the agent no longer have this key?

# Pairs tried per reconciliation at most: each costs one digest. Past it (a mass delete next to
# a mass import) the keys stay deletes and creations, as before renumbering was detected.
MAX_PAIRS = 200_000


def find_moves(
    records: Iterable[tuple[str, dict[str, Any]]],
    gone: Mapping[str, Known],
    poll: PollContext,
) -> dict[str, str]:
    """{new key: old key} for the new records (key, raw record) that are gone ones renumbered."""
    spec = SAGE_TABLES[poll.entity]
    old_values: dict[str, dict[str, str]] = {}
    for key in gone:
        try:
            old_values[key] = spec.key_values(key)
        except SourceKeyError:
            continue
    candidates: dict[str, list[str]] = {}
    tried = 0
    for new_key, record in records:
        for old_key, values in old_values.items():
            tried += 1
            if tried > MAX_PAIRS:
                return {}
            if record_digest(record | values) == gone[old_key].digest:
                candidates.setdefault(new_key, []).append(old_key)
    claimed: dict[str, int] = {}
    for olds in candidates.values():
        for old in olds:
            claimed[old] = claimed.get(old, 0) + 1
    return {
        new: olds[0] for new, olds in candidates.items() if len(olds) == 1 and claimed[olds[0]] == 1
    }


async def moves_in_poll(
    records: list[dict[str, Any]],
    *,
    known: Mapping[str, Known],
    poll: PollContext,
    store: PollerStore,
    gone: Gone,
) -> Moves:
    """{new key: (old key, its last version)} for this page's never-emitted keys that are
    known records renumbered: one identity match, and the agent answers 404 for the old key."""
    spec = SAGE_TABLES[poll.entity]
    on_page = set(candidate_keys(records, poll.entity))
    fresh: dict[str, bytes] = {}
    for record in records:
        try:
            key = source_key(record, poll.entity)
        except InvalidRecord:
            continue
        if key not in known:
            fresh[key] = spec.identity_digest(record)
    if not fresh:
        return {}
    found = await store.by_identity(poll.tenant_id, poll.entity, sorted(set(fresh.values())))
    pairs: dict[str, tuple[str, Known]] = {}
    for key, identity in fresh.items():
        olds = {k: v for k, v in found.get(identity, {}).items() if k not in on_page}
        if len(olds) == 1:
            ((old, before),) = olds.items()
            pairs[key] = (old, before)
    claimed = [old for old, _ in pairs.values()]
    return {
        new: (old, before)
        for new, (old, before) in pairs.items()
        if claimed.count(old) == 1 and await gone(old)
    }
