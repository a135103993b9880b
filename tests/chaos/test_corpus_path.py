"""The whole-path corpus's cases and its judging (chaos/corpus_path.py); the run through the
real stack is tests/e2e/test_corpus_whole_path.py."""

from __future__ import annotations

import base64

from mlc_core.contracts import Entity

from chaos.corpus_path import (
    Arrives,
    KafkaCase,
    Letter,
    PathCase,
    judge_kafka,
    judge_row,
)
from chaos.corpus_path_cases import KAFKA_CASES, SAGE_ROW_CASES

CASE = PathCase("bad city", Entity.AR_CUSTOMER, {"ARDivisionNo": "01", "CustomerNo": "C1"},
                Letter("sage-poller", "City", "not valid UTF-8"))  # fmt: skip
GOOD_LETTER = {
    "source_key": "01-C1",
    "stage": "sage-poller",
    "field": "City",
    "error_message": "tenant t1, ar_customer 01-C1: invalid Sage record, City: text is not valid"
    " UTF-8 (bytes 4dfc)",
}


def test_at_least_80_distinct_cases_with_distinct_records() -> None:
    cases: list[PathCase | KafkaCase] = [*SAGE_ROW_CASES, *KAFKA_CASES]
    assert len(cases) >= 80
    assert len({c.name for c in cases}) == len(cases)
    keys = [(c.entity, c.source_key) for c in SAGE_ROW_CASES]
    assert len(set(keys)) == len(keys)  # each case's answer is told apart by its key
    assert len({c.value("t") for c in KAFKA_CASES}) == len(KAFKA_CASES)


def test_a_letter_naming_tenant_entity_key_field_and_reason_passes() -> None:
    result = judge_row(CASE, "t1", [GOOD_LETTER], {}, good_missing=0)
    assert result.passed, result.observed


def test_a_letter_missing_any_part_or_good_records_missing_fails() -> None:
    for broken in (
        {**GOOD_LETTER, "field": "CustomerName"},
        {**GOOD_LETTER, "stage": "mapper"},
        {**GOOD_LETTER, "error_message": "City: text is not valid UTF-8"},  # no tenant or key
        {**GOOD_LETTER, "error_message": "tenant t1, ar_customer 01-C1: City: bad"},  # no reason
    ):
        assert not judge_row(CASE, "t1", [broken], {}, good_missing=0).passed, broken
    assert not judge_row(CASE, "t1", [], {}, good_missing=0).passed
    missing = judge_row(CASE, "t1", [GOOD_LETTER], {}, good_missing=3)
    assert not missing.passed and "3 good records missing" in missing.observed


def test_hostile_text_must_arrive_verbatim_and_without_a_letter() -> None:
    case = PathCase("script", Entity.AR_CUSTOMER, {"ARDivisionNo": "01", "CustomerNo": "H1"},
                    Arrives("Account_Name", "<b>x</b>"))  # fmt: skip
    assert judge_row(case, "t1", [], {"01-H1": {"Account_Name": "<b>x</b>"}}, 0).passed
    assert not judge_row(case, "t1", [], {"01-H1": {"Account_Name": "&lt;b&gt;"}}, 0).passed
    letter = {**GOOD_LETTER, "source_key": "01-H1"}
    assert not judge_row(case, "t1", [letter], {"01-H1": {"Account_Name": "<b>x</b>"}}, 0).passed


def test_a_kafka_case_is_matched_by_its_bytes_and_must_name_the_reason() -> None:
    case = KAFKA_CASES[0]
    original = {"value_b64": base64.b64encode(case.value("t1")).decode()}
    letter = {
        "stage": "mapper",
        "original": original,
        "error_message": f"tenant t1: malformed message: {case.reason} is wrong",
    }
    assert judge_kafka(case, "t1", [letter], good_missing=0).passed
    assert not judge_kafka(case, "t1", [{**letter, "error_message": "tenant t1: x"}], 0).passed
    assert not judge_kafka(case, "t2", [letter], good_missing=0).passed
