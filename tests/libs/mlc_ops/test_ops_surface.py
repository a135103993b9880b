"""mlc_ops is a library for more than one front end: it prints nothing, parses no command
line and exits no process; those are the CLI's (and the console's) to do."""

from __future__ import annotations

import ast
from pathlib import Path

import mlc_ops

SOURCE = Path(mlc_ops.__file__).parent
FRONT_END_ONLY = {"argparse", "getpass", "sys"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"imports {n}" for n in names if n.split(".")[0] in FRONT_END_ONLY]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("print", "input", "exit"):
                found.append(f"calls {node.func.id}()")
        elif isinstance(node, ast.Raise) and "SystemExit" in ast.dump(node):
            found.append("raises SystemExit")
    return found


def test_no_operation_prints_prompts_or_exits() -> None:
    modules = sorted(SOURCE.glob("*.py"))
    assert len(modules) > 10
    offences = {p.name: _offences(p) for p in modules}
    assert {name: found for name, found in offences.items() if found} == {}


def test_the_check_catches_a_print(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\nprint('x')\nraise SystemExit(1)\n")
    assert sorted(_offences(sample)) == ["calls print()", "imports sys", "raises SystemExit"]
