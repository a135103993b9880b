"""Envelope encryption for stored secrets (AES-256-GCM, key id on every ciphertext).

Format: b"mlc1" | len(key_id) (1 byte) | key_id | nonce (12 bytes) | ciphertext+tag.
The associated data binds a ciphertext to its row (e.g. "tenant:acme:secrets"), so a
ciphertext copied to another tenant's row does not decrypt. Several keys are accepted on read;
the first key listed encrypts, which is how rotation works.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)
MAGIC = b"mlc1"
NONCE_BYTES = 12


class CryptoError(Exception):
    """A ciphertext could not be decrypted (unknown key id, tampered data, wrong row)."""


@dataclass
class KeyRing:
    active_key_id: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse 'kid1:base64key,kid2:base64key'; the first entry is the active key."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            kid, sep, b64 = item.partition(":")
            if not sep or not kid:
                raise ValueError("master keys must look like 'kid:base64key[,kid:base64key]'")
            key = base64.b64decode(b64)
            if len(key) != 32:
                raise ValueError(f"master key {kid!r} must be 32 bytes (base64), got {len(key)}")
            keys[kid] = key
        if not keys:
            raise ValueError("no master keys given")
        return cls(active_key_id=next(iter(keys)), keys=keys)

    def encrypt(self, plaintext: bytes, *, aad: str) -> bytes:
        kid = self.active_key_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(nonce, plaintext, aad.encode())
        return MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, *, aad: str) -> bytes:
        kid, nonce, sealed = _split(blob)
        key = self.keys.get(kid)
        if key is None:
            raise CryptoError(f"ciphertext uses unknown key id {kid!r}")
        try:
            return AESGCM(key).decrypt(nonce, sealed, aad.encode())
        except InvalidTag as exc:
            raise CryptoError(f"ciphertext for {aad!r} failed authentication") from exc

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return _split(blob)[0]


@dataclass
class ReloadingKeyRing(KeyRing):
    """A keyring read from MLC_MASTER_KEYS_FILE that follows the file: a key added (or a new
    active key put first) is used without a restart, checked at most every `check_every`
    seconds on use. A key dropped from the file while this process has decrypted with it is
    logged as an error: ciphertexts under it stop decrypting (`mlc keys retire` refuses that)."""

    path: Path = Path()
    check_every: float = 5.0
    _mtime: int = 0
    _checked: float = 0.0
    _used: set[str] = field(default_factory=set)

    @classmethod
    def from_file(cls, path: Path, *, check_every: float = 5.0) -> ReloadingKeyRing:
        ring = KeyRing.parse(path.read_text().strip())
        return cls(ring.active_key_id, ring.keys, path, check_every, path.stat().st_mtime_ns)

    def reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime_ns
            if mtime == self._mtime:
                return
            fresh = KeyRing.parse(self.path.read_text().strip())
        except (OSError, ValueError) as exc:  # a half-written file: keep the keys we have
            log.error("master keys file unreadable; keeping the current keys: %s", exc)
            return
        if dropped := sorted((set(self.keys) - set(fresh.keys)) & self._used):
            log.error(
                "master key(s) %s removed from %s while ciphertexts here still use them:"
                " those stop decrypting (run `mlc keys rotate`, then `mlc keys retire`)",
                ", ".join(dropped),
                self.path,
            )
        self.active_key_id, self.keys, self._mtime = fresh.active_key_id, fresh.keys, mtime
        log.info("master keys reloaded", extra={"active_key_id": fresh.active_key_id})

    def encrypt(self, plaintext: bytes, *, aad: str) -> bytes:
        self.reload_if_changed()
        return super().encrypt(plaintext, aad=aad)

    def decrypt(self, blob: bytes, *, aad: str) -> bytes:
        kid = _split(blob)[0]
        if kid not in self.keys:
            self._checked = 0.0  # an unknown key id: look at the file now, not in 5 s
        self.reload_if_changed()
        plain = super().decrypt(blob, aad=aad)
        self._used.add(kid)
        return plain


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
        raise CryptoError("not an mlc ciphertext")
    kid_len = blob[len(MAGIC)]
    start = len(MAGIC) + 1
    kid = blob[start : start + kid_len].decode()
    nonce = blob[start + kid_len : start + kid_len + NONCE_BYTES]
    return kid, nonce, blob[start + kid_len + NONCE_BYTES :]


def generate_key_text(kid: str = "k1") -> str:
    """A fresh key entry for MLC_MASTER_KEYS."""
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"
