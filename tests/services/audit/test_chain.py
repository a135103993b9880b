"""audit.chain's checking of a hash chain, on links built here (no database)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from audit.chain import GENESIS, ChainCheck, Link, link_hash, report


def chain_of(count: int) -> list[Link]:
    links, prev = [], GENESIS
    for seq in range(1, count + 1):
        digest = hashlib.sha256(f"event {seq}".encode()).digest()
        link = Link(seq, uuid.uuid4(), datetime.now(UTC), prev, link_hash(prev, digest), digest)
        links.append(link)
        prev = link.hash
    return links


def checked(links: list[Link]) -> ChainCheck:
    return ChainCheck(chain="acme", expected_seq=1, expected_prev=GENESIS).feed_all(links)


def test_an_untouched_chain_is_intact_up_to_its_head() -> None:
    links = chain_of(5)
    check = checked(links)
    check.end_at_head(5, links[-1].hash)
    assert check.intact and check.checked == 5 and check.last_hash == links[-1].hash


def test_a_changed_digest_breaks_that_link_and_stops_there() -> None:
    links = chain_of(5)
    links[2] = replace(links[2], digest=hashlib.sha256(b"forged").digest())
    check = checked(links)
    assert check.broken is not None and check.broken.seq == 3
    assert check.broken.event_id == links[2].event_id and "content changed" in check.broken.reason
    assert check.checked == 3  # nothing after the first break is judged


def test_a_missing_event_is_named_by_its_seq() -> None:
    links = chain_of(6)
    check = checked(links[:2] + links[4:])
    assert check.broken is not None and check.broken.seq == 5
    assert "events 3-4 are missing" in check.broken.reason


def test_a_rehashed_event_still_breaks_the_next_link() -> None:
    links = chain_of(4)
    forged_digest = hashlib.sha256(b"forged").digest()
    links[1] = replace(
        links[1], digest=forged_digest, hash=link_hash(links[1].prev_hash, forged_digest)
    )
    check = checked(links)
    assert check.broken is not None and check.broken.seq == 3
    assert "prev_hash" in check.broken.reason


def test_a_missing_tail_is_caught_by_the_head_and_reported() -> None:
    links = chain_of(4)
    check = checked(links[:3])
    check.end_at_head(4, links[-1].hash)
    assert check.broken is not None and check.broken.seq == 4
    intact, text = report([check], unchained=0, orphans=[])
    assert not intact and "tenant acme: BROKEN at link 4" in text
