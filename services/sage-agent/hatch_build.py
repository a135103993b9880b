"""Build hook: the agent's wheel carries the few mlc_core modules it imports.

The agent is installed alone on the customer's Windows server (pip install of this one wheel),
where the connector's mlc-core (Kafka, PostgreSQL, crypto, telemetry exporters) is neither
available nor wanted. So a standard wheel build copies in exactly the mlc_core modules that
sage_agent imports, found by following the imports, and the wheel's dependencies are only
what those modules and the agent use. Editable (workspace) installs copy nothing: there the
workspace's own mlc-core is installed.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CORE = "mlc_core"


def core_imports(source: Path) -> set[str]:
    """Dotted names under mlc_core that one file imports (modules or names inside them)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == CORE}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module.split(".")[0] == CORE:
                found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return found


def core_files(agent_src: Path, core_src: Path) -> set[Path]:
    """The mlc_core files (with their packages' __init__.py) that agent_src needs."""
    todo, files = list(agent_src.rglob("*.py")), set[Path]()
    while todo:
        for name in core_imports(todo.pop()):
            parts = name.split(".")[1:]
            for depth in range(len(parts) + 1):
                package = core_src.joinpath(*parts[:depth])
                for candidate in (package / "__init__.py", package.with_suffix(".py")):
                    if candidate.is_file() and candidate not in files:
                        files.add(candidate)
                        todo.append(candidate)
    return files


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        core_src = (root / "../../libs/mlc-core/src/mlc_core").resolve()
        for path in core_files(root / "src/sage_agent", core_src):
            target = Path(CORE, path.relative_to(core_src)).as_posix()
            build_data["force_include"][str(path)] = target
        typed = core_src / "py.typed"
        if typed.is_file():
            build_data["force_include"][str(typed)] = f"{CORE}/py.typed"
