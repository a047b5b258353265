"""The journal contract every journal passes in both modes (after Akka's JournalSpec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from repertory.persistence import (
    MAX_SEQ_NR,
    Anchor,
    AtomicWrite,
    ChainTip,
    EventData,
    Journal,
    Outbox,
    OutboxEntry,
    PersistenceId,
    RecordSource,
    WriteOutcome,
)
from repertory.testing._applicability import needs_outbox
from repertory.testing._journal_harness import JournalHarness
from repertory.testing._journal_helpers import (
    delete_as_owner,
    events,
    positions,
    replayed,
    stored,
    write,
)

__all__ = ["HarnessFixtures", "JournalSpec"]

PID = PersistenceId("contract", "a")


class HarnessFixtures:
    """Fixtures built on ``journal_harness``, the one fixture a user of the suite provides."""

    @pytest.fixture
    async def journal(self, journal_harness: JournalHarness) -> AsyncIterator[Journal]:
        yield await journal_harness.open_journal()

    @pytest.fixture
    async def five(self, journal: Journal) -> Journal:
        """The journal holding events 1..5 of ``PID``, written one per write."""
        epoch = await journal.claim_epoch()
        tip = ChainTip()
        for _ in range(5):
            result = await stored(journal, write(PID, epoch, tip))
            assert result.tip is not None
            tip = result.tip
        return journal


class JournalSpec(HarnessFixtures):
    """Writes, replays, bounds, deletion, retries and the outbox, in either mode."""

    async def test_unknown_entity_is_empty(self, journal: Journal) -> None:
        unknown = PersistenceId("contract", "never-written")
        assert await replayed(journal, unknown) == []
        assert await journal.highest_seq_nr(unknown) == 0
        assert await journal.chain_tip(unknown) == ChainTip(0, 0, None)

    async def test_replays_everything_in_order(self, five: Journal) -> None:
        rows = await replayed(five, PID)
        assert [row.seq_nr for row in rows] == [1, 2, 3, 4, 5]
        assert [row.payload for row in rows] == [f"e-{n}".encode() for n in range(1, 6)]
        assert await five.highest_seq_nr(PID) == 5

    @pytest.mark.parametrize(
        ("bounds", "expected"),
        [
            ({"from_seq_nr": 2, "to_seq_nr": 4}, [2, 3, 4]),
            ({"from_seq_nr": 3}, [3, 4, 5]),
            ({"to_seq_nr": 2}, [1, 2]),
            ({"from_seq_nr": 5, "to_seq_nr": 5}, [5]),
            ({"max_count": 2}, [1, 2]),
            ({"from_seq_nr": 2, "max_count": 2}, [2, 3]),
            ({"from_seq_nr": 2, "to_seq_nr": 3, "max_count": 5}, [2, 3]),
            ({"max_count": 0}, []),
            ({"from_seq_nr": 4, "to_seq_nr": 2}, []),
            ({"from_seq_nr": 6}, []),
        ],
    )
    async def test_replay_bounds_and_limits(
        self, five: Journal, bounds: dict[str, int], expected: list[int]
    ) -> None:
        assert [row.seq_nr for row in await replayed(five, PID, **bounds)] == expected

    async def test_replay_from_a_snapshot_anchor(self, five: Journal) -> None:
        tip3 = next(row for row in await replayed(five, PID) if row.seq_nr == 3).tip
        rows = [row async for row in five.replay(PID, from_seq_nr=4, anchor=tip3.anchor)]
        assert [row.seq_nr for row in rows] == [4, 5]
        with pytest.raises(ValueError, match="below from_seq_nr"):
            [row async for row in five.replay(PID, from_seq_nr=3, anchor=tip3.anchor)]

    async def test_atomic_write_of_many_events_round_trips(self, journal: Journal) -> None:
        epoch = await journal.claim_epoch()
        source = RecordSource(topic="commands", partition=3, offset=41)
        data = (
            EventData(event_type="Opened", payload=b"\x00\x01", timestamp_ms=7, command_id="c"),
            EventData(
                event_type="Deposited",
                schema_version=2,
                payload=b"\xff" * 300,
                timestamp_ms=7,
                command_id="c",
                source=source,
                reply=b"ok",
                metadata={"trace": "t-1"},
            ),
        )
        atomic = AtomicWrite(persistence_id=PID, writer_epoch=epoch, after=ChainTip(), events=data)
        result = await stored(journal, atomic)
        assert result.tip is not None and (result.tip.seq_nr, result.tip.epoch) == (2, epoch)
        first, second = await replayed(journal, PID)
        assert (first.seq_nr, first.prev_epoch, first.event_type) == (1, 0, "Opened")
        assert (second.seq_nr, second.prev_epoch, second.writer_epoch) == (2, epoch, epoch)
        assert (second.schema_version, second.payload, second.reply) == (2, b"\xff" * 300, b"ok")
        assert (second.source, dict(second.metadata)) == (source, {"trace": "t-1"})
        assert first.reply is None and first.source is None

    async def test_one_call_writes_many_entities(self, journal: Journal) -> None:
        epoch = await journal.claim_epoch()
        pids = [PersistenceId("contract", f"many-{i}") for i in range(20)]
        writes = [write(pid, epoch, ChainTip(), count=1 + i % 3) for i, pid in enumerate(pids)]
        results = await journal.append(writes)
        assert [r.persistence_id for r in results] == pids
        assert all(r.outcome is WriteOutcome.STORED for r in results)
        for i, pid in enumerate(pids):
            assert await journal.highest_seq_nr(pid) == 1 + i % 3

    async def test_write_longer_than_a_partition_is_refused(self, journal: Journal) -> None:
        epoch = await journal.claim_epoch()
        with pytest.raises(ValueError, match="partition size"):
            await journal.append([write(PID, epoch, ChainTip(), journal.partition_size + 1)])
        assert await journal.highest_seq_nr(PID) == 0

    async def test_writes_crossing_partitions_replay_from_any_start(self, journal: Journal) -> None:
        epoch = await journal.claim_epoch()
        tip = ChainTip()
        for count in [3, 1, 4, 2, 4, 1, 3, 4]:
            result = await stored(journal, write(PID, epoch, tip, count))
            assert result.tip is not None
            tip = result.tip
        full = await replayed(journal, PID)
        assert [row.seq_nr for row in full] == list(range(1, 23))
        for start in range(1, 24):
            for end in range(start, 24, 5):
                part = await replayed(journal, PID, from_seq_nr=start, to_seq_nr=end)
                assert part == full[start - 1 : end]

    async def test_identical_retry_is_idempotent(self, journal: Journal) -> None:
        epoch = await journal.claim_epoch()
        first = write(PID, epoch, ChainTip(), count=3)
        await stored(journal, first)
        await stored(journal, first)
        assert positions(await replayed(journal, PID)) == [(1, epoch), (2, epoch), (3, epoch)]

    async def test_deletion_keeps_the_highest_seq_nr(self, five: Journal) -> None:
        marker = await delete_as_owner(five, PID, 3)
        assert marker.seq_nr == 3
        assert [row.seq_nr for row in await replayed(five, PID)] == [4, 5]
        assert await five.highest_seq_nr(PID) == 5
        assert (await delete_as_owner(five, PID, 100)).seq_nr == 5
        assert await replayed(five, PID) == []
        assert await five.highest_seq_nr(PID) == 5
        assert (await delete_as_owner(five, PID, 2)).seq_nr == 5

    async def test_deletion_stops_at_what_the_deleter_has_seen(
        self, five: Journal, journal_harness: JournalHarness
    ) -> None:
        seen = await five.chain_tip(PID)
        other = await journal_harness.open_journal()
        await stored(other, write(PID, seen.epoch, seen, 2, tag="unseen"))
        marker = await five.delete_to(PID, MAX_SEQ_NR, seen=seen, writer_epoch=seen.epoch)
        assert (marker.seq_nr, marker.epoch) == (5, seen.epoch)
        rows = await replayed(five, PID)
        assert [row.payload for row in rows] == [b"unseen-6", b"unseen-7"]

    async def test_writing_goes_on_after_deleting_everything(self, five: Journal) -> None:
        await delete_as_owner(five, PID, 5)
        tip = await five.chain_tip(PID)
        assert tip.seq_nr == 5
        await stored(five, write(PID, tip.epoch, tip, 2, tag="after"))
        assert [row.seq_nr for row in await replayed(five, PID)] == [6, 7]
        assert await five.highest_seq_nr(PID) == 7

    async def test_check_of_a_clean_journal_lists_nothing(self, five: Journal) -> None:
        assert await five.check(PID) == {PID: ()}
        assert await five.check() == {}

    @needs_outbox
    async def test_outbox_is_written_with_the_events(self, journal: Journal) -> None:
        if not journal.supports_outbox or not isinstance(journal, Outbox):
            pytest.skip("this journal has no outbox")
        epoch = await journal.claim_epoch()
        entry = OutboxEntry(
            message_id="m-1", destination="account|b", message_type="Credit", payload=b"5"
        )
        atomic = AtomicWrite(
            persistence_id=PID, writer_epoch=epoch, after=ChainTip(), events=events(2),
            outbox=(entry,),
        )  # fmt: skip
        await stored(journal, atomic)
        await stored(journal, atomic)
        [pending] = await journal.outbox_pending()
        assert (pending.entry, pending.persistence_id, pending.seq_nr) == (entry, PID, 2)
        await journal.mark_delivered([pending.position])
        assert await journal.outbox_pending() == []

    async def test_anchor_below_the_deletion_marker_is_ignored(self, five: Journal) -> None:
        await delete_as_owner(five, PID, 4)
        rows = [row async for row in five.replay(PID, from_seq_nr=3, anchor=Anchor(1, 99))]
        assert [row.seq_nr for row in rows] == [5]
