"""Helpers of the deployment-file tests: YAML loading, PromQL metric references, env names."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def yaml_module() -> Any:
    """pyyaml, or a skip with the reason; on CI (``CI=true``) a missing pyyaml fails instead."""
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        reason = "pyyaml is not installed: the deployment YAML cannot be parsed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (on CI this is a failure)")
        pytest.skip(reason)
    return yaml


def load_yaml_documents(path: Path) -> list[Any]:
    yaml = yaml_module()
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- PromQL: which metric names an expression reads -------------------------------------------

GRAFANA_MACROS = re.compile(r"\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval)\}")

FUNCTIONS = frozenset(
    {
        "abs",
        "absent",
        "absent_over_time",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "count_over_time",
        "day_of_month",
        "day_of_week",
        "days_in_month",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_quantile",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "time",
        "timestamp",
        "vector",
        "year",
    }
)
AGGREGATIONS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    }
)
LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
OPERATOR_WORDS = frozenset({"and", "or", "unless", "bool", "offset"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<range>\[[^\]]*\])
      | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![A-Za-z0-9_:]))
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<punct>==|!=|=~|!~|>=|<=|[-+*/%^(){},=<>])
    )""",
    re.VERBOSE,
)


class PromQLError(ValueError):
    pass


def _tokens(expr: str) -> list[tuple[str, str]]:
    text = GRAFANA_MACROS.sub("5m", expr)
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise PromQLError(f"cannot read {text[position:]!r} in {expr!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects; raises ``PromQLError`` for what is not PromQL here."""
    tokens = _tokens(expr)
    depth = {"(": 0, "{": 0}
    names: set[str] = set()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "punct" and text in "({":
            depth[text] += 1
        elif kind == "punct" and text in ")}":
            opener = "(" if text == ")" else "{"
            depth[opener] -= 1
            if depth[opener] < 0:
                raise PromQLError(f"unbalanced {text!r} in {expr!r}")
        elif kind == "name" and depth["{"] == 0:
            if text in LABEL_LIST_KEYWORDS:
                i = _skip_label_list(tokens, i + 1, expr)
                continue
            if text in AGGREGATIONS and following in {"by", "without"}:
                pass  # `sum by (le) (...)`: the label list is skipped next
            elif following == "(":
                if text not in FUNCTIONS | AGGREGATIONS:
                    raise PromQLError(f"unknown function {text!r} in {expr!r}")
            elif text not in OPERATOR_WORDS:
                names.add(text)
        i += 1
    if depth != {"(": 0, "{": 0}:
        raise PromQLError(f"unbalanced brackets in {expr!r}")
    if not names:
        raise PromQLError(f"no metric in {expr!r}")
    return names


def _skip_label_list(tokens: list[tuple[str, str]], i: int, expr: str) -> int:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise PromQLError(f"a label list must follow in {expr!r}")
    i += 1
    while i < len(tokens) and tokens[i][1] != ")":
        if tokens[i][0] != "name" and tokens[i][1] != ",":
            raise PromQLError(f"bad label list in {expr!r}")
        i += 1
    if i >= len(tokens):
        raise PromQLError(f"unclosed label list in {expr!r}")
    return i + 1


def dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every ``expr`` of every panel (rows' nested panels included)."""
    found: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            found.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    return found


# --- settings: does an environment variable name a real field? ---------------------------------


def settings_env_name_exists(name: str) -> bool:
    """``REPERTORY_<SECTION>__<FIELD>`` names a field of ``repertory.config.Settings``."""
    from repertory.config import Settings

    match = re.fullmatch(r"REPERTORY_([A-Z0-9_]+?)__([A-Z0-9_]+)", name)
    if match is None:
        return name == "REPERTORY_CONFIG"
    section, field = match.group(1).lower(), match.group(2).lower()
    section_field = Settings.model_fields.get(section)
    if section_field is None or section_field.annotation is None:
        return False
    return field in section_field.annotation.model_fields
