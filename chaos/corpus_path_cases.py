"""The whole-path corpus's cases (judged by chaos/corpus_path.py): bad Sage rows from the
reference's field lengths, formats and dates (docs/reference/sage100.md), hostile text and
keys, and hostile messages on mlc.sage.changes."""

from __future__ import annotations

from typing import Any

from mlc_core.contracts import Entity

from chaos.corpus_path import Arrives, KafkaCase, Letter, PathCase

PARENT = "ABF"  # the customer every contact case belongs to (a good record itself)


def _cu(number: str, **values: Any) -> dict[str, Any]:
    return {"ARDivisionNo": "01", "CustomerNo": number, "CustomerName": "Corpus Customer", **values}


def _co(code: str, **values: Any) -> dict[str, Any]:
    return {
        "ARDivisionNo": "01",
        "CustomerNo": PARENT,
        "ContactCode": code,
        "ContactName": "Artie Johnson",
        **values,
    }


def _poller(name: str, entity: Entity, row: dict[str, Any], field: str, reason: str) -> PathCase:
    return PathCase(name, entity, row, Letter("sage-poller", field, reason))


def _mapper(name: str, entity: Entity, row: dict[str, Any], field: str, reason: str) -> PathCase:
    return PathCase(name, entity, row, Letter("mapper", field, reason))


C, K = Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT
UTF8 = "not valid UTF-8"
LONG = "Sage holds at most"
DATE = "YYYYMMDD"
KEY = "upper-case characters"
BROKEN = "broken encoding"
SAGE_ROW_CASES: list[PathCase] = [
    _poller("amount NaN", C, _cu("NAN1", CreditLimit="nan"), "CreditLimit", "not a finite"),
    _poller("amount infinite", C, _cu("INF1", CurrentBalance="inf"), "CurrentBalance", "finite"),
    _poller("amount past a double", C, _cu("BIG1", CreditLimit="1e400"), "CreditLimit", "finite"),
    _poller("lone surrogate", C, _cu("SUR1", City="Mil\udc80"), "City", UTF8),
    PathCase(
        "lone high surrogate",
        C,
        _cu("SUR2", CustomerName="A\ud800B"),
        Letter("sage-poller", "CustomerName", UTF8),
        alone=True,
    ),
    _poller("missing customer number", C, _cu(""), "CustomerNo", KEY),
    _poller(
        "division not two digits",
        C,
        {**_cu("DIV1"), "ARDivisionNo": "1"},
        "ARDivisionNo",
        "two digits",
    ),
    _poller("lower-case customer number", C, _cu("abc"), "CustomerNo", KEY),
    _poller("customer number too long", C, _cu("X" * 21), "CustomerNo", KEY),
    _poller("'#' in a customer number", C, _cu("A#1"), "CustomerNo", KEY),
    _poller("'?' in a customer number", C, _cu("A?1"), "CustomerNo", KEY),
    _poller("'..' as a customer number", C, _cu(".."), "CustomerNo", KEY),
    _poller("'%2F' in a customer number", C, _cu("A%2F1"), "CustomerNo", KEY),
    _poller("space in a customer number", C, _cu("A B"), "CustomerNo", KEY),
    _poller("NUL in a customer number", C, _cu("A\x00B"), "CustomerNo", KEY),
    _poller(
        "name longer than Sage holds", C, _cu("LONG1", CustomerName="N" * 51), "CustomerName", LONG
    ),
    _poller("city of 31 characters", C, _cu("LONG2", City="C" * 31), "City", LONG),
    _poller("state of 3 characters", C, _cu("LONG3", State="WIS"), "State", LONG),
    _poller("zip code of 11 characters", C, _cu("LONG4", ZipCode="1" * 11), "ZipCode", LONG),
    _poller(
        "e-mail of 251 characters",
        C,
        _cu("LONG5", EmailAddress="a" * 245 + "@x.com"),
        "EmailAddress",
        LONG,
    ),
    _poller("comment of 31 characters", C, _cu("LONG6", Comment="c" * 31), "Comment", LONG),
    _poller(
        "1 MB address line", C, _cu("HUGE1", AddressLine1="x" * 1_048_576), "AddressLine1", LONG
    ),
    _poller(
        "telephone extension of 7", C, _cu("LONG7", TelephoneExt="1" * 7), "TelephoneExt", LONG
    ),
    _poller("URL of 51 characters", C, _cu("LONG8", URLAddress="w" * 51), "URLAddress", LONG),
    _poller("terms code of 3", C, _cu("LONG9", TermsCode="NET"), "TermsCode", LONG),
    _poller("February 30th", C, _cu("DATE1", DateEstablished="20260230"), "DateEstablished", DATE),
    _poller(
        "February 29th, 2025", C, _cu("DATE6", DateEstablished="20250229"), "DateEstablished", DATE
    ),
    _poller("December 32nd", C, _cu("DATE7", DateEstablished="20261232"), "DateEstablished", DATE),
    PathCase(
        "update stamp not a date",
        C,
        _cu("STMP1", DateUpdated="yesterday", TimeUpdated="1.0"),
        Letter("sage-poller", "DateUpdated", DATE),
        stamped=False,
    ),
    PathCase(
        "update time as clock text",
        C,
        _cu("STMP2", DateUpdated="20261204", TimeUpdated="14:30"),
        Letter("sage-poller", "TimeUpdated", "decimal hours"),
        stamped=False,
    ),
    PathCase(
        "update time beyond 24 hours",
        C,
        _cu("STMP3", DateUpdated="20261204", TimeUpdated="25.5"),
        Letter("sage-poller", "TimeUpdated", "out of range"),
        stamped=False,
    ),
    _poller("non-UTF-8 bytes", C, _cu("ENC1", City={"$bytes_hex": "4dfc6e6368656e"}), "City", UTF8),
    _poller(
        "U+FFFD from a lossy decode",
        C,
        _cu("ENC2", AddressLine1="M\ufffdnchen"),
        "AddressLine1",
        "U+FFFD",
    ),
    _poller(
        "Windows-1252 quotes",
        C,
        _cu("ENC3", CustomerName={"$bytes_hex": "93416c70686194"}),
        "CustomerName",
        UTF8,
    ),
    _mapper(
        "NUL byte in a name", C, _cu("NUL1", CustomerName="ABC\x00Corp"), "CustomerName", BROKEN
    ),
    _mapper("bell character", C, _cu("CTL1", City="Mil\x07waukee"), "City", BROKEN),
    _mapper("terminal escape", C, _cu("CTL2", AddressLine2="\x1b[31mred"), "AddressLine2", BROKEN),
    _mapper("blank name", C, _cu("EMP1", CustomerName="   "), "CustomerName", "is empty"),
    _mapper("amount as text", C, _cu("TXT1", CreditLimit="lots"), "CreditLimit", "a number"),
    _mapper("unknown country", C, _cu("CTY1", CountryCode="XX"), "CountryCode", "unknown country"),
    _mapper("unknown status", C, _cu("STA1", CustomerStatus="Z"), "CustomerStatus", "unknown code"),
    _mapper("flag neither Y nor N", C, _cu("FLG1", CreditHold="X"), "CreditHold", "Y or N"),
    _mapper(
        "phone that is not one", C, _cu("PHN1", TelephoneNo="call me"), "TelephoneNo", "not a phone"
    ),
    _mapper(
        "javascript: URL",
        C,
        _cu("URL1", URLAddress="javascript:alert(1)"),
        "URLAddress",
        "not a web address",
    ),
    PathCase(
        "script injection",
        C,
        _cu("HOS1", CustomerName="<script>alert(1)</script>"),
        Arrives("Account_Name", "<script>alert(1)</script>"),
    ),
    PathCase(
        "SQL injection",
        C,
        _cu("HOS2", CustomerName="x'); DROP TABLE audit_log;--"),
        Arrives("Account_Name", "x'); DROP TABLE audit_log;--"),
    ),
    PathCase(
        "formula injection",
        C,
        _cu("HOS3", City='=HYPERLINK("http://x")'),
        Arrives("Billing_City", '=HYPERLINK("http://x")'),
    ),
    PathCase(
        "right-to-left override",
        C,
        _cu("HOS4", CustomerName="abc\u202egnp.exe"),
        Arrives("Account_Name", "abc\u202egnp.exe"),
    ),
    PathCase(
        "emoji outside the BMP",
        C,
        _cu("HOS5", CustomerName="Caf\u00e9 \U0001f600"),
        Arrives("Account_Name", "Caf\u00e9 \U0001f600"),
    ),
    PathCase(
        "the agent's own marker as text",
        C,
        _cu("HOS6", CustomerName='{"$bytes_hex":"00"}'),
        Arrives("Account_Name", '{"$bytes_hex":"00"}'),
    ),
    PathCase(
        "'/' in a customer number",
        C,
        _cu("A/1", CustomerName="Slash Key"),
        Arrives("Account_Name", "Slash Key"),
    ),
    PathCase(
        "'/../' in a customer number",
        C,
        _cu("A/../B", CustomerName="Dot Dot Key"),
        Arrives("Account_Name", "Dot Dot Key"),
    ),
    PathCase(
        "'&' in a customer number",
        C,
        _cu("A&B", CustomerName="Ampersand Key"),
        Arrives("Account_Name", "Ampersand Key"),
    ),
    _poller("contact code with ':'", K, _co("A:B"), "ContactCode", "not allowed in a key"),
    _poller("blank contact code", K, _co("  "), "ContactCode", "missing or blank"),
    _poller("contact code of 11", K, _co("C" * 11), "ContactCode", "longer than 10"),
    _poller(
        "contact of a lower-case customer",
        K,
        {**_co("LOW"), "CustomerNo": "abf"},
        "CustomerNo",
        KEY,
    ),
    _poller(
        "contact e-mail of 51",
        K,
        _co("EML2", EmailAddress="a" * 45 + "@x.com"),
        "EmailAddress",
        LONG,
    ),
    _poller("contact name of 51", K, _co("NAM", ContactName="n" * 51), "ContactName", LONG),
    _poller("contact notes of 2049", K, _co("NOTE", ContactNotes="n" * 2049), "ContactNotes", LONG),
    _poller("contact title of 16", K, _co("TTL", ContactTitle="t" * 16), "ContactTitle", LONG),
    _poller(
        "contact name, undecodable", K, _co("SUR", ContactName="Art\udcffie"), "ContactName", UTF8
    ),
    _poller("contact city, non-UTF-8", K, _co("ENC", City={"$bytes_hex": "4dfc"}), "City", UTF8),
    _poller(
        "contact address, U+FFFD", K, _co("FFFD", AddressLine1="a\ufffdb"), "AddressLine1", "U+FFFD"
    ),
    _mapper(
        "contact e-mail without @",
        K,
        _co("EML", EmailAddress="artie at abf"),
        "EmailAddress",
        "not an e-mail",
    ),
    _mapper("contact without a name", K, _co("NAM2", ContactName=""), "ContactName", "is empty"),
    _mapper("NUL in contact notes", K, _co("NUL", ContactNotes="a\x00b"), "ContactNotes", BROKEN),
    _mapper(
        "contact phone that is not one",
        K,
        _co("PHN", TelephoneNo1="none"),
        "TelephoneNo1",
        "not a phone",
    ),
    _mapper(
        "contact country unknown",
        K,
        _co("CTY", CountryCode="ZZZ"),
        "CountryCode",
        "unknown country",
    ),
    _mapper(
        "control character in a contact name",
        K,
        _co("CTL", ContactName="Art\x1bie"),
        "ContactName",
        BROKEN,
    ),
    PathCase(
        "'#' in a contact code",
        K,
        _co("A#B", ContactName="Hash Code"),
        Arrives("Last_Name", "Code"),
    ),
    PathCase(
        "'/' in a contact code",
        K,
        _co("A/B", ContactName="Slash Code"),
        Arrives("Last_Name", "Code"),
    ),
    PathCase(
        "'..' as a contact code",
        K,
        _co("..", ContactName="Dots Code"),
        Arrives("Last_Name", "Code"),
    ),
    PathCase(
        "'?' in a contact code",
        K,
        _co("Q?1", ContactName="Query Code"),
        Arrives("Last_Name", "Code"),
    ),
    PathCase(
        "HTML in contact notes",
        K,
        _co("HTM", ContactNotes="<img src=x onerror=alert(1)>"),
        Arrives("Description", "<img src=x onerror=alert(1)>"),
    ),
]

KAFKA_CASES: list[KafkaCase] = [
    KafkaCase("unknown event type", 1, {"event_type": "sage.record.exploded"}, reason="event_type"),
    KafkaCase("wrong schema version", 2, {"schema_version": 99}, reason="schema version 99"),
    KafkaCase(
        "schema version past 64 bits", 3, {"schema_version": 2**70}, reason="schema version 1180"
    ),
    KafkaCase("500-character tenant id", 4, {"tenant_id": "t" * 500}, reason="tenant_id"),
    KafkaCase("NUL in the tenant id", 5, {"tenant_id": "corpus\x00x"}, reason="tenant_id"),
    KafkaCase("500-character source key", 6, {"source_key": "0" * 500}, reason="source_key"),
    KafkaCase("unknown entity", 7, {"entity": "payroll"}, reason="entity"),
    KafkaCase("record not an object", 8, {"record": "ABF"}, reason="record"),
    KafkaCase("unexpected field", 9, {"evil": True}, reason="evil"),
    KafkaCase("not JSON", 10, None, b"\x00\x01 not json", reason="json"),
    KafkaCase("JSON array", 11, None, b"[1, 2]", reason="tagged-union"),
    KafkaCase("empty message", 12, None, b"", reason="json"),
    KafkaCase(
        "invalid UTF-8 in JSON",
        13,
        None,
        b'{"event_type": "sage.record.changed\xff"}',
        reason="invalid unicode",
    ),
]


def good_rows(entity: Entity, count: int) -> list[dict[str, Any]]:
    """Good records around the bad ones (the contacts' parent customer among them)."""
    if entity is Entity.AR_CUSTOMER:
        return [_cu(PARENT, CustomerName="Parent Customer")] + [
            _cu(f"OK{n:03d}", CustomerName=f"Good customer {n}") for n in range(count)
        ]
    return [_co(f"OK{n:03d}", ContactName=f"Good Contact{n}") for n in range(count)]


def expected_good(entity: Entity, count: int) -> set[str]:
    """Source keys of the good rows and of the cases that must arrive."""
    keys = {
        PathCase("", entity, row, Arrives("", "")).source_key for row in good_rows(entity, count)
    }
    keys |= {
        c.source_key for c in SAGE_ROW_CASES if c.entity is entity and isinstance(c.expect, Arrives)
    }
    return keys


def kafka_good_keys() -> set[str]:
    return {f"01-KG{case.number:03d}" for case in KAFKA_CASES}
