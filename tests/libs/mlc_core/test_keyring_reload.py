"""A keyring read from MLC_MASTER_KEYS_FILE follows the file: rotation without a restart."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from mlc_core.crypto import CryptoError, KeyRing, ReloadingKeyRing, generate_key_text
from mlc_core.runtime import keyring_from
from mlc_core.settings import CommonSettings


def write(path: Path, *entries: str, bump: int) -> None:
    path.write_text(",".join(entries))
    os.utime(path, ns=(bump, bump))  # a distinct mtime even within one clock tick


def test_a_key_added_to_the_file_is_used_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = generate_key_text("k1"), generate_key_text("k2")
    path = tmp_path / "keys"
    write(path, old, bump=1_000_000_000)
    ring = keyring_from(CommonSettings(master_keys=None, master_keys_file=path))
    assert isinstance(ring, ReloadingKeyRing)
    ring.check_every = 0.0
    under_old = ring.encrypt(b"secret", aad="tenant:a:secrets")

    # Another process (`mlc`) already has the new key and seals a tenant with it.
    under_new = KeyRing.parse(f"{new},{old}").encrypt(b"fresh", aad="tenant:b:secrets")
    write(path, new, old, bump=2_000_000_000)
    assert ring.decrypt(under_new, aad="tenant:b:secrets") == b"fresh"
    assert KeyRing.key_id_of(ring.encrypt(b"x", aad="y")) == "k2"  # the new active key

    assert ring.decrypt(under_old, aad="tenant:a:secrets") == b"secret"
    with caplog.at_level(logging.ERROR):
        write(path, new, bump=3_000_000_000)
        ring.decrypt(under_new, aad="tenant:b:secrets")
    assert "k1" in caplog.text and "still use them" in caplog.text
    with pytest.raises(CryptoError, match="unknown key id 'k1'"):
        ring.decrypt(under_old, aad="tenant:a:secrets")


def test_an_unreadable_file_keeps_the_current_keys(tmp_path: Path) -> None:
    key = generate_key_text("k1")
    path = tmp_path / "keys"
    write(path, key, bump=1_000_000_000)
    ring = ReloadingKeyRing.from_file(path, check_every=0.0)
    sealed = ring.encrypt(b"s", aad="a")
    write(path, "garbage", bump=2_000_000_000)
    assert ring.decrypt(sealed, aad="a") == b"s"
