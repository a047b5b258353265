"""The history checker's verdict: findings per entity, totals, progress, and a pass/fail rule."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Anomaly", "EntityReport", "Finding", "HistoryCheckFailed", "HistoryReport"]


class Anomaly(enum.StrEnum):
    """A kind of finding that fails the check; the value names it in summaries and dicts."""

    LOST = "lost"
    """A valid command acknowledged OK, failed or dead-lettered, and not in its chain."""

    APPLIED_TWICE = "applied_twice"
    """A command id in one chain in more than one atomic write (counted once per command)."""

    APPLIED_OUT_OF_ORDER = "applied_out_of_order"
    """A command applied after one that came later in its lane (partition or send order)."""

    REJECTED_APPLIED = "rejected_applied"
    """A command every reply called rejected, yet in the chain."""

    INVALID_APPLIED = "invalid_applied"
    """A command sent as invalid, yet in the chain."""

    JOURNAL_GAP = "journal_gap"
    """A ``(seq_nr, epoch)`` above the anchor that a row continues but no row holds."""

    DROPPED_PUBLISHED = "dropped_published"
    """A row outside the chain whose event was published (guarantee 3)."""

    PUBLISHED_OUT_OF_ORDER = "published_out_of_order"
    """A seq_nr first published after a higher one of the same entity (guarantee 4)."""

    JOURNALED_NOT_PUBLISHED = "journaled_not_published"
    """A chain event never published (guarantee 4)."""

    PUBLISHED_NOT_IN_CHAIN = "published_not_in_chain"
    """A published event that is no journal row at all (guarantee 4)."""

    TALLY_MISMATCH = "tally_mismatch"
    """An entity whose final state differs from the independent tally."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One anomaly, located as precisely as the input allows."""

    anomaly: Anomaly
    persistence_id: str
    detail: str
    command_id: str | None = None
    seq_nr: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict of this finding."""
        return {
            "anomaly": self.anomaly.value,
            "persistence_id": self.persistence_id,
            "detail": self.detail,
            "command_id": self.command_id,
            "seq_nr": self.seq_nr,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityReport:
    """The verdict on one entity.

    Attributes:
        chain_length: rows in the resolved chain.
        applied: distinct command ids in the chain.
        dropped_rows: ``(seq_nr, writer_epoch)`` of rows above the anchor outside the chain;
            expected after a zombie and not a failure unless published.
        unresolved: valid commands sent, never applied, answered nor dead-lettered.
        findings: the anomalies, in check order.
    """

    persistence_id: str
    chain_length: int
    applied: int
    dropped_rows: tuple[tuple[int, int], ...]
    unresolved: tuple[str, ...]
    findings: tuple[Finding, ...]

    def count(self, anomaly: Anomaly) -> int:
        """How many findings of ``anomaly`` this entity has."""
        return sum(1 for finding in self.findings if finding.anomaly is anomaly)

    @property
    def needs_attention(self) -> bool:
        """True when the entity has a finding, a dropped row or an unresolved command."""
        return bool(self.findings or self.dropped_rows or self.unresolved)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict of this entity's verdict."""
        return {
            "chain_length": self.chain_length,
            "applied": self.applied,
            "dropped_rows": [list(key) for key in self.dropped_rows],
            "unresolved": list(self.unresolved),
            "findings": [finding.as_dict() for finding in self.findings],
        }


class HistoryCheckFailed(AssertionError):
    """A history failed the check; the message is the report's summary."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryReport:
    """The verdict on a whole run.

    Attributes:
        entities: the verdict per persistence id, for every entity seen anywhere in the input.
        duration_s: the run's wall-clock duration.
        dead_letters: dead letters read, per reason.
    """

    entities: Mapping[str, EntityReport]
    duration_s: float
    dead_letters: Mapping[str, int]

    @property
    def applied(self) -> int:
        """Distinct commands applied, over all chains."""
        return sum(entity.applied for entity in self.entities.values())

    @property
    def applied_per_second(self) -> float:
        """``applied / duration_s``; 0.0 for a run of no duration."""
        return self.applied / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def dropped_rows(self) -> int:
        """Rows outside their chain, over all entities."""
        return sum(len(entity.dropped_rows) for entity in self.entities.values())

    @property
    def unresolved(self) -> int:
        """Unresolved commands, over all entities."""
        return sum(len(entity.unresolved) for entity in self.entities.values())

    def count(self, anomaly: Anomaly) -> int:
        """How many findings of ``anomaly`` the run has."""
        return sum(entity.count(anomaly) for entity in self.entities.values())

    def counts(self) -> dict[str, int]:
        """Every anomaly's count, zeros included, keyed by its value."""
        found = Counter(
            finding.anomaly for entity in self.entities.values() for finding in entity.findings
        )
        return {anomaly.value: found[anomaly] for anomaly in Anomaly}

    @property
    def ok(self) -> bool:
        """True when ``failures()`` with its defaults is empty."""
        return not self.failures()

    def failures(
        self, *, min_applied: int = 1, min_rate: float = 0.0, allow_unresolved: bool = False
    ) -> list[str]:
        """Why this run fails, one line per reason; empty when it passes.

        Args:
            min_applied: the fewest commands that must be applied (1 by default, so a run that
                applies nothing fails).
            min_rate: the lowest acceptable ``applied_per_second``.
            allow_unresolved: accept unresolved commands (a run stopped before it drained).
        """
        reasons = [f"{name}: {n}" for name, n in self.counts().items() if n]
        if self.unresolved and not allow_unresolved:
            reasons.append(f"unresolved: {self.unresolved}")
        if self.applied < min_applied:
            reasons.append(f"applied {self.applied} < minimum {min_applied}")
        if self.applied_per_second < min_rate:
            reasons.append(f"applied per second {self.applied_per_second:.1f} < {min_rate}")
        return reasons

    def assert_ok(
        self, *, min_applied: int = 1, min_rate: float = 0.0, allow_unresolved: bool = False
    ) -> None:
        """Raise when ``failures(...)`` is not empty; arguments as there.

        Raises:
            HistoryCheckFailed: with the reasons and the summary.
        """
        reasons = self.failures(
            min_applied=min_applied, min_rate=min_rate, allow_unresolved=allow_unresolved
        )
        if reasons:
            raise HistoryCheckFailed("; ".join(reasons) + "\n" + self.summary())

    def summary(self, *, max_findings: int = 20) -> str:
        """Multi-line text: totals, then up to ``max_findings`` findings and as many unresolved
        commands."""
        lines = [
            f"history check: {'ok' if self.ok else 'FAILED'}",
            f"  entities {len(self.entities)}, applied {self.applied} in "
            f"{self.duration_s:.2f} s ({self.applied_per_second:.1f}/s)",
            f"  dropped rows {self.dropped_rows}, unresolved {self.unresolved}, "
            f"dead letters {sum(self.dead_letters.values())}",
        ]
        lines += [f"  {name}: {n}" for name, n in self.counts().items() if n]
        findings = [f for entity in self.entities.values() for f in entity.findings]
        shown = findings[:max_findings]
        lines += [f"  - [{f.persistence_id}] {f.anomaly.value}: {f.detail}" for f in shown]
        if len(findings) > max_findings:
            lines.append(f"  ... {len(findings) - max_findings} more findings")
        waiting = [(pid, c) for pid, e in self.entities.items() for c in e.unresolved]
        lines += [f"  - [{pid}] unresolved: [{c}]" for pid, c in waiting[:max_findings]]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict: totals, counts, and the entities that need attention."""
        return {
            "ok": self.ok,
            "entities": len(self.entities),
            "applied": self.applied,
            "duration_s": self.duration_s,
            "applied_per_second": self.applied_per_second,
            "dropped_rows": self.dropped_rows,
            "unresolved": self.unresolved,
            "dead_letters": dict(self.dead_letters),
            "counts": self.counts(),
            "attention": {
                pid: entity.as_dict()
                for pid, entity in sorted(self.entities.items())
                if entity.needs_attention
            },
        }
