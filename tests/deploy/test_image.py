"""The Dockerfile, as far as it can be checked without a Docker engine: no dependency group in
the image (benchmark, test and lint tools stay out), dependencies installed in a layer before
the sources, a default command, and a .dockerignore that keeps the context to what is copied."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip() for line in DOCKERFILE.splitlines() if line.strip() and not line.startswith("#")
]


def shipped_members() -> set[str]:
    """Workspace folders of the packages the root project depends on (what the image runs)."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = set(root["project"]["dependencies"])
    found = set()
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" in pyproject.parts:
            continue
        if tomllib.loads(pyproject.read_text())["project"]["name"] in wanted:
            found.add(str(pyproject.parent.relative_to(ROOT)))
    return found


def test_no_dependency_group_is_installed() -> None:
    syncs = [i for i in INSTRUCTIONS if "uv sync" in i]
    assert syncs, "the image is built with uv sync"
    for sync in syncs:
        assert "--frozen" in sync and "--no-default-groups" in sync, sync


def test_dependencies_install_before_the_sources_are_copied() -> None:
    first_sync = next(n for n, i in enumerate(INSTRUCTIONS) if "uv sync" in i)
    assert "--no-install-workspace" in INSTRUCTIONS[first_sync]
    before = INSTRUCTIONS[:first_sync]
    for member in shipped_members():
        assert f"COPY {member}/pyproject.toml {member}/" in before, member
        assert not any(re.fullmatch(rf"COPY {member.split('/')[0]} \S+", i) for i in before)
    assert any(i.startswith("COPY pyproject.toml uv.lock") for i in before)


def test_the_image_has_a_default_command_and_runs_as_a_numeric_user() -> None:
    assert INSTRUCTIONS[-1].startswith("CMD [")
    assert re.search(r"^USER\s+\d+\s*$", DOCKERFILE, re.MULTILINE)


def test_the_build_context_is_only_what_the_image_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert "*" in ignore, "ignore everything, then allow what is copied"
    allowed = {line.removeprefix("!").rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        i.split()[1].split("/")[0]
        for i in INSTRUCTIONS
        if i.startswith("COPY ") and "--from" not in i
    }
    assert copied <= allowed, copied - allowed
    assert "**/.venv" in ignore


def build_stage_steps() -> list[str]:
    """The build stage's COPY and RUN instructions, in order."""
    stage = DOCKERFILE.split("\nFROM ")[1]
    return [i for i in INSTRUCTIONS if i in stage and (i.startswith(("COPY ", "RUN uv sync")))]


def find_uv() -> str | None:
    """On PATH, or where deploy/local/setup.sh installs it (the user base's bin)."""
    user_uv = pathlib.Path(sysconfig.get_config_var("userbase")) / "bin" / "uv"
    return shutil.which("uv") or (str(user_uv) if user_uv.exists() else None)


def test_the_build_stage_installs_the_services_and_nothing_else(tmp_path: pathlib.Path) -> None:
    """No Docker engine here: replay the build stage's COPY and `uv sync` steps in a folder with
    this interpreter, then look at what the image's environment would hold."""
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed (make setup installs it)")
    ignored = shutil.ignore_patterns(
        "__pycache__", "*.pyc", ".venv", ".mypy_cache", ".pytest_cache"
    )
    for step in build_stage_steps():
        words = step.split()
        if words[0] == "COPY":
            *sources, dest = words[1:]
            for source in sources:
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source, tmp_path / dest, ignore=ignored, dirs_exist_ok=True
                    )
                    continue
                (tmp_path / dest).mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, tmp_path / dest / pathlib.Path(source).name)
            continue
        argv = [uv, *words[2:]]
        argv[argv.index("--python") + 1] = sys.executable
        done = subprocess.run(
            argv,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            env=os.environ | {"UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""},
        )
        assert done.returncode == 0, f"{step}\n{done.stderr}"
    venv = tmp_path / ".venv"
    scripts = {p.name for p in (venv / "bin").iterdir()}
    assert {"mlc", "mlc-sage-poller", "mlc-mapper", "mlc-zoho-writer", "mlc-audit"} <= scripts
    site = next(venv.glob("lib/python*/site-packages"))
    present = {p.name.split("-")[0].lower() for p in site.iterdir()}
    assert not {"matplotlib", "numpy", "pytest", "mypy", "ruff"} & present
    assert (site / "mlc_core" / "schema_wait.py").exists()  # the init containers' command
