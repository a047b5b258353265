"""The Journal and SnapshotStore contracts, and the rules every journal implements identically.

Rows. Key ``((persistence_id, partition_nr), seq_nr, writer_epoch)`` plus ``prev_epoch`` (the
epoch of the row it continues). An :class:`AtomicWrite` (one entity, contiguous seq_nrs, one
epoch, all or none) lives whole in the partition of its first seq_nr: ``(first - 1) //
partition_size``. A write holds at most ``partition_size`` events, so it overruns its nominal
partition into the next one's range at most once; a read starting at seq s also reads the
partition before s's. Rows report the partition they physically live in (``partition_nr``).

Canonical chain (:func:`resolve_chain`, checked against the shared vectors): from the last row
of the highest epoch above the anchor, follow ``(seq_nr - 1, prev_epoch)`` to the anchor; a
broken walk, or one that meets the anchor's seq_nr with another epoch, falls back to the next
epoch down; none reaches it → empty chain. Anchor = the highest of: the ``anchor`` a caller
passes (its snapshot's (seq_nr, epoch)), the entity's deletion marker, (0, 0). Every read —
replay, chain_tip, highest_seq_nr, check — resolves from that anchor to the end; a replay range
is a slice of that chain, so partial and full replays agree. Rows outside the chain are dropped
(never returned), logged with their count, and listed by :meth:`Journal.check`.

Epochs. ``claim_epoch`` returns max + 1 of a global claims table; claims only rise; on an
ambiguous claim, claim again. Fenced mode refuses writes with epoch 0; conditional mode never
claims: ``claim_epoch`` returns 0 there and touches nothing, and writes must carry epoch 0.

Fenced mode: writes are plain upserts (an identical retry rewrites identical rows: STORED);
many entities' writes of one ``append`` go out in as few requests as possible. Nothing is
compared, so nothing is REJECTED; FAILED means the outcome is unknown.

Conditional mode: each write is one conditional batch in its target partition that inserts its
rows and compare-and-sets the partition's static ``head_seq`` to its last seq_nr, ``IF head_seq
= <expected>``. The writer passes the tip it continues (``AtomicWrite.after``: seq_nr, epoch and
the partition that row lives in, taken from the last replayed row or from the previous
:class:`WriteResult`). Expected = ``after.seq_nr`` when ``after.partition_nr`` is the target
partition, else null (the write opens the partition). When ``after.partition_nr`` is None (no
row to ask: seq 0, a snapshot or marker with nothing after it), the journal reads the target's
head first: equal to ``after.seq_nr`` → expect it, otherwise expect null. A lost
compare-and-set is settled by reading the write's seq_nrs back (at SERIAL on Cassandra): all our
rows there with identical content → STORED (an identical retry), otherwise → REJECTED. An
unknown outcome is settled the same way; if that read fails too the result is FAILED.

Deletion takes the deleter's view: ``delete_to`` clamps to the tip the deleter continues from
(``seen``), and the marker is (seq_nr, epoch) of the row there on the deleter's lineage — the
rows ``seen`` continues, down to the current anchor. The canonical chain resolved at that moment
is not used for the epoch: a zombie's rows that landed after the deleter replayed are adopted
until the deleter writes past them, and a marker on one would outlive them and cut the
deleter's next writes off the anchor. Only when the chain ends in an epoch above the deleter's
(a newer writer owns it: the deleter is a zombie) does the marker stop lower, at the highest
row where the deleter's lineage and the canonical chain agree; a view the journal does not hold
deletes nothing. A zombie deleting before the newest writer has written is not detected, like
its writes; callers delete only up to what is committed (a snapshot's seq_nr), which a fenced
zombie cannot reach. The marker goes into a per-entity metadata table — only ever upwards
(conditionally in conditional mode) — then every row (any epoch) at or below it is removed.
Partitions keep their ``head_seq``. ``highest_seq_nr`` never drops below the marker.

Snapshots: key (persistence_id, seq_nr); saving the same seq_nr again replaces it. ``load``
returns the one with the highest seq_nr matching the criteria.

Outbox (journals whose ``supports_outbox`` is true: SQLite, in-memory): an atomic write's outbox
entries are stored in the same transaction as its events, once per ``message_id``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

from repertory.persistence._chain import Anchor
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    EventRecord,
    JournalMode,
    OutboxRecord,
    PersistenceId,
    SnapshotCriteria,
    SnapshotRecord,
    WriteResult,
)

__all__ = ["MAX_SEQ_NR", "Journal", "Outbox", "SnapshotStore"]

MAX_SEQ_NR = 2**63 - 1
"""The highest seq_nr a journal stores (Cassandra's bigint); the default upper bound of reads."""


class Journal(ABC):
    """An append-only, per-entity event journal that can never fork (see the module doc)."""

    @property
    @abstractmethod
    def mode(self) -> JournalMode:
        """The mode recorded in the store."""

    @property
    @abstractmethod
    def partition_size(self) -> int:
        """The nominal partition size recorded in the store (events per partition)."""

    @abstractmethod
    async def claim_epoch(self) -> int:
        """Claim a new writer epoch (fenced: max + 1, never reused; conditional: 0).

        Raises:
            JournalUnavailable: the claim could not be made or settled.
        """

    @abstractmethod
    async def append(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        """Store atomic writes of any entities; one result per write, in the same order.

        Writes of one entity in one call are applied in order (a later one may continue an
        earlier one's tip). Store errors become FAILED results rather than exceptions.

        Raises:
            ValueError: a write breaks the contract (checked before anything is sent).
        """

    @abstractmethod
    def replay(
        self,
        persistence_id: PersistenceId,
        from_seq_nr: int = 1,
        to_seq_nr: int = MAX_SEQ_NR,
        max_count: int = MAX_SEQ_NR,
        anchor: Anchor | None = None,
    ) -> AsyncIterator[EventRecord]:
        """The canonical chain's events in ``[from_seq_nr, to_seq_nr]``, at most ``max_count``.

        Args:
            anchor: the (seq_nr, epoch) of a snapshot the caller restored, below
                ``from_seq_nr``; the deletion marker wins when it is higher.

        Raises:
            ValueError: ``anchor.seq_nr >= from_seq_nr`` or a negative count.
            JournalUnavailable: the store could not be read.
        """

    @abstractmethod
    async def chain_tip(
        self, persistence_id: PersistenceId, anchor: Anchor | None = None
    ) -> ChainTip:
        """Where the canonical chain ends: what a writer's next write continues from."""

    async def highest_seq_nr(self, persistence_id: PersistenceId) -> int:
        """The canonical chain's highest seq_nr; deletion never lowers it (0 if none)."""
        return (await self.chain_tip(persistence_id)).seq_nr

    @abstractmethod
    async def delete_to(
        self, persistence_id: PersistenceId, seq_nr: int, *, seen: ChainTip, writer_epoch: int
    ) -> Anchor:
        """Raise the deletion marker to ``seq_nr`` (clamped), then remove rows up to it.

        The marker lies on the deleter's lineage, never past what it has seen (see Deletion in
        the module doc).

        Args:
            seen: the tip the deleting writer continues from (its last replayed or written
                event, or the anchor it restored).
            writer_epoch: the deleting writer's epoch (0 in conditional mode).

        Returns:
            The marker in effect afterwards (the origin if nothing was ever deleted).
        """

    @abstractmethod
    async def check(
        self, persistence_id: PersistenceId | None = None
    ) -> dict[PersistenceId, tuple[EventRecord, ...]]:
        """Rows outside the canonical chain, per entity.

        Args:
            persistence_id: one entity (always present in the answer), or None for every
                entity that has dropped rows.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections and threads; idempotent."""

    @property
    def supports_outbox(self) -> bool:
        """Whether atomic writes may carry outbox entries (see :class:`Outbox`)."""
        return False

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class EntityIndex(ABC):
    """A journal that can list the entities it holds, so a runtime starting new entities can
    skip their recovery reads. Only conditional journals answer: a stale answer is safe there,
    because a new entity's first write is a compare-and-set that fails if it was not new."""

    @abstractmethod
    async def known_entities(self, limit: int) -> set[str] | None:
        """Every entity with rows, a deletion marker or a snapshot (persistence id strings);
        None past ``limit`` entities, or when the journal's mode cannot vouch for new ones."""


class Outbox(ABC):
    """Commands emitted by events, stored with them and delivered (again after a crash)."""

    @abstractmethod
    async def outbox_pending(
        self, max_count: int = 100, *, after_position: int = 0
    ) -> list[OutboxRecord]:
        """Undelivered outbox rows above ``after_position``, oldest first (for paging)."""

    @abstractmethod
    async def mark_delivered(self, positions: Sequence[int]) -> None:
        """Mark outbox rows delivered; unknown or already delivered positions are ignored."""

    @abstractmethod
    async def mark_delivered_messages(self, message_ids: Sequence[str]) -> None:
        """Mark outbox rows delivered by message id, in one transaction; unknown or already
        delivered ids are ignored."""


class SnapshotStore(ABC):
    """Snapshots of entity state; each is a canonical prefix and a valid replay anchor."""

    @abstractmethod
    async def save(self, snapshot: SnapshotRecord) -> None:
        """Store a snapshot, replacing one of the same entity and seq_nr."""

    @abstractmethod
    async def load(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria | None = None
    ) -> SnapshotRecord | None:
        """The matching snapshot with the highest seq_nr, or None."""

    @abstractmethod
    async def delete(self, persistence_id: PersistenceId, seq_nr: int) -> None:
        """Delete the snapshot at ``seq_nr``, if any."""

    @abstractmethod
    async def delete_matching(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria
    ) -> None:
        """Delete every snapshot of the entity that matches ``criteria``."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections and threads; idempotent."""
