"""Whether the consumer should wait for more commands before writing: filled Zoho calls.

An upsert call carries up to 100 records and costs a credit per 10 started (zoho-crm.md §5), so
a tenant's 1,000 changes cost 10 calls and 100 credits only if they reach the writer together.
Their keys spread them over every partition and the mapper publishes them over a moment, so a
fetch holds slices; the consumer keeps fetching (within its linger bound) while some tenant's
group of commands is not a whole number of calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mlc_core.kafka import Record
from mlc_core.zoho.records import MAX_RECORDS_PER_CALL


def fill_group(key: bytes | None) -> bytes | None:
    """`tenant|entity` of a command's key (contracts.record_key): one entity's commands go to
    the same Zoho modules, so they share calls. Read from the key: no second decode."""
    if not key:
        return None
    tenant, sep, rest = key.partition(b"|")
    entity = rest.partition(b"|")[0]
    return tenant + sep + entity if sep else tenant


def wants_more(records: Sequence[Record], *, per_call: int = MAX_RECORDS_PER_CALL) -> bool:
    """True while some tenant's entity has a partly filled call among `records`."""
    counts = Counter(fill_group(record.key) for record in records)
    return any(n % per_call for group, n in counts.items() if group is not None)
