"""Pure: Sage records (as the mapper would send them) against Zoho records, by external key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

EQUAL, DIFFERENT, ONLY_SAGE, ONLY_ZOHO = "equal", "different", "only_in_sage", "only_in_zoho"
STATUSES = (EQUAL, DIFFERENT, ONLY_SAGE, ONLY_ZOHO)


@dataclass(frozen=True)
class Finding:
    entity: str
    key: str
    status: str
    zoho_id: str | None = None
    fields: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()  # of `fields`: empty in Sage, a value in Zoho

    def as_row(self) -> list[str]:
        named = (f"{f}(Sage empty)" if f in self.cleared else f for f in self.fields)
        return [self.entity, self.key, self.status, self.zoho_id or "", " ".join(named)]


@dataclass
class EntityReport:
    entity: str
    findings: list[Finding] = field(default_factory=list)
    unmappable: list[str] = field(default_factory=list)  # Sage keys the mapper refuses
    missing_fields: list[str] = field(default_factory=list)  # mapped, but not in the module
    # Another module's records (entity "sales_order:Products"): record key -> the Sage key of
    # a row that writes it, what `fix` re-publishes.
    sources: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counted = Counter(f.status for f in self.findings)
        return {status: counted.get(status, 0) for status in STATUSES}


def _norm(value: Any) -> Any:
    """Zoho returns absent and empty alike; text is compared without surrounding spaces."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        # a lookup is sent as {"id"} or {"name"} and comes back as {"name", "id"}
        return all(_norm(v) == _norm(actual.get(k)) for k, v in expected.items())
    return bool(_norm(expected) == _norm(actual))


def differing_fields(
    expected: Mapping[str, Any], actual: Mapping[str, Any], known: Set[str] | None = None
) -> tuple[str, ...]:
    """Fields the mapper would write whose value in Zoho is not that value; with `known`
    (the fields the Zoho module has), fields the module lacks are not compared."""
    return tuple(
        sorted(
            name
            for name, value in expected.items()
            if (known is None or name in known) and not _same(value, actual.get(name))
        )
    )


def compare(
    entity: str,
    expected: Mapping[str, Mapping[str, Any]],
    zoho: Mapping[str, Mapping[str, Any]],
    known: Set[str] | None = None,
) -> list[Finding]:
    """`expected`: key -> mapped Zoho record; `zoho`: key -> Zoho record (with `id`)."""
    findings = []
    for key in sorted(expected.keys() | zoho.keys()):
        record = zoho.get(key)
        if record is None:
            findings.append(Finding(entity, key, ONLY_SAGE))
            continue
        zoho_id = str(record.get("id")) if record.get("id") is not None else None
        if key not in expected:
            findings.append(Finding(entity, key, ONLY_ZOHO, zoho_id))
            continue
        fields = differing_fields(expected[key], record, known)
        cleared = tuple(f for f in fields if _norm(expected[key].get(f)) is None)
        status = DIFFERENT if fields else EQUAL
        findings.append(Finding(entity, key, status, zoho_id, fields, cleared))
    return findings
