"""Every per-entity table in the services is derived from the entity definitions
(mlc_core.entities), so it covers exactly the defined entities: none can be half-added."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from mapper import known, service, zoho_schema
from mapper.drafts import EXTERNAL_FIELDS
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES, SAGE_TABLES_BY_PATH
from mlc_core.entities.zoho import ZOHO_MODULES, ZOHO_TARGETS
from mlc_core.sage.agent import ENTITY_PATHS
from mlc_ops import ping_zoho
from sage_agent.reader import BOI_ENTITIES
from sage_poller import schedule, validation

DERIVED: dict[str, Iterable[str]] = {
    "agent BOI_ENTITIES": BOI_ENTITIES,
    "agent routes": (table.entity for table in SAGE_TABLES_BY_PATH.values()),
    "agent client ENTITY_PATHS": ENTITY_PATHS,
    "poller DEFAULT_INTERVALS": schedule.DEFAULT_INTERVALS,
    "poller KEY_LENGTHS": validation.KEY_LENGTHS,
    "poller TEXT_LENGTHS": validation.TEXT_LENGTHS,
    "mapper SAGE_COLUMNS": known.SAGE_COLUMNS,
    "mapper MODULES": service.MODULES,
    "mapper ENTITY_MODULES": zoho_schema.ENTITY_MODULES,
    "ping TARGETS": ping_zoho.TARGETS,
    "ping ALSO_NEEDED": ping_zoho.ALSO_NEEDED,
    # The mapping is the one thing written by hand besides the definitions.
    "mapper mappings": service.MAPPED_ENTITIES,
}


def test_every_entity_has_both_definitions() -> None:
    assert set(SAGE_TABLES) == set(ZOHO_TARGETS) == set(Entity)
    assert all(entity is table.entity for entity, table in SAGE_TABLES.items())
    assert all(entity is target.entity for entity, target in ZOHO_TARGETS.items())


@pytest.mark.parametrize("name", DERIVED)
def test_each_derived_table_covers_exactly_the_defined_entities(name: str) -> None:
    keys = [str(key) for key in DERIVED[name]]
    assert sorted(keys) == sorted(str(e) for e in Entity), name


def test_definitions_are_consistent() -> None:
    assert len(SAGE_TABLES_BY_PATH) == len(SAGE_TABLES)  # one agent path each
    for table in SAGE_TABLES.values():
        assert set(table.key_columns) <= set(table.columns), table.entity
    for target in ZOHO_TARGETS.values():
        assert {target.module, *target.also_writes} <= set(ZOHO_MODULES), target.entity
        for key in [target.upsert_key, *target.second_keys]:
            fields = {f.api_name: f for f in ZOHO_MODULES[target.module].custom_fields}
            is_key = key == ZOHO_MODULES[target.module].upsert_key or fields[key].key
            assert is_key, f"{target.entity}: {key} is not an org external field"
    assert set(EXTERNAL_FIELDS) == set(ZOHO_MODULES)


def test_a_made_up_entity_reaches_every_derived_table() -> None:
    script = Path(__file__).with_name("made_up_entity.py")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    derived = json.loads(run.stdout)
    assert derived == {
        "agent_boi": ["AR_CreditMemo_svc", "A/R", "AR_CreditMemo"],
        "agent_path": "ar_credit_memos",
        "agent_route": True,
        "poller_cadence": 3600.0,
        "poller_key_lengths": {"ARDivisionNo": 2, "CustomerNo": 20, "MemoNo": 7},
        "poller_text_lengths": {"MemoDesc": 30},
        "mapper_columns": sorted(
            [
                "ARDivisionNo",
                "CustomerNo",
                "MemoNo",
                "MemoDate",
                "MemoDesc",
                "MemoAmt",
                "DateCreated",
                "TimeCreated",
                "UserCreatedKey",
                "DateUpdated",
                "TimeUpdated",
                "UserUpdatedKey",
            ]
        ),
        "mapper_module": "Sage_Credit_Memos",
        "upsert_key": "Sage_Credit_Memo_Key",
        "setup_modules": ["Sage_Credit_Memos", "Accounts"],
        "setup_creates": "Sage Credit Memo",
        "setup_fields": ["Sage_Credit_Memo_Key", "Sage_Status", "Account", "Memo_Date", "Amount"],
        "ping_target": ["Sage_Credit_Memos", "Sage_Credit_Memo_Key"],
        # Not derived: the entity's mapping (Sage columns -> Zoho fields) is written for it.
        "mapping": False,
    }
