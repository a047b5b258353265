"""Generated references: the settings (from the settings classes) and the CLI (from click), so
the docs cannot drift from the code; ``scripts/gen_docs.py`` writes both, a test fails when a
committed copy is stale. Also ``repertory settings``: the effective settings, or the reference."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from repertory.cli_commands._context import settings_of
from repertory.config import Settings

__all__ = ["cli_markdown", "settings_command", "settings_markdown"]

_SETTINGS_INTRO = """# Settings reference

Generated from the settings classes by `python scripts/gen_docs.py`; do not edit by hand.

Every section is a frozen, validated model. Precedence, lowest first: defaults < TOML file
(`--config FILE`, `$REPERTORY_CONFIG`, or `./repertory.toml`) < environment
(`REPERTORY_<SECTION>__<FIELD>`) < command-line flags. An invalid value stops the start with the
field and the value. `repertory settings` prints the effective values.

A TOML file names sections as tables:

```toml
[journal]
backend = "sqlite"
sqlite_path = "bank.sqlite3"

[kafka]
enabled = true
bootstrap_servers = "kafka-1:9092,kafka-2:9092"
```
"""


def _type_name(info: FieldInfo) -> str:
    text = repr(info.annotation) if info.annotation is not None else "Any"
    for noise in ("typing.", "pathlib._local.", "pathlib.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    shown = json.dumps(value, default=str)
    return f"`{shown}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_markdown() -> str:
    """The settings reference, one table per section, in the order of ``Settings``."""
    parts = [_SETTINGS_INTRO]
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        doc = " ".join((model.__doc__ or "").split()) if model.__doc__ else ""
        parts.append(f"\n## `[{section}]`\n")
        if doc and not doc.startswith("Usage docs"):
            parts.append(f"{doc}\n")
        parts.append("| field | type | default | environment | meaning |")
        parts.append("|---|---|---|---|---|")
        for name, field in model.model_fields.items():
            env = f"REPERTORY_{section.upper()}__{name.upper()}"
            parts.append(
                f"| `{name}` | `{_cell(_type_name(field))}` | {_cell(_default(field))} | "
                f"`{env}` | {_cell(field.description or '')} |"
            )
    return "\n".join(parts) + "\n"


def cli_markdown(root: click.Group, name: str = "repertory") -> str:
    """The CLI reference: every command's ``--help``, depth first, in name order."""
    lines = [
        "# CLI reference",
        "",
        "Generated from the click commands by `python scripts/gen_docs.py`; do not edit by hand.",
        "",
    ]
    # A fixed width: the text must not depend on the terminal that generates it; and contexts
    # made as click makes them, so each command's context_settings (-h) apply.
    ctx = root.make_context(
        name, [], resilient_parsing=True, terminal_width=100, max_content_width=100
    )
    _walk(root, ctx, lines)
    return "\n".join(lines) + "\n"


def _walk(command: click.Command, ctx: click.Context, lines: list[str]) -> None:
    lines += [f"## `{ctx.command_path}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    if isinstance(command, click.Group):
        for sub_name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                _walk(
                    sub, sub.make_context(sub_name, [], parent=ctx, resilient_parsing=True), lines
                )


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the settings reference (docs/settings.md).")
@click.option("--section", help="Only this section, e.g. kafka.")
@click.pass_context
def settings_command(ctx: click.Context, markdown: bool, section: str | None) -> None:
    """Print the effective settings as JSON (passwords hidden), or the reference.

    \b
    Examples:
      repertory settings                      # what this process would run with
      REPERTORY_KAFKA__ENABLED=true repertory settings --section kafka
      repertory settings --markdown > docs/settings.md
    """
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    values: dict[str, Any] = settings_of(ctx).settings.model_dump(mode="json")
    for part in values.values():
        for key in list(part):
            if "password" in key and part[key] and not key.endswith("_file"):
                part[key] = "**********"
    if section is not None:
        if section not in values:
            raise click.BadParameter(f"no section [{section}]; sections: {', '.join(values)}")
        values = {section: values[section]}
    click.echo(json.dumps(values, indent=2))
