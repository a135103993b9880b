"""Sign-in, sessions and CSRF, as pure functions over bytes and clocks.

The admin password is checked against its hash by mlc_ops.passwords (which `mlc console
hash-password` uses too). A session is a signed cookie, `user|expires|nonce|mac`, HMAC-SHA256
with the console's secret; nothing is stored server-side, so replicas share sessions and a
restart keeps them. The CSRF token of a session is an HMAC of its nonce: a page embeds it in
every form, and every POST must send it back (a cross-site form cannot read it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_secret(master_keys_text: str) -> bytes:
    """The session-signing key from the master keys, bound to this one purpose."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mlc-console-session"
    ).derive(master_keys_text.encode())


@dataclass(frozen=True)
class Session:
    user: str
    expires: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def new_session(user: str, *, secret: bytes, minutes: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + minutes * 60)
    body = f"{user}|{expires}|{secrets.token_urlsafe(16)}"
    return f"{body}|{_mac(secret, body)}"


def read_session(cookie: str | None, *, secret: bytes, now: float | None = None) -> Session | None:
    """The session a cookie carries, or None when missing, forged or expired."""
    if not cookie or cookie.count("|") != 3:
        return None
    body, _, mac = cookie.rpartition("|")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    user, expires, nonce = body.split("|")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return None
    return Session(user, int(expires), nonce)


def csrf_token(session: Session, *, secret: bytes) -> str:
    return _mac(secret, f"csrf|{session.nonce}")


def csrf_ok(session: Session, token: str | None, *, secret: bytes) -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(session, secret=secret))
