"""The fork-freedom contract: writer epochs (fenced mode) and head compare-and-set (conditional)."""

from __future__ import annotations

import asyncio

import pytest

from repertory.persistence import (
    MAX_SEQ_NR,
    ChainTip,
    Journal,
    JournalMode,
    PersistenceId,
    WriteOutcome,
)
from repertory.testing._applicability import conditional_only, fenced_only
from repertory.testing._journal_harness import JournalHarness
from repertory.testing._journal_helpers import (
    delete_as_owner,
    positions,
    replayed,
    stored,
    write,
    write_one,
)
from repertory.testing._journal_spec import HarnessFixtures

__all__ = ["ConditionalSpec", "FencedSpec"]

PID = PersistenceId("contract", "epochs")


def _require(journal: Journal, mode: JournalMode) -> None:
    """Skip at run time when no harness mark let collection deselect the test."""
    if journal.mode is not mode:
        pytest.skip(f"{mode.value} mode only")


async def _history(journal: Journal, *rows: tuple[int, int, int]) -> None:
    """Store raw rows (seq_nr, epoch, prev_epoch), each as its own write."""
    for seq_nr, epoch, prev_epoch in rows:
        await stored(journal, write_one(PID, seq_nr, epoch, prev_epoch))


class FencedSpec(HarnessFixtures):
    """Epoch claims and the canonical chain under zombies, in fenced mode."""

    @fenced_only
    async def test_claims_only_rise_and_never_repeat(
        self, journal: Journal, journal_harness: JournalHarness
    ) -> None:
        _require(journal, JournalMode.FENCED)
        other = await journal_harness.open_journal()
        first = await journal.claim_epoch()
        claims = await asyncio.gather(*(j.claim_epoch() for j in [journal, other] * 5))
        assert len(set(claims)) == 10 and min(claims) > first
        assert await other.claim_epoch() > max(claims)

    @fenced_only
    async def test_a_zombie_tail_is_dropped(self, journal: Journal) -> None:
        _require(journal, JournalMode.FENCED)
        old, new = await journal.claim_epoch(), await journal.claim_epoch()
        result = await stored(journal, write(PID, old, ChainTip(), 3, "old"))
        assert result.tip is not None
        await stored(journal, write(PID, new, result.tip, 3, "new"))
        await stored(journal, write(PID, old, result.tip, 4, "zombie"))
        rows = await replayed(journal, PID)
        assert positions(rows) == [(1, old), (2, old), (3, old), (4, new), (5, new), (6, new)]
        dropped = (await journal.check(PID))[PID]
        assert positions(list(dropped)) == [(4, old), (5, old), (6, old), (7, old)]
        assert await journal.check() == {PID: dropped}

    @fenced_only
    async def test_newest_owner_kept_when_older_rows_land_after_it_replayed(
        self, journal: Journal
    ) -> None:
        _require(journal, JournalMode.FENCED)
        old = await journal.claim_epoch()
        await stored(journal, write(PID, old, ChainTip(), 3, "old"))
        new = await journal.claim_epoch()
        seen = await journal.chain_tip(PID)
        late = await stored(journal, write(PID, old, seen, 2, "late"))
        assert late.tip is not None and late.tip.seq_nr == 5
        await stored(journal, write(PID, new, seen, 1, "new"))
        rows = await replayed(journal, PID)
        assert positions(rows) == [(1, old), (2, old), (3, old), (4, new)]
        assert await journal.highest_seq_nr(PID) == 4

    @fenced_only
    async def test_a_zombie_extension_is_adopted_until_the_owner_writes(
        self, journal: Journal
    ) -> None:
        _require(journal, JournalMode.FENCED)
        old = await journal.claim_epoch()
        first = await stored(journal, write(PID, old, ChainTip(), 2, "old"))
        assert first.tip is not None
        new = await journal.claim_epoch()
        await stored(journal, write(PID, old, first.tip, 2, "late"))
        seen = await journal.chain_tip(PID)
        assert (seen.seq_nr, seen.epoch) == (4, old)
        await stored(journal, write(PID, new, seen, 1, "new"))
        assert positions(await replayed(journal, PID)) == [(1, old), (2, old), (3, old), (4, old),
                                                            (5, new)]  # fmt: skip

    @fenced_only
    async def test_partial_replays_and_readers_agree(
        self, journal: Journal, journal_harness: JournalHarness
    ) -> None:
        _require(journal, JournalMode.FENCED)
        await _history(
            journal,
            *[(s, 1, 0 if s == 1 else 1) for s in range(1, 9)],
            (5, 2, 1), (6, 2, 2), (7, 2, 2), (7, 3, 2), (8, 3, 3), (9, 1, 1), (9, 3, 3),
        )  # fmt: skip
        full = await replayed(journal, PID)
        assert positions(full) == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (6, 2), (7, 3),
                                   (8, 3), (9, 3)]  # fmt: skip
        other = await journal_harness.open_journal()
        assert await replayed(other, PID) == full
        for start in range(1, 11):
            for end in range(start - 1, 11):
                assert await replayed(journal, PID, from_seq_nr=start, to_seq_nr=end) == [
                    row for row in full if start <= row.seq_nr <= end
                ]

    @fenced_only
    async def test_the_deletion_marker_anchors_the_chain(self, journal: Journal) -> None:
        _require(journal, JournalMode.FENCED)
        old, new = await journal.claim_epoch(), await journal.claim_epoch()
        five = await stored(journal, write(PID, old, ChainTip(), 4, "old"))
        assert five.tip is not None
        await stored(journal, write(PID, new, five.tip, 3, "new"))
        marker = await delete_as_owner(journal, PID, 6)
        assert (marker.seq_nr, marker.epoch) == (6, new)
        await stored(journal, write(PID, old, five.tip, 4, "zombie"))
        assert positions(await replayed(journal, PID)) == [(7, new)]
        await stored(journal, write_one(PID, 8, old, old))
        assert positions(await replayed(journal, PID)) == [(7, new)]
        assert await journal.highest_seq_nr(PID) == 7

    @fenced_only
    async def test_a_deletion_before_the_first_write_anchors_on_the_deleter_view(
        self, journal: Journal
    ) -> None:
        _require(journal, JournalMode.FENCED)
        old = await journal.claim_epoch()
        await stored(journal, write(PID, old, ChainTip(), 3, "old"))
        new = await journal.claim_epoch()
        seen = await journal.chain_tip(PID)
        await stored(journal, write(PID, old, seen, 2, "zombie"))
        marker = await journal.delete_to(PID, MAX_SEQ_NR, seen=seen, writer_epoch=new)
        assert (marker.seq_nr, marker.epoch) == (3, old)
        await stored(journal, write(PID, new, seen, 1, "new"))
        assert positions(await replayed(journal, PID)) == [(4, new)]
        assert await journal.chain_tip(PID) == ChainTip(4, new, 0)

    @fenced_only
    async def test_a_superseded_deleter_stops_where_its_lineage_meets_the_chain(
        self, journal: Journal
    ) -> None:
        _require(journal, JournalMode.FENCED)
        old, new = await journal.claim_epoch(), await journal.claim_epoch()
        three = await stored(journal, write(PID, old, ChainTip(), 3, "old"))
        assert three.tip is not None
        await stored(journal, write(PID, new, three.tip, 2, "new"))
        zombie = await stored(journal, write(PID, old, three.tip, 2, "zombie"))
        assert zombie.tip is not None
        marker = await journal.delete_to(PID, MAX_SEQ_NR, seen=zombie.tip, writer_epoch=old)
        assert (marker.seq_nr, marker.epoch) == (3, old)
        assert positions(await replayed(journal, PID)) == [(4, new), (5, new)]

    @fenced_only
    async def test_a_zombie_alone_past_the_marker_empties_nothing(self, journal: Journal) -> None:
        _require(journal, JournalMode.FENCED)
        await _history(journal, (1, 2, 0), (2, 2, 2))
        await delete_as_owner(journal, PID, 2)
        await _history(journal, (3, 1, 1), (4, 1, 1))
        assert await replayed(journal, PID) == []
        assert await journal.chain_tip(PID) == ChainTip(2, 2, None)


class ConditionalSpec(HarnessFixtures):
    """Head compare-and-set in conditional mode: one of any colliding writers wins."""

    @conditional_only
    async def test_claims_are_zero(self, journal: Journal) -> None:
        _require(journal, JournalMode.CONDITIONAL)
        assert [await journal.claim_epoch() for _ in range(3)] == [0, 0, 0]
        with pytest.raises(ValueError, match="epoch 0"):
            await journal.append([write(PID, 1, ChainTip())])

    @conditional_only
    async def test_a_stale_writer_is_rejected_and_stores_nothing(self, journal: Journal) -> None:
        _require(journal, JournalMode.CONDITIONAL)
        await stored(journal, write(PID, 0, ChainTip(), 2, "a"))
        [result] = await journal.append([write(PID, 0, ChainTip(), 3, "b")])
        assert result.outcome is WriteOutcome.REJECTED and result.tip is None
        assert [row.payload for row in await replayed(journal, PID)] == [b"a-1", b"a-2"]

    @conditional_only
    async def test_heads_follow_writes_across_partition_boundaries(self, journal: Journal) -> None:
        _require(journal, JournalMode.CONDITIONAL)
        size = journal.partition_size
        tip = ChainTip()
        stale: list[ChainTip] = []
        for count in [size - 1, size, 1, size, 2, size]:
            stale.append(tip)
            result = await stored(journal, write(PID, 0, tip, count, f"w{len(stale)}"))
            assert result.tip is not None
            tip = result.tip
        for old in stale:
            for known in (old, ChainTip(old.seq_nr, 0, None)):
                [late] = await journal.append([write(PID, 0, known, 1, "late")])
                assert late.outcome is WriteOutcome.REJECTED, (known, tip)
        unknown = ChainTip(tip.seq_nr, 0, None)
        await stored(journal, write(PID, 0, unknown, 1, "from-unknown-partition"))
        assert [row.seq_nr for row in await replayed(journal, PID)] == list(
            range(1, tip.seq_nr + 2)
        )

    @conditional_only
    async def test_exactly_one_of_two_colliding_writers_is_stored(
        self, journal: Journal, journal_harness: JournalHarness
    ) -> None:
        _require(journal, JournalMode.CONDITIONAL)
        other = await journal_harness.open_journal()
        expected: list[bytes] = []
        for round_nr in range(40):
            tip_a, tip_b = await asyncio.gather(journal.chain_tip(PID), other.chain_tip(PID))
            assert tip_a == tip_b
            count = 1 + round_nr % journal.partition_size
            a = write(PID, 0, tip_a, count, f"a{round_nr}")
            b = write(PID, 0, tip_b, 1 + (round_nr + 1) % journal.partition_size, f"b{round_nr}")
            [ra], [rb] = await asyncio.gather(journal.append([a]), other.append([b]))
            outcomes = {ra.outcome, rb.outcome}
            assert outcomes == {WriteOutcome.STORED, WriteOutcome.REJECTED}, round_nr
            winner = a if ra.outcome is WriteOutcome.STORED else b
            expected.extend(event.payload for event in winner.events)
        assert [row.payload for row in await replayed(other, PID)] == expected
