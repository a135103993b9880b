"""Sage keys in Zoho URL paths (issue 14): a `#`, `?`, `/`, `%` or `..` in an external value
must reach exactly that record, against the Zoho emulator running as its own process over HTTP.

Before, the value went into the path as it was: `01-A#1` read `01-A` (the fragment was cut),
`01-A/B` asked for another URL, `..` resolved to the module itself. A delete found by such a
lookup removed another customer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mlc_core.zoho.errors import ZohoRequestError
from mlc_core.zoho.records import delete_one, find_by_external, get_by_external, path_segment

from tests.emulators.test_zoho_emulator import Session, connect
from tests.services.zoho_writer.live import emulator_url

__all__ = ["emulator_url"]  # the module-scoped fixture: the emulator process
PLAIN = "01-A"
HOSTILE = ["01-A#1", "01-A?x=1", "01-A/B", "01-A/../B", "..", ".", "%41", "01 A&B+C"]
EXTERNAL = "Sage_Customer_No"


@pytest.fixture
async def zoho(emulator_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Session]]:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=30) as http:
        session = await connect(http, org=f"paths{id(http) % 100000}")
        yield http, session


def auth(session: Session) -> dict[str, Any]:
    return {"api_domain": session.api_domain, "access_token": session.access_token}


async def upsert(http: httpx.AsyncClient, session: Session, values: list[str]) -> None:
    records = [{"Account_Name": f"Account {v}", EXTERNAL: v} for v in values]
    response = await http.post(
        f"{session.api_domain}/crm/v8/Accounts/upsert",
        json={"data": records, "duplicate_check_fields": [EXTERNAL]},
        headers=session.headers,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", HOSTILE)
async def test_a_key_with_url_syntax_reads_only_its_own_record(
    zoho: tuple[httpx.AsyncClient, Session], value: str
) -> None:
    http, session = zoho
    await upsert(http, session, [PLAIN, "B"])
    lookup = {"module": "Accounts", "external_field": EXTERNAL, "value": value}

    assert await get_by_external(http, **auth(session), **lookup) is None  # not there yet

    await upsert(http, session, [value])
    found = await get_by_external(http, **auth(session), **lookup)
    assert found is not None and found[EXTERNAL] == value


@pytest.mark.parametrize("value", ["01-A#1", "01-A?x=1", "01-A/B"])
async def test_deleting_by_such_a_key_never_deletes_another_record(
    zoho: tuple[httpx.AsyncClient, Session], value: str
) -> None:
    http, session = zoho
    await upsert(http, session, [PLAIN])
    lookup = {"module": "Accounts", "external_field": EXTERNAL, "value": value}
    assert await find_by_external(http, **auth(session), **lookup) is None

    await upsert(http, session, [value])
    zoho_id = await find_by_external(http, **auth(session), **lookup)
    assert zoho_id is not None
    result = await delete_one(http, **auth(session), module="Accounts", record_id=zoho_id)

    assert result.ok
    assert await find_by_external(http, **auth(session), **lookup) is None
    plain = {**lookup, "value": PLAIN}
    assert await find_by_external(http, **auth(session), **plain) is not None


def test_a_segment_decodes_back_to_the_value() -> None:
    from urllib.parse import unquote

    for value in [*HOSTILE, "É", "a b"]:
        segment = path_segment(value)
        assert "/" not in segment and "#" not in segment and "?" not in segment
        assert segment not in (".", "..")
        assert unquote(segment) == value
    with pytest.raises(ZohoRequestError):
        path_segment("")
