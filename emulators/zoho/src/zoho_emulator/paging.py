"""page_token paging past the first 2000 records (zoho-crm.md §3.2).

`page` reaches only the first 2000 records; `info.next_page_token` continues from there. A
token is bound to the request's parameters (TOKEN_BOUND_DATA_MISMATCH), lasts 24 h
(EXPIRED_VALUE), cannot be combined with `page` (AMBIGUITY_DURING_PROCESSING), and paging
stops at 100,000 records (PAGINATION_LIMIT_EXCEEDED).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from zoho_emulator.errors import ApiError

TOKEN_SECONDS = 24 * 3600
MAX_TOKEN_RECORDS = 100_000


@dataclass(frozen=True)
class Cursor:
    bound_to: tuple[object, ...]  # module, fields, sort, per_page, If-Modified-Since
    offset: int
    expires_at: float


@dataclass
class PageTokens:
    """An org's live page tokens (the emulator has one user per org)."""

    _cursors: dict[str, Cursor] = field(default_factory=dict)

    def issue(self, bound_to: tuple[object, ...], offset: int, now: float) -> tuple[str, float]:
        token = secrets.token_hex(24)
        cursor = Cursor(bound_to, offset, now + TOKEN_SECONDS)
        self._cursors[token] = cursor
        return token, cursor.expires_at

    def offset(self, token: str, bound_to: tuple[object, ...], now: float) -> int:
        cursor = self._cursors.get(token)
        if cursor is None:
            raise _error("INVALID_DATA", "invalid data", {"param": "page_token"})
        if cursor.expires_at <= now:
            raise _error("EXPIRED_VALUE", "the page_token has expired", {"param": "page_token"})
        if cursor.bound_to != bound_to:
            message = "the page_token was issued for other parameters"
            raise _error("TOKEN_BOUND_DATA_MISMATCH", message, {"param": "page_token"})
        if cursor.offset >= MAX_TOKEN_RECORDS:
            message = "records beyond 100000 cannot be fetched"
            raise _error("PAGINATION_LIMIT_EXCEEDED", message, {"limit": MAX_TOKEN_RECORDS})
        return cursor.offset


def ambiguous() -> ApiError:
    message = "page and page_token cannot be used together"
    return _error("AMBIGUITY_DURING_PROCESSING", message, {"param_names": ["page", "page_token"]})


def _error(code: str, message: str, details: dict[str, object]) -> ApiError:
    return ApiError(400, code, message, details)
