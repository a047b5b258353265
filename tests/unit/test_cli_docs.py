"""The generated references are current, and the settings verb prints what a script parses."""

from __future__ import annotations

from pathlib import Path

from cli_support import invoke, stdout_json

from repertory.cli import main
from repertory.cli_commands.docs import cli_markdown, settings_markdown
from repertory.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
FIX = "run `.venv/bin/python scripts/gen_docs.py` and commit the result"


def test_the_settings_reference_is_current() -> None:
    assert (DOCS / "settings.md").read_text() == settings_markdown(), FIX


def test_the_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == cli_markdown(main), FIX


def test_the_settings_reference_names_every_field() -> None:
    text = settings_markdown()
    for section, info in Settings.model_fields.items():
        assert f"## `[{section}]`" in text
        for name in info.annotation.model_fields:  # type: ignore[union-attr]
            assert f"`REPERTORY_{section.upper()}__{name.upper()}`" in text


def test_the_settings_verb_prints_effective_values_without_secrets() -> None:
    result = invoke("settings", "--section", "journal")
    assert result.exit_code == 0
    assert stdout_json(result)["journal"]["backend"] == "sqlite"
    assert invoke("settings", "--section", "nope").exit_code == 2


def test_every_verb_teaches_with_examples() -> None:
    text = cli_markdown(main)
    for verb in ("demo", "replay", "journal check", "schema create", "inspect skew"):
        section = text.split(f"## `repertory {verb}`", 1)[1].split("## `", 1)[0]
        assert "Examples:" in section, verb
