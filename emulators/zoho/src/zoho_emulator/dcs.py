"""Data centres, emulated by path prefix on one host.

The accounts server of DC `d` is `{base}/accounts/{d}` and its API domain is
`{base}/api/{d}`, where `{base}` is the scheme, host and port the request came
in on (zoho-crm.md §1.1 lists the real hosts).
"""

from __future__ import annotations

DATA_CENTRES: tuple[str, ...] = ("us", "eu", "in", "au", "jp", "cn", "ca", "sa")


def is_data_centre(dc: str) -> bool:
    return dc in DATA_CENTRES


def accounts_server(base: str, dc: str) -> str:
    return f"{base.rstrip('/')}/accounts/{dc}"


def api_domain(base: str, dc: str) -> str:
    return f"{base.rstrip('/')}/api/{dc}"
