"""Adds a made-up entity (AR credit memos) to the entity definitions, in memory only, then prints
what every derived table holds for it as JSON. Run in its own interpreter by
test_derived_entity_tables.py, so the patched definitions never leak into other tests.

The edits below are the whole of what the definitions need: one Entity member, one SageTable,
one ZohoModule (a new custom module) and one ZohoTarget. Nothing else is touched.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mlc_core.contracts import Entity

MADE_UP = cast("Entity", "ar_credit_memo")  # Entity.AR_CREDIT_MEMO once the edits are loaded
ENTITY_MEMBER = '    AR_CREDIT_MEMO = "ar_credit_memo"\n'
SAGE_TABLE = """        SageTable(
            Entity.AR_CREDIT_MEMO,
            "AR_CreditMemo",
            ("ARDivisionNo", "CustomerNo", "MemoNo"),
            "ar_credit_memos",
            "AR_CreditMemo_svc",
            "A/R",
            "ARDivisionNo:2 CustomerNo:20 MemoNo:7 MemoDate MemoDesc:30 MemoAmt",
            1 * HOURS,
            division=True,
        ),
"""
ZOHO_MODULE = """        ZohoModule(
            "Sage_Credit_Memos",
            "Sage_Credit_Memo_Key",
            (_f("Account", "lookup", "Accounts"), _f("Memo_Date", "date"), *_money("Amount")),
            singular="Sage Credit Memo",
        ),
"""
ZOHO_TARGET = (
    '        ZohoTarget(Entity.AR_CREDIT_MEMO, "Sage_Credit_Memos", also_writes=("Accounts",)),\n'
)


def _insert_before_last(marker: str, text: str) -> Callable[[str], str]:
    def edit(source: str) -> str:
        at = source.rindex(marker)
        return source[:at] + text + source[at:]

    return edit


def _insert_after(anchor: str, text: str) -> Callable[[str], str]:
    return lambda source: source.replace(anchor, anchor + text, 1)


def _load_edited(name: str, *edits: Callable[[str], str]) -> None:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None and spec.origin is not None
    source = spec.loader.get_source(name)  # type: ignore[attr-defined]
    for edit in edits:
        edited = edit(source)
        assert edited != source, f"{name}: edit found no anchor"
        source = edited
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, spec.origin, "exec"), module.__dict__)


def main() -> None:
    _load_edited("mlc_core.entities", _insert_after('"ar_open_invoice"\n', ENTITY_MEMBER))
    _load_edited("mlc_core.entities.sage", _insert_before_last("    )\n}", SAGE_TABLE))
    _load_edited(
        "mlc_core.entities.zoho",
        _insert_before_last("    )\n}\n\nZOHO_TARGETS", ZOHO_MODULE),
        _insert_before_last("    )\n}", ZOHO_TARGET),
    )
    from mapper import known, service, zoho_schema
    from mapper.drafts import EXTERNAL_FIELDS
    from mlc_core.entities.sage import SAGE_TABLES_BY_PATH
    from mlc_core.sage.agent import ENTITY_PATHS
    from mlc_ops import ping_zoho
    from sage_agent.reader import BOI_ENTITIES
    from sage_poller import schedule, validation

    boi = BOI_ENTITIES.get(MADE_UP)
    derived: dict[str, Any] = {
        "agent_boi": boi and [boi.object_name, boi.module, boi.spec.table],
        "agent_path": ENTITY_PATHS.get(MADE_UP),
        "agent_route": "ar_credit_memos" in SAGE_TABLES_BY_PATH,
        "poller_cadence": schedule.DEFAULT_INTERVALS.get(MADE_UP),
        "poller_key_lengths": validation.KEY_LENGTHS.get(MADE_UP),
        "poller_text_lengths": validation.TEXT_LENGTHS.get(MADE_UP),
        "mapper_columns": sorted(known.SAGE_COLUMNS.get(MADE_UP, ())),
        "mapper_module": service.MODULES.get(MADE_UP),
        "upsert_key": EXTERNAL_FIELDS.get("Sage_Credit_Memos"),
        "setup_modules": zoho_schema.ENTITY_MODULES.get(MADE_UP),
        "setup_creates": zoho_schema.CUSTOM_MODULES.get("Sage_Credit_Memos"),
        "setup_fields": [f.api_name for f in zoho_schema.fields_needed("Sage_Credit_Memos")],
        "ping_target": ping_zoho.TARGETS.get(MADE_UP),
        "mapping": MADE_UP in service.MAPPED_ENTITIES,
    }
    print(json.dumps(derived))


if __name__ == "__main__":
    main()
