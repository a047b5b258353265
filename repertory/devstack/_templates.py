"""Renders the files kept in ``templates/``: ``{{name}}`` placeholders, nothing else.

Server configuration files use ``${...}`` themselves (log4j2 lookups, logback variables), so
the placeholders use a syntax none of them do, and a missing or unused value is an error rather
than a silently broken configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

from repertory.errors import DevstackError

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


def template_text(name: str) -> str:
    """The raw text of the template ``name`` shipped in ``repertory/devstack/templates``."""
    return resources.files("repertory.devstack").joinpath("templates", name).read_text("utf-8")


def render(name: str, values: Mapping[str, object]) -> str:
    """Render the template ``name`` with ``values``.

    Raises:
        DevstackError: a placeholder has no value, or a value matches no placeholder.
    """
    text = template_text(name)
    wanted = set(_PLACEHOLDER.findall(text))
    missing = wanted - values.keys()
    unused = values.keys() - wanted
    if missing or unused:
        raise DevstackError(
            f"template [{name}]: missing values {sorted(missing)}, unused values {sorted(unused)}"
        )
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)
