"""No module outside a service imports that service's private modules: from outside, a service
is its package (`__init__`) and its declared interface `admin.py`, nothing else. The operations
library (libs/mlc-ops), the CLI, mlc-core, the emulators and the other services are held to it
without exception.

Exceptions, each named below, and why:
- tests/services/<svc>/ test <svc> from the inside (white-box unit tests of its pure logic and
  store); they may import <svc>'s modules, as <svc> itself does, but no other service's.
- bench/, chaos/ and a few tests elsewhere drive one service's internals in-process (a
  benchmark of the mapper's hot path, the chaos corpus made by the mapper's own function, a
  poller harness). They are listed file by file, so a new reach into a private module fails
  here until it goes through admin.py or is added to the list on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    package.name: package
    for package in ROOT.glob("services/*/src/*")
    if (package / "__init__.py").is_file()
}
DECLARED = {"admin"}  # besides the package itself
STRICT = ("libs", "cli", "services", "emulators", "tools")
LISTED = ("bench", "chaos", "tests")
KNOWN: dict[str, set[str]] = {
    "bench/audit_bench.py": {"audit.service", "audit.store"},
    "bench/mapper_bench.py": {"mapper.service"},
    "bench/sage_poll.py": {
        "sage_poller.handlers",
        "sage_poller.outbox",
        "sage_poller.retry",
        "sage_poller.store",
    },
    "chaos/corpus.py": {"mapper.service", "sage_poller.service"},
    "tests/chaos/test_corpus.py": {"mapper.main"},
    "tests/e2e/test_mapping_flow.py": {"mapper.masters", "mapper.store"},
    "tests/e2e/test_mapping_setup.py": {"mapper.mapfile", "mapper.service", "mapper.store"},
    "tests/e2e/test_replay_reconcile.py": {"zoho_writer.tokens"},
    "tests/integration/test_audit_chain.py": {"audit.service", "audit.store"},
    "tests/integration/test_audit_store.py": {"audit.service", "audit.store"},
    # Hostile messages through the real consume loop, with each consumer's own handler.
    "tests/integration/test_hostile_messages.py": {
        "audit.handlers",
        "mapper.handlers",
        "mapper.store",
    },
    "tests/services/mapper/test_properties.py": {"zoho_writer.service"},
}
# The tables every service derives from the entity definitions: these two read each one where it
# lives, to prove none was left behind (test_derived_entity_tables.py).
DERIVED_TABLES = {
    "mapper.drafts",
    "mapper.known",
    "mapper.service",
    "mapper.zoho_schema",
    "sage_agent.reader",
    "sage_poller.schedule",
    "sage_poller.validation",
}
# Seeds the audit log exactly as the audit service writes it (trace ids included).
KNOWN["tests/services/console/test_record_page.py"] = {"audit.service", "audit.store"}
KNOWN["tests/services/test_derived_entity_tables.py"] = DERIVED_TABLES
KNOWN["tests/services/made_up_entity.py"] = DERIVED_TABLES


def _private(module: str, names: list[str]) -> set[str]:
    """The private service modules an import names: `svc.x` (x not declared), or `from svc
    import x` where x is one of svc's modules."""
    top, _, rest = module.partition(".")
    if top not in SERVICES:
        return set()
    if rest:
        return set() if rest.split(".")[0] in DECLARED else {module}
    found = {n for n in names if n not in DECLARED and (SERVICES[top] / f"{n}.py").is_file()}
    return {f"{top}.{n}" for n in found}


def _owner(path: Path) -> str | None:
    """The service whose own code (or own tests) this file is."""
    for name, package in SERVICES.items():
        if package in path.parents:
            return name
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("tests", "services") and len(parts) > 3:
        return parts[2]
    return None


def reaches(path: Path) -> set[str]:
    """Private modules of other services that this file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= _private(node.module, [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found |= _private(alias.name, [])
    owner = _owner(path)
    return {m for m in found if m.split(".")[0] != owner}


def _files(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


@pytest.mark.parametrize("top", STRICT)
def test_code_reaches_services_only_through_their_declared_interface(top: str) -> None:
    offending = {str(p.relative_to(ROOT)): reaches(p) for p in _files(top)}
    assert {f: sorted(m) for f, m in offending.items() if m} == {}


def test_benches_chaos_and_tests_reach_no_further_than_listed() -> None:
    found = {str(p.relative_to(ROOT)): reaches(p) for top in LISTED for p in _files(top)}
    beyond = {f: sorted(m - KNOWN.get(f, set())) for f, m in found.items()}
    assert {f: m for f, m in beyond.items() if m} == {}


def test_the_check_sees_a_private_import() -> None:
    assert _private("mapper.store", ["load_stored"]) == {"mapper.store"}
    assert _private("mapper", ["store", "admin"]) == {"mapper.store"}
    assert _private("mapper.admin", ["load_stored"]) == set()
    assert _private("mlc_core.zoho", ["records"]) == set()
    assert reaches(ROOT / "tests/e2e/test_replay_reconcile.py") == {"zoho_writer.tokens"}
