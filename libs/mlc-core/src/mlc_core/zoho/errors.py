"""Zoho errors. Retry code switches on the class, never on message text.

ZohoError
├── ZohoRetryableError          try again later; the same request can succeed
│   ├── ZohoUnavailable         5xx, timeouts, connection failures
│   ├── ZohoRateLimited         429: credits or concurrency exhausted
│   └── ZohoTokenThrottled      "Access Denied": too many token refreshes in 10 minutes
└── ZohoPermanentError          the same request will fail again until someone fixes something
    ├── ZohoAuthError           refresh token / client rejected (invalid_code, invalid_client…)
    ├── ZohoTokenInvalid        401 INVALID_TOKEN: refresh once, then treat as permanent
    ├── ZohoScopeError          401 OAUTH_SCOPE_MISMATCH / 403 NO_PERMISSION
    ├── ZohoRequestError        whole request rejected (LIMIT_EXCEEDED, …)
    └── ZohoModuleUnavailable   400 INVALID_MODULE: the org's edition (or permissions) lacks it
"""

from __future__ import annotations


class ZohoError(Exception):
    """Root of every Zoho failure; `code` is Zoho's error code when it sent one."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class ZohoRetryableError(ZohoError):
    pass


class ZohoUnavailable(ZohoRetryableError):
    pass


class ZohoRateLimited(ZohoRetryableError):
    # X-API-CREDITS-REMAINING of the 429, when Zoho sent it (0: the day's credits are gone).
    credits_remaining: int | None = None


class ZohoTokenThrottled(ZohoRetryableError):
    pass


class ZohoPermanentError(ZohoError):
    pass


class ZohoAuthError(ZohoPermanentError):
    pass


class ZohoTokenInvalid(ZohoPermanentError):
    pass


class ZohoScopeError(ZohoPermanentError):
    pass


class ZohoRequestError(ZohoPermanentError):
    pass


class ZohoModuleUnavailable(ZohoPermanentError):
    pass
