"""Which contract tests apply to which journal, decided when pytest collects them.

A test of one write mode, or of the outbox, says so with a marker; each harness parameter says
what its journal is. :func:`deselect_inapplicable` then leaves out (deselects) the combinations
that do not apply, so a run reports no skips for them: a skip is kept for something that
should have run and did not.
"""

from __future__ import annotations

import pytest

from repertory.persistence import JournalMode

__all__ = [
    "conditional_only",
    "deselect_inapplicable",
    "fenced_only",
    "journal_kind",
    "needs_outbox",
]

_NEEDS = "journal_needs"  # the marker names used below
_IS = "journal_is"

fenced_only: pytest.MarkDecorator = pytest.mark.journal_needs(mode=JournalMode.FENCED)
"""Marks a test of fenced mode only."""

conditional_only: pytest.MarkDecorator = pytest.mark.journal_needs(mode=JournalMode.CONDITIONAL)
"""Marks a test of conditional mode only."""

needs_outbox: pytest.MarkDecorator = pytest.mark.journal_needs(outbox=True)
"""Marks a test of the outbox (journals whose ``supports_outbox`` is true)."""


def journal_kind(mode: JournalMode, *, outbox: bool) -> pytest.MarkDecorator:
    """The mark a harness parameter carries: its journal's mode and whether it has an outbox."""
    return pytest.mark.journal_is(mode=mode, outbox=outbox)


def deselect_inapplicable(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop from ``items`` the tests their journal cannot run, reporting them as deselected.

    Call from ``pytest_collection_modifyitems``. Items without a harness mark are kept (their
    tests still skip themselves at run time).
    """
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if _inapplicable(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _inapplicable(item: pytest.Item) -> bool:
    kind = item.get_closest_marker(_IS)
    if kind is None:
        return False
    for need in item.iter_markers(_NEEDS):
        mode = need.kwargs.get("mode")
        if mode is not None and mode is not kind.kwargs["mode"]:
            return True
        if need.kwargs.get("outbox") and not kind.kwargs["outbox"]:
            return True
    return False
