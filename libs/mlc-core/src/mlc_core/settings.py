"""Typed settings from the environment (prefix `MLC_`); secrets are `SecretStr`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSecurity(BaseSettings):
    """How every Kafka client of ours authenticates: TLS (with an optional client certificate for
    mTLS) and/or SASL. Read from `MLC_KAFKA_*`; kafka.client_options() applies it to producers,
    consumers and admin clients alike."""

    model_config = SettingsConfigDict(env_prefix="MLC_KAFKA_", extra="ignore")

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None  # a mounted Secret, instead of MLC_KAFKA_PASSWORD
    ca_file: Path | None = None  # trust these CAs; the system's when unset
    cert_file: Path | None = None  # client certificate (PEM) for mTLS
    key_file: Path | None = None  # its private key (PEM, unencrypted: a mounted Secret)

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        if self.uses_sasl and (self.username is None or self.password_text() is None):
            raise ValueError(
                f"MLC_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs MLC_KAFKA_USERNAME "
                "and MLC_KAFKA_PASSWORD (or MLC_KAFKA_PASSWORD_FILE)"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("MLC_KAFKA_CERT_FILE and MLC_KAFKA_KEY_FILE go together (mTLS)")
        if self.cert_file is not None and not self.uses_tls:
            raise ValueError(
                "a client certificate (MLC_KAFKA_CERT_FILE) needs "
                "MLC_KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL"
            )
        return self

    def password_text(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return None


class TopicSettings(BaseSettings):
    """The shape of our topics (`mlc kafka topics --apply`) and whether services may create them."""

    model_config = SettingsConfigDict(env_prefix="MLC_KAFKA_", extra="ignore")

    partitions: int = 6
    replication_factor: int = 1
    min_insync_replicas: int = 1
    # Production topics are provisioned by `mlc kafka topics --apply`: a service never creates
    # one (with a default shape) because it started before the provisioning. The dev stack and
    # tests switch this on.
    auto_create_topics: bool = False


class CommonSettings(BaseSettings):
    """What every service needs: Kafka, PostgreSQL, the master keys, logging."""

    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_partitions: int = 6
    database_url: SecretStr = SecretStr("postgresql://mlc_app@127.0.0.1:55432/mlc")
    master_keys: SecretStr | None = None
    master_keys_file: Path | None = None
    log_level: str = "INFO"

    def master_keys_text(self) -> str:
        """Keys from MLC_MASTER_KEYS or the mounted file (a Kubernetes Secret)."""
        if self.master_keys is not None:
            return self.master_keys.get_secret_value()
        if self.master_keys_file is not None:
            return self.master_keys_file.read_text().strip()
        raise ValueError("no master key: set MLC_MASTER_KEYS or MLC_MASTER_KEYS_FILE")
