"""The bad-input corpus (chaos/corpus.py, written separately) as rows of the chaos table.

Imported lazily and by name: the suite runs, and says so, when the corpus is not there yet.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any

from chaos.verify import CorpusRow


async def corpus_rows() -> list[CorpusRow] | None:
    try:
        module = importlib.import_module("chaos.corpus")
    except ImportError:
        return None
    run_corpus: Any = getattr(module, "run_corpus", None)
    if run_corpus is None:
        return None
    try:
        if inspect.iscoroutinefunction(run_corpus):
            results = await run_corpus()
        else:
            results = await asyncio.to_thread(run_corpus)
    except Exception as exc:  # a broken corpus is a failed row, not a crashed suite
        return [CorpusRow("run_corpus", "corpus", "runs", f"raised {exc!r}", False)]
    return [as_row(result) for result in results]


def as_row(result: Any) -> CorpusRow:
    return CorpusRow(
        name=str(result.name),
        category=str(result.category),
        expected=str(result.expected),
        observed=str(result.observed),
        passed=bool(result.passed),
    )
