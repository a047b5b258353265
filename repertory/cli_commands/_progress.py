"""Progress bars on stderr (tqdm), shown only on a terminal so pipes and tests stay clean."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

__all__ = ["progress"]


def progress(
    total: float | None = None, *, desc: str = "", unit: str = "it", force: bool = False
) -> Any:
    """A tqdm bar on stderr; hidden when stderr is not a terminal unless ``force``."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=False if force else None,
        leave=False,
        dynamic_ncols=True,
        unit_scale=True,
    )
