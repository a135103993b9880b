from __future__ import annotations

import pytest
from mlc_core.crypto import CryptoError, KeyRing, generate_key_text


def test_encrypt_decrypt_with_key_id() -> None:
    ring = KeyRing.parse(generate_key_text("k1"))
    blob = ring.encrypt(b"refresh-token-value", aad="tenant:a:secrets")
    assert b"refresh-token-value" not in blob
    assert KeyRing.key_id_of(blob) == "k1"
    assert ring.decrypt(blob, aad="tenant:a:secrets") == b"refresh-token-value"


def test_ciphertext_is_bound_to_its_row() -> None:
    ring = KeyRing.parse(generate_key_text())
    blob = ring.encrypt(b"secret", aad="tenant:a:secrets")
    with pytest.raises(CryptoError, match="failed authentication"):
        ring.decrypt(blob, aad="tenant:b:secrets")


def test_rotation_reads_old_keys_and_writes_with_the_first() -> None:
    old = generate_key_text("old")
    new = generate_key_text("new")
    blob = KeyRing.parse(old).encrypt(b"x", aad="a")
    ring = KeyRing.parse(f"{new},{old}")
    assert ring.decrypt(blob, aad="a") == b"x"
    assert KeyRing.key_id_of(ring.encrypt(b"x", aad="a")) == "new"


def test_unknown_key_id_is_a_clear_error() -> None:
    blob = KeyRing.parse(generate_key_text("gone")).encrypt(b"x", aad="a")
    with pytest.raises(CryptoError, match="unknown key id 'gone'"):
        KeyRing.parse(generate_key_text("k2")).decrypt(blob, aad="a")


@pytest.mark.parametrize("text", ["", "nokey", "k1:c2hvcnQ="])
def test_bad_key_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        KeyRing.parse(text)
