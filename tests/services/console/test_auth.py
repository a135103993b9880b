"""Sessions, CSRF and the admin password hash: forged, expired or missing all refuse."""

from __future__ import annotations

from console import auth
from mlc_ops.passwords import hash_password, verify_password

SECRET = b"k" * 32


def test_password_hash_verifies_only_the_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterz", stored)
    assert not verify_password("x", "not-a-hash")
    assert hash_password("same") != hash_password("same")  # salted


def test_session_round_trip_expiry_and_forgery() -> None:
    cookie = auth.new_session("admin", secret=SECRET, minutes=10, now=1000.0)
    session = auth.read_session(cookie, secret=SECRET, now=1000.0 + 599)
    assert session is not None and session.user == "admin"
    assert auth.read_session(cookie, secret=SECRET, now=1000.0 + 601) is None  # expired
    assert auth.read_session(cookie, secret=b"other" * 8, now=1000.0) is None  # other key
    forged = cookie.replace("admin", "root", 1)
    assert auth.read_session(forged, secret=SECRET, now=1000.0) is None
    assert auth.read_session(None, secret=SECRET) is None
    assert auth.read_session("a|b", secret=SECRET) is None


def test_csrf_token_belongs_to_its_session() -> None:
    one = auth.read_session(auth.new_session("admin", secret=SECRET, minutes=5), secret=SECRET)
    two = auth.read_session(auth.new_session("admin", secret=SECRET, minutes=5), secret=SECRET)
    assert one is not None and two is not None
    token = auth.csrf_token(one, secret=SECRET)
    assert auth.csrf_ok(one, token, secret=SECRET)
    assert not auth.csrf_ok(two, token, secret=SECRET)
    assert not auth.csrf_ok(one, None, secret=SECRET)
    assert not auth.csrf_ok(one, "", secret=SECRET)


def test_session_secret_is_derived_per_master_key() -> None:
    assert auth.derive_secret("k1:aaaa") != auth.derive_secret("k1:bbbb")
    assert len(auth.derive_secret("k1:aaaa")) == 32
