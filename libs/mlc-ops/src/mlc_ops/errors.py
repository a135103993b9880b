"""Errors an operation raises for its caller to show: the message names tenant, record and
what to do. (Zoho and tenant errors come as mlc_core's own: ZohoError, TenantNotFound.)"""

from __future__ import annotations


class OpsError(Exception):
    """The operation cannot be done as asked; nothing was changed."""


class NotFound(OpsError):
    """The tenant, record or request asked about does not exist."""


class Refused(OpsError):
    """The request is invalid, or the state forbids it (a disabled tenant, a live group)."""
