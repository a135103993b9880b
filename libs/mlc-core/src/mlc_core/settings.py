"""Typed settings from the environment (prefix `MLC_`); secrets are `SecretStr`."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
