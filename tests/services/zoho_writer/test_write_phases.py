"""Within one batch, records that also match on a second key are written after the rest
(unit: the chunk writer is replaced by a recorder; no Zoho, no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from zoho_writer import writing
from zoho_writer.service import chunks

from tests.factories import command


def invoice(key: str, *, match_open: bool) -> Any:
    cmd = command(key=key).model_copy(update={"module": "Invoices"})
    if match_open:  # invoice history: Sage_Invoice_No first, then the open invoice's key
        update = {"external_field": "Sage_Invoice_No", "also_match": ["Sage_Open_Invoice_Key"]}
        return cmd.model_copy(update=update)
    return cmd.model_copy(update={"external_field": "Sage_Open_Invoice_Key"})


async def test_history_invoices_wait_for_the_open_invoices_of_the_same_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: list[tuple[tuple[str, ...], list[str]]] = []

    async def record(_run: Any, _t: Any, keys: tuple[str, ...], chunk: Any, *_: Any) -> None:
        written.append((keys, [c.external_value for c in chunk]))
        await asyncio.sleep(0)  # let a concurrently started sibling run, were there one

    monkeypatch.setattr(writing, "_write_chunk", record)
    history = invoice("0100234:000000", match_open=True)
    opened = invoice("01-ABF:0100234:IN", match_open=False)
    customer = command(key="01-ABF")
    await writing._write_ready(None, None, [history, opened, customer], asyncio.Semaphore(10), None)  # type: ignore[arg-type]
    assert written[-1] == (("Sage_Invoice_No", "Sage_Open_Invoice_Key"), ["0100234:000000"])
    assert {keys for keys, _ in written[:-1]} == {
        ("Sage_Open_Invoice_Key",),
        ("Sage_Customer_No",),
    }


def test_chunks_keep_different_duplicate_check_lists_apart() -> None:
    history = invoice("0100234:000000", match_open=True)
    plain = invoice("0100235:000000", match_open=False)
    keys = [key for key, _ in chunks([history, plain])]
    assert keys == [
        ("Invoices", ("Sage_Invoice_No", "Sage_Open_Invoice_Key")),
        ("Invoices", ("Sage_Open_Invoice_Key",)),
    ]
