"""The fields each tenant's Zoho modules have, kept per tenant and module for `max_age_s`
(zoho_writer.field_check reads them and fails a command naming a field the org lacks)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mlc_core.contracts import ZohoUpsertCommand

Known = frozenset[str] | None  # None: the list could not be read, nothing is checked


@dataclass
class OrgFields:
    max_age_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _known: dict[tuple[str, str], tuple[float, Known]] = field(default_factory=dict)

    async def names(
        self,
        tenant_id: str,
        module: str,
        read: Callable[[], Awaitable[Known]],
        max_age_s: float | None = None,
    ) -> Known:
        """The module's field names, read again when older than `max_age_s` (default: the
        cache's own): a field found missing is looked for again in a list of seconds ago,
        so `mlc zoho setup` takes effect at once."""
        key = (tenant_id, module)
        cached = self._known.get(key)
        age = self.max_age_s if max_age_s is None else max_age_s
        if cached is not None and self.clock() - cached[0] < age:
            return cached[1]
        known = await read()
        self._known[key] = (self.clock(), known)
        return known


def written_names(cmd: ZohoUpsertCommand) -> list[str]:
    """The module fields a command sets: its record's and its links' (a line item's product
    link is inside its subform field)."""
    names = dict.fromkeys(cmd.record)
    names.update(dict.fromkeys(lookup.path.split(".", 1)[0] for lookup in cmd.lookups))
    return list(names)
