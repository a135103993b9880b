"""Loading a tenant's mapping file (YAML): every error names the line and the field.

The YAML is parsed twice from the same text: once into plain data for validation, once into
its node tree, which knows the line of every key. A validation error's location (a path of
keys) is then reported at the line of the deepest key that exists in the file.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from mapper.mapcheck import typos
from mapper.profile import ZOHO_NAME, TenantMap

ZOHO_NAME_RULE = "letters, digits, single underscores; starts with a letter"

Path = tuple[str | int, ...]


class MapFileError(ValueError):
    """The mapping file is not valid; `problems` holds one 'line N: field: reason' each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid mapping file:\n  " + "\n  ".join(problems))
        self.problems = problems


def _lines(node: yaml.Node, path: Path, found: dict[Path, int]) -> None:
    found.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            found[child] = key.start_mark.line + 1
            _lines(value, child, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), found)


def _line_of(path: Path, lines: dict[Path, int]) -> int:
    for end in range(len(path), -1, -1):
        line = lines.get(tuple(path[:end]))
        if line is not None:
            return line
    return 1


def _problem(error: Any, lines: dict[Path, int]) -> str:
    # pydantic puts the failing model validator's name or the dict key last; keep data keys.
    path = tuple(p for p in error["loc"] if p != "[key]")
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] == ZOHO_NAME:
        message = f"{error['input']!r} is not a Zoho API name ({ZOHO_NAME_RULE})"
    return _at(path, message, lines)


def _at(path: Path, message: str, lines: dict[Path, int]) -> str:
    field = ".".join(str(p) for p in path) or "(top level)"
    return f"line {_line_of(path, lines)}: {field}: {message}"


def parse_map(text: str) -> TenantMap:
    """Validate a mapping file's text; raises MapFileError naming line and field."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise MapFileError(
            [f"line {line}: not valid YAML: {getattr(exc, 'problem', exc)}"]
        ) from None
    if data is None:
        return TenantMap()
    if not isinstance(data, dict):
        raise MapFileError(["line 1: (top level): expected a mapping of settings"])
    lines: dict[Path, int] = {}
    if node is not None:
        _lines(node, (), lines)
    try:
        tenant_map = TenantMap.model_validate(data)
    except ValidationError as exc:
        raise MapFileError([_problem(e, lines) for e in exc.errors()]) from None
    problems = tenant_map.problems() + typos(tenant_map)
    if problems:
        ordered = sorted(problems, key=lambda problem: _line_of(problem[0], lines))
        raise MapFileError([_at(path, message, lines) for path, message in ordered])
    return tenant_map
