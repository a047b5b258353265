"""The implementations behind the ``repertory`` command line: one module per verb family.

``repertory/cli.py`` is the thin root: it declares the ``main`` group, its global options and
the ``devstack`` group, and registers the click commands defined here. This package belongs to
the CLI side of the layer table (it may import the engine and everything below it); nothing in
the library imports it, except an application's worker factory through :func:`app_engine`.

Exit codes every verb keeps, so scripts can rely on them:

- ``0`` — done (for checks: nothing wrong found);
- ``1`` — the operation failed, or a check found a problem (dropped rows, a failed recovery);
- ``2`` — bad usage or settings: an unknown option, a missing argument, an invalid setting.
"""

from repertory.observability import configure_logging

# Before anything below imports a module that binds its logger at import time: such a logger
# keeps the configuration in force then, and structlog's default writes to stdout, where a
# verb's --json output goes. The settings' format and level are applied again once loaded.
configure_logging()

from repertory.cli_commands._apps import App, app_engine, load_app  # noqa: E402
from repertory.cli_commands._context import (  # noqa: E402
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliContext,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "App", "CliContext", "app_engine", "load_app"]
