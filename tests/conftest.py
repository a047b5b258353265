"""Shared test set-up: each test gets the marker of the directory it lives in.

``tests/unit`` → ``unit`` here; ``tests/integration`` marks its own (its conftest also holds the
server fixtures). ``pytest -m unit`` therefore selects no test that could start a server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def in_directory(item: pytest.Item, directory: str) -> bool:
    """True when ``item`` lives under ``tests/<directory>``."""
    return (TESTS / directory) in item.path.parents


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if in_directory(item, "unit"):
            item.add_marker(pytest.mark.unit)
