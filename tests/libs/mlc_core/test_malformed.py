"""The tenant a Kafka key names: what the writer groups a batch by before decoding it."""

from __future__ import annotations

import pytest
from mlc_core.contracts import record_key
from mlc_core.malformed import key_tenant

pytestmark = pytest.mark.unit


def test_a_record_key_names_its_tenant() -> None:
    assert key_tenant(record_key("acme-01", "ar_customer", "01-ABF|x")) == "acme-01"


@pytest.mark.parametrize(
    "key",
    [None, b"", b"|ar_customer|01-ABF", b"ACME|ar_customer|1", b"ac\x00me|ar_customer|1",
     b"t" * 64 + b"|ar_customer|1", b"\xff\xfe|ar_customer|1", b"acme\n|ar_customer|1"],
)  # fmt: skip
def test_a_key_that_names_no_tenant_gives_none(key: bytes | None) -> None:
    assert key_tenant(key) is None
