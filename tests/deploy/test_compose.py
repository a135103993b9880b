"""docker-compose.yml stays honest without a Docker engine: it validates against the Compose
specification's schema, and every command it runs exists in this workspace."""

from __future__ import annotations

import json
import pathlib
import tomllib
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "reference" / "schemas" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def console_scripts() -> set[str]:
    scripts: set[str] = set()
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" in pyproject.parts:
            continue
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        scripts |= set(project.get("scripts", {}))
    return scripts


def test_compose_validates_against_the_spec(compose: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} not present")
    # The spec names draft-07 by a URL jsonschema does not recognise, so say it explicitly.
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_every_command_is_one_of_our_entry_points(compose: dict[str, Any]) -> None:
    ours = {n: s for n, s in compose["services"].items() if s.get("image") == "ml-connector:dev"}
    assert {
        "sage-poller",
        "mapper",
        "zoho-writer",
        "audit",
        "sage-emulator",
        "zoho-emulator",
        "migrate",
    } <= ours.keys()
    known = console_scripts()
    for name, service in ours.items():
        assert service["command"][0] in known, f"{name}: {service['command'][0]} is not a script"


def test_services_get_kafka_database_and_keys(compose: dict[str, Any]) -> None:
    for name in ("sage-poller", "mapper", "zoho-writer", "audit"):
        env = compose["services"][name]["environment"]
        assert env["MLC_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["MLC_DATABASE_URL"].startswith("postgresql://mlc_app"), name
        assert "MLC_MASTER_KEYS" in env, name


def test_migrations_run_before_the_services(compose: dict[str, Any]) -> None:
    for name in ("sage-poller", "mapper", "zoho-writer", "audit"):
        deps = compose["services"][name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
