"""Each service's declared public surface, as httpx guards its own (tests/test_exported_members.py
there): what a package's `__all__` lists is exactly what other code may use, every listed name
exists, and the `admin` interface declares everything it offers."""

from __future__ import annotations

import importlib
import inspect

import pytest

SURFACES = {
    "audit": {"GROUP_ID", "admin"},
    "mapper": {"GROUP_ID", "admin"},
    "zoho_writer": {"GROUP_ID", "admin"},
    "sage_poller": {"CLIENT_ID", "admin"},
}


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_a_service_package_declares_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    assert set(package.__all__) == SURFACES[name]
    for member in package.__all__:
        found = getattr(package, member, None) or importlib.import_module(f"{name}.{member}")
        assert found is not None, f"{name}.{member}"


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_admin_declares_every_public_name_it_defines_or_offers(name: str) -> None:
    admin = importlib.import_module(f"{name}.admin")
    declared = set(admin.__all__)
    assert all(hasattr(admin, member) for member in declared), declared - set(dir(admin))
    offered = {
        member
        for member, value in vars(admin).items()
        if not member.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", "").split(".")[0] == name
    }
    assert offered <= declared, f"{name}.admin offers undeclared names: {offered - declared}"


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_a_consumers_group_id_is_the_one_its_service_uses(name: str) -> None:
    package = importlib.import_module(name)
    main = inspect.getsource(importlib.import_module(f"{name}.main"))
    ident = "GROUP_ID" if "GROUP_ID" in package.__all__ else "CLIENT_ID"
    assert f"from {name} import {ident}" in main
    assert f'{ident} = "' not in main  # defined once, in the package
