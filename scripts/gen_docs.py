"""Write the generated references: docs/settings.md (settings classes) and docs/cli.md (click).

Usage: ``.venv/bin/python scripts/gen_docs.py`` (``--check`` exits 1 when either is stale).
``tests/unit/test_cli_docs.py`` fails when a committed copy differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from repertory.cli import main
from repertory.cli_commands.docs import cli_markdown, settings_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def generated() -> dict[Path, str]:
    return {DOCS / "settings.md": settings_markdown(), DOCS / "cli.md": cli_markdown(main)}


def run(check: bool) -> int:
    stale = 0
    for path, text in generated().items():
        if path.exists() and path.read_text() == text:
            continue
        stale += 1
        if check:
            print(f"{path} is stale: run python scripts/gen_docs.py", file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(run("--check" in sys.argv[1:]))
