"""Sage errors. Retry code switches on the class, never on message text.

SageError
├── SageRetryableError       try again later
│   ├── SageUnavailable      agent unreachable, timeout, 5xx
│   └── SageRecordLocked     Sage 100's COM layer reported "Record/file busy"
└── SagePermanentError       needs a person
    ├── SageAuthError        agent token (or Sage logon) rejected
    ├── SageNotFound         company or record does not exist
    └── SageProtocolError    the agent answered something we cannot read
"""

from __future__ import annotations


class SageError(Exception):
    pass


class SageRetryableError(SageError):
    pass


class SageUnavailable(SageRetryableError):
    pass


class SageRecordLocked(SageRetryableError):
    pass


class SagePermanentError(SageError):
    pass


class SageAuthError(SagePermanentError):
    pass


class SageNotFound(SagePermanentError):
    pass


class SageProtocolError(SagePermanentError):
    pass
