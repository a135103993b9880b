"""docker-compose.yml stays honest without a Docker engine: it validates against the Compose
specification's schema and `docker-compose config` (a pinned Compose CLI that
deploy/local/compose.sh builds once), every command it runs exists in this workspace, and what a
schema cannot see holds: the first command interpolates, each service has its own database role
and a way to get its topics, only the decrypting services get the master keys, Kafka keeps its
data on its volume, and nothing is published beyond loopback."""

from __future__ import annotations

import json
import pathlib
import subprocess
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
        "sage-agent",
        "cli",
    } <= ours.keys()
    known = console_scripts()
    for name, service in ours.items():
        assert service["command"][0] in known, f"{name}: {service['command'][0]} is not a script"


SERVICES = ("sage-poller", "mapper", "zoho-writer", "audit")
ROLES = {
    "sage-poller": "mlc_poller",
    "mapper": "mlc_mapper",
    "zoho-writer": "mlc_writer",
    "audit": "mlc_audit",
    "cli": "mlc_operator",
}
DECRYPTING = {"sage-poller", "zoho-writer", "cli", "console"}


def test_each_service_connects_with_its_own_role(compose: dict[str, Any]) -> None:
    for name, role in ROLES.items():
        env = compose["services"][name]["environment"]
        assert env["MLC_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["MLC_DATABASE_URL"].startswith(f"postgresql://{role}:"), name
    migrate = compose["services"]["migrate"]["environment"]
    for role in ROLES.values():
        variable = f"MLC_DATABASE_{role.removeprefix('mlc_').upper()}_PASSWORD"
        assert variable in migrate, f"migrate sets no password for {role}"


def test_only_the_decrypting_services_get_the_master_keys(compose: dict[str, Any]) -> None:
    assert "master-keys" in compose["secrets"]
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        assert "MLC_MASTER_KEYS" not in env, f"{name}: keys belong in the secret file"
        has_keys = "master-keys" in service.get("secrets", [])
        assert has_keys == (name in DECRYPTING), name
        assert ("MLC_MASTER_KEYS_FILE" in env) == has_keys, name
        if has_keys:
            assert env["MLC_MASTER_KEYS_FILE"] == "/run/secrets/master-keys", name


def test_no_variable_must_be_set_before_the_first_command() -> None:
    # `${VAR:?message}` fails every command, even `docker compose run` of the key generator.
    assert ":?" not in (ROOT / "docker-compose.yml").read_text()


def test_kafka_keeps_its_log_on_the_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    mounts = {v.split(":")[1] for v in kafka["volumes"]}
    assert kafka["environment"]["KAFKA_LOG_DIRS"] in mounts
    assert kafka["environment"]["CLUSTER_ID"]  # the formatted volume is reused on restart


def test_published_ports_are_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all addresses"


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in {"jaeger", "migrate", "kafka-setup", "cli"}:
            continue  # jaeger's image has no client to probe with; the others run and exit
        assert service.get("healthcheck", {}).get("test"), name
    assert compose["services"]["cli"]["profiles"] == ["tools"]


@pytest.fixture(scope="module")
def compose_cli() -> str:
    """The pinned Compose CLI's path; the first call on a machine builds it (minutes)."""
    built = subprocess.run(
        [str(ROOT / "deploy" / "local" / "compose.sh")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return built.stdout.strip()


def run_compose(cli: str, cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose ARGS` with a clean environment: only the key file's path is set."""
    keys = cwd / "master-keys"
    keys.write_text("k1:placeholder\n")
    return subprocess.run(
        [cli, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(cwd),
            "MLC_MASTER_KEYS_PATH": str(keys),
        },
    )


@pytest.mark.timeout(1200)  # the first run builds the Compose CLI (minutes; cached after)
def test_docker_compose_accepts_the_file(compose_cli: str, tmp_path: pathlib.Path) -> None:
    file = str(ROOT / "docker-compose.yml")
    done = run_compose(compose_cli, tmp_path, "-f", file, "--profile", "tools", "config", "-q")
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(1200)
def test_the_compose_cli_rejects_a_broken_file(compose_cli: str, tmp_path: pathlib.Path) -> None:
    """The check above could pass by accepting anything: a dependency on a missing service is
    exactly what the schema cannot see."""
    broken = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    broken["services"]["mapper"]["depends_on"] = {
        "kafka-setup-gone": {"condition": "service_completed_successfully"}
    }
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken))
    done = run_compose(compose_cli, tmp_path, "-f", "docker-compose.yml", "config", "-q")
    assert done.returncode != 0
    assert "kafka-setup-gone" in done.stderr


PROVISION = ["mlc", "kafka", "topics", "--apply"]


def test_every_service_gets_its_topics(compose: dict[str, Any]) -> None:
    """A service creates no topics unless MLC_KAFKA_AUTO_CREATE_TOPICS is on (off by default, as
    in production): then it must start after a one-shot `mlc kafka topics --apply` against the
    same broker has succeeded, or it waits five minutes and exits."""
    services = compose["services"]
    provisioners = {n for n, s in services.items() if s.get("command") == PROVISION}
    assert provisioners, "no service runs `mlc kafka topics --apply`"
    for name in provisioners:
        setup = services[name]
        assert setup["depends_on"]["kafka"]["condition"] == "service_healthy", name
        assert setup.get("restart") == "no", f"{name} is one-shot"
        assert "profiles" not in setup, f"{name} must run on a plain `up`"
    for name in SERVICES:
        env = services[name]["environment"]
        if str(env.get("MLC_KAFKA_AUTO_CREATE_TOPICS", "false")).lower() == "true":
            continue
        deps = services[name]["depends_on"]
        waits_for = {
            d
            for d in provisioners
            if deps.get(d, {}).get("condition") == "service_completed_successfully"
        }
        assert waits_for, f"{name} has no way to get its topics"
        for setup in waits_for:
            bootstrap = services[setup]["environment"]["MLC_KAFKA_BOOTSTRAP"]
            assert bootstrap == env["MLC_KAFKA_BOOTSTRAP"], (
                f"{name}: {setup} provisions another Kafka"
            )


def test_migrations_run_before_the_services(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        deps = compose["services"][name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
