"""The base every settings section derives from: frozen, no unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """One settings section; frozen so nothing changes a setting after start."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
