"""GET /crm/v8/{module}/search (zoho-crm.md §3.3).

One form per call, precedence criteria > email > phone > word.  Criteria hold at
most 10 conditions joined by `and`/`or`, evaluated left to right (nesting beyond
that is not modelled).  `equals` matches like "contains", case-insensitively.
At most 2000 results in all (LIMIT_REACHED past that), ≤200 per page, 204 when
nothing matches.  An org can lag its index: records written within the last
`search_lag_seconds` are not found yet, as Zoho warns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from zoho_emulator.errors import ApiError
from zoho_emulator.metadata import STRING_TYPES, DataType, ModuleDef
from zoho_emulator.orgs import Org
from zoho_emulator.records import StoredRecord, index_key

MAX_CONDITIONS = 10
MAX_RESULTS = 2000
MAX_PER_PAGE = 200
_CONDITION = re.compile(r"\(([A-Za-z][A-Za-z0-9_]*):([a-z_]+):((?:\\.|[^\\)])*)\)")
_UNESCAPE = re.compile(r"\\(.)")
_WORD = re.compile(r"^[\w@.+\- ]{2,}$")
Test = Callable[[object], bool]


def _bad_query(reason: str) -> ApiError:
    return ApiError(400, "INVALID_QUERY", "invalid query formed", {"reason": reason})


def _text(value: object) -> str:
    return (index_key(value) or ("" if value is None else str(value))).lower()


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _compare(op: str, wanted: str) -> Test:
    def test(value: object) -> bool:
        left, right = _number(value), _number(wanted)
        if left is None or right is None:
            a, b = _text(value), wanted.lower()
            return {"greater_than": a > b, "less_than": a < b}.get(op, False) or (
                op.endswith("equal") and a == b
            )
        return {
            "greater_than": left > right,
            "greater_equal": left >= right,
            "less_than": left < right,
            "less_equal": left <= right,
        }[op]

    return test


def _test(op: str, wanted: str) -> Test:
    low = wanted.lower()
    if op == "equals":
        return lambda v: low in _text(v)
    if op == "not_equal":
        return lambda v: low not in _text(v)
    if op == "starts_with":
        return lambda v: _text(v).startswith(low)
    if op == "in":
        options = {part.strip().lower() for part in re.split(r"(?<!\\),", wanted)}
        if len(options) > 100:
            raise _bad_query("in takes at most 100 values")
        return lambda v: _text(v) in options
    if op in ("greater_than", "greater_equal", "less_than", "less_equal"):
        return _compare(op, wanted)
    raise _bad_query(f"unknown operator {op}")


@dataclass(frozen=True)
class Criteria:
    tests: list[tuple[str, Test]]
    joiners: list[str]

    @classmethod
    def parse(cls, module: ModuleDef, text: str) -> Criteria:
        matches = list(_CONDITION.finditer(text))
        if not matches:
            raise _bad_query("criteria must look like (Field:operator:value)")
        if len(matches) > MAX_CONDITIONS:
            raise ApiError(400, "LIMIT_EXCEEDED", "the limit exceeded", {"limit": MAX_CONDITIONS})
        tests: list[tuple[str, Test]] = []
        joiners: list[str] = []
        for i, match in enumerate(matches):
            name, op, raw = match.groups()
            if module.field(name) is None and name != "id":
                raise _bad_query(f"unknown field {name}")
            tests.append((name, _test(op, _UNESCAPE.sub(r"\1", raw))))
            if i:
                between = text[matches[i - 1].end() : match.start()].strip("() ").lower()
                if between not in ("and", "or"):
                    raise _bad_query("conditions must be joined by and/or")
                joiners.append(between)
        return cls(tests, joiners)

    def matches(self, record: StoredRecord) -> bool:
        def one(i: int) -> bool:
            name, test = self.tests[i]
            return test(record.id if name == "id" else record.values.get(name))

        result = one(0)
        for i, joiner in enumerate(self.joiners, start=1):
            result = (result and one(i)) if joiner == "and" else (result or one(i))
        return result


def _any_of(fields: list[str], test: Test) -> Callable[[StoredRecord], bool]:
    return lambda r: any(test(r.values.get(name)) for name in fields)


def _matcher(module: ModuleDef, params: Mapping[str, str]) -> Callable[[StoredRecord], bool]:
    if "criteria" in params:
        return Criteria.parse(module, params["criteria"]).matches
    if "email" in params:
        wanted = params["email"].lower()
        emails = [f.api_name for f in module.fields_of(DataType.EMAIL)]
        return _any_of(emails, lambda v: _text(v) == wanted)
    if "phone" in params:
        digits = re.sub(r"\D", "", params["phone"])
        phones = [f.api_name for f in module.fields_of(DataType.PHONE)]
        return _any_of(phones, lambda v: bool(digits) and digits in re.sub(r"\D", "", _text(v)))
    if "word" in params:
        word = params["word"]
        if not _WORD.match(word):
            details = {"api_name": "word", "reason": "at least 2 characters, no special ones"}
            raise ApiError(400, "INVALID_DATA", "invalid data", details)
        texts = [f.api_name for f in module.fields.values() if f.data_type in STRING_TYPES]
        return _any_of(texts, _test("equals", word))
    raise ApiError(
        400,
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        {"param": "criteria"},
    )


def _page_params(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        page, per_page = int(params.get("page", "1")), int(params.get("per_page", "200"))
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param": "page"}) from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param": "per_page"})
    if page * per_page > MAX_RESULTS:
        details = {"limit": MAX_RESULTS}
        raise ApiError(400, "LIMIT_REACHED", "search results limit reached", details)
    return page, per_page


def search(org: Org, module: ModuleDef, params: Mapping[str, str], now: float) -> Response:
    match = _matcher(module, params)
    page, per_page = _page_params(params)
    indexed_before = now - org.search_lag_seconds
    hits = [
        r
        for r in org.store(module).all()
        if (not org.search_lag_seconds or r.modified_time <= indexed_before) and match(r)
    ]
    start = (page - 1) * per_page
    chunk = hits[start : start + per_page]
    if not chunk:
        return Response(status_code=204)
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": start + len(chunk) < min(len(hits), MAX_RESULTS),
    }
    return JSONResponse({"data": [org.record_view(module, r) for r in chunk], "info": info})
