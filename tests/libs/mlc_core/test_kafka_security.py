"""Kafka client security from settings: one place builds TLS/SASL options for every client."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from mlc_core.kafka import client_options
from mlc_core.settings import KafkaSecurity
from pydantic import SecretStr, ValidationError


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_KAFKA_SECURITY_PROTOCOL", raising=False)
    assert client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("MLC_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MLC_KAFKA_USERNAME", "mlc-mapper")
    monkeypatch.setenv("MLC_KAFKA_PASSWORD_FILE", str(tmp_path / "pw"))
    options = client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "mlc-mapper"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_sasl_without_credentials_says_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="MLC_KAFKA_USERNAME and MLC_KAFKA_PASSWORD"):
        KafkaSecurity(security_protocol="SASL_SSL", username="mlc-mapper")


def test_a_client_certificate_needs_its_key_and_tls() -> None:
    with pytest.raises(ValidationError, match="go together"):
        KafkaSecurity(security_protocol="SSL", cert_file=Path("c.pem"))
    with pytest.raises(ValidationError, match="needs MLC_KAFKA_SECURITY_PROTOCOL=SSL"):
        KafkaSecurity(cert_file=Path("c.pem"), key_file=Path("k.pem"))


def test_the_password_never_shows_in_the_settings_repr() -> None:
    security = KafkaSecurity(
        security_protocol="SASL_PLAINTEXT", username="u", password=SecretStr("s3cret")
    )
    assert "s3cret" not in repr(security) and "s3cret" not in str(security.model_dump())
