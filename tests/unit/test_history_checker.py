"""The history checker: its own chain resolver against the shared vectors, a clean run that
passes, and one hand-made run per anomaly, each found with its exact count."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repertory.testing.history import (
    Ack,
    AckOutcome,
    Anchor,
    DeadLetter,
    History,
    HistoryCheckFailed,
    HistoryReport,
    JournalRow,
    PublishedEvent,
    SentCommand,
    Source,
    check_history,
    resolve_chain,
)

pytestmark = pytest.mark.unit

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "canonical_chain.json").read_text())
A, B = "account|a", "account|b"


class Triple(NamedTuple):
    seq_nr: int
    writer_epoch: int
    prev_epoch: int


# --- a small bank domain -------------------------------------------------------------------


def send(command_id: str, pid: str, kind: str, amount: int, offset: int | None) -> SentCommand:
    source = (
        None if offset is None else Source(topic="commands", partition=_part(pid), offset=offset)
    )
    return SentCommand(
        command_id=command_id,
        persistence_id=pid,
        command_type=kind,
        payload={"amount": amount},
        source=source,
    )


def row(
    pid: str, seq: int, epoch: int, prev: int, command_id: str, offset: int | None
) -> JournalRow:
    source = (
        None if offset is None else Source(topic="commands", partition=_part(pid), offset=offset)
    )
    return JournalRow(
        persistence_id=pid,
        seq_nr=seq,
        writer_epoch=epoch,
        prev_epoch=prev,
        command_id=command_id,
        event_type="Changed",
        source=source,
    )


def published(r: JournalRow) -> PublishedEvent:
    return PublishedEvent(
        persistence_id=r.persistence_id,
        seq_nr=r.seq_nr,
        writer_epoch=r.writer_epoch,
        command_id=r.command_id,
        event_type=r.event_type,
    )


def ok(command_id: str) -> Ack:
    return Ack(command_id=command_id, outcome=AckOutcome.OK)


def _part(pid: str) -> int:
    return 0 if pid == A else 1


def bank_tally(commands: Sequence[SentCommand]) -> Mapping[str, object]:
    balances: dict[str, int] = {}
    for command in commands:
        sign = 1 if command.command_type == "Deposit" else -1
        amount = int(command.payload["amount"])
        balances[command.persistence_id] = balances.get(command.persistence_id, 0) + sign * amount
    return balances


ROWS = (row(A, 1, 1, 0, "c1", 0), row(A, 2, 1, 1, "c3", 1), row(B, 1, 1, 0, "c2", 0))


def clean() -> History:
    """Deposit 10 to a, 5 to b, withdraw 3 from a; withdrawing 100 from b is rejected."""
    return History(
        sent=(
            send("c1", A, "Deposit", 10, 0),
            send("c2", B, "Deposit", 5, 0),
            send("c3", A, "Withdraw", 3, 1),
            send("c4", B, "Withdraw", 100, 1),
            send("c1", A, "Deposit", 10, 2),  # a duplicate, recognised by id
        ),
        acks=(
            ok("c1"),
            ok("c2"),
            ok("c3"),
            Ack(command_id="c4", outcome=AckOutcome.REJECTED, error="insufficient funds"),
            ok("c1"),
        ),
        journal=ROWS,
        published=tuple(published(r) for r in ROWS),
        duration_s=2.0,
        tally=bank_tally,
        final_states={A: 7, B: 5},
    )


def found(report: HistoryReport) -> dict[str, int]:
    return {name: n for name, n in report.counts().items() if n}


# --- the resolver --------------------------------------------------------------------------


def test_the_vectors_are_all_there() -> None:
    assert len(VECTORS["cases"]) == 209


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_resolver_reproduces_each_vector(case: dict[str, Any]) -> None:
    anchor = Anchor(seq_nr=case["anchor"][0], epoch=case["anchor"][1])
    chain = resolve_chain([Triple(*r) for r in case["rows"]], anchor)
    assert [[r.seq_nr, r.writer_epoch] for r in chain] == case["chain"]


def test_checker_splits_every_vector_into_chain_and_dropped_rows() -> None:
    for case in VECTORS["cases"]:
        anchor = Anchor(seq_nr=case["anchor"][0], epoch=case["anchor"][1])
        rows = [row(A, s, e, p, f"x{s}-{e}", None) for s, e, p in case["rows"]]
        entity = check_history(
            History(sent=(), journal=rows, anchors={A: anchor}, duration_s=1.0)
        ).entities[A]
        above = {(s, e) for s, e, _ in case["rows"] if s > anchor.seq_nr}
        assert entity.chain_length == len(case["chain"]), case["name"]
        assert set(entity.dropped_rows) == above - {tuple(k) for k in case["chain"]}


def test_two_different_rows_under_one_key_are_refused() -> None:
    rows = (row(A, 1, 1, 0, "c1", 0), row(A, 1, 1, 0, "c9", 0))
    with pytest.raises(ValueError, match="seq_nr \\[1\\] epoch \\[1\\]"):
        check_history(History(sent=(), journal=rows, duration_s=1.0))


# --- a clean run ---------------------------------------------------------------------------


def test_a_clean_run_passes() -> None:
    report = check_history(clean())
    assert found(report) == {}
    assert report.ok
    report.assert_ok(min_applied=3, min_rate=1.5)
    assert report.applied == 3
    assert report.applied_per_second == 1.5
    assert report.dropped_rows == 0 and report.unresolved == 0
    assert report.summary().splitlines()[0] == "history check: ok"
    as_dict = json.loads(json.dumps(report.as_dict()))
    assert as_dict["ok"] is True and as_dict["applied"] == 3 and as_dict["attention"] == {}


def test_progress_below_the_minimum_fails() -> None:
    report = check_history(clean())
    with pytest.raises(HistoryCheckFailed, match="applied 3 < minimum 4"):
        report.assert_ok(min_applied=4)
    with pytest.raises(HistoryCheckFailed, match=r"applied per second 1\.5 < 2"):
        report.assert_ok(min_rate=2.0)


def test_a_run_that_applies_nothing_fails() -> None:
    history = History(sent=(send("c1", A, "Deposit", 1, 0),), duration_s=5.0)
    report = check_history(history)
    assert report.applied == 0 and report.applied_per_second == 0.0
    assert not report.ok
    with pytest.raises(HistoryCheckFailed, match="applied 0 < minimum 1"):
        report.assert_ok(allow_unresolved=True)
    assert not check_history(History(sent=(), duration_s=1.0)).ok


# --- commands ------------------------------------------------------------------------------


def test_an_acknowledged_command_missing_from_the_chain_is_lost() -> None:
    rows = ROWS[:1] + ROWS[2:]
    history = replace(
        clean(),
        journal=rows,
        published=tuple(published(r) for r in rows),
        final_states={A: 10, B: 5},  # what an engine that lost the withdrawal reports
    )
    report = check_history(history)
    assert found(report) == {"lost": 1, "tally_mismatch": 1}
    assert [f.command_id for f in report.entities[A].findings if f.anomaly == "lost"] == ["c3"]
    with pytest.raises(HistoryCheckFailed, match="lost: 1"):
        report.assert_ok()


@pytest.mark.parametrize("failed", ["error", "dead letter by id", "dead letter by source"])
def test_a_valid_command_that_failed_is_lost(failed: str) -> None:
    history = clean()
    extra = send("c5", B, "Deposit", 1, 2)
    acks, letters = list(history.acks), []
    if failed == "error":
        acks.append(Ack(command_id="c5", outcome=AckOutcome.ERROR, error="handler stopped"))
    elif failed == "dead letter by id":
        letters.append(DeadLetter(reason="handler-failed", command_id="c5"))
    else:
        letters.append(DeadLetter(reason="handler-failed", source=extra.source))
    history = replace(history, sent=(*history.sent, extra), acks=acks, dead_letters=letters)
    assert found(check_history(history)) == {"lost": 1}


def test_a_command_nobody_answered_is_unresolved_not_lost() -> None:
    history = clean()
    history = replace(history, sent=(*history.sent, send("c5", B, "Deposit", 1, 2)))
    report = check_history(history)
    assert found(report) == {}
    assert report.unresolved == 1 and report.entities[B].unresolved == ("c5",)
    assert not report.ok
    assert "  - [account|b] unresolved: [c5]" in report.summary().splitlines()
    report.assert_ok(allow_unresolved=True)


def test_invalid_input_dead_lettered_passes_and_applied_fails() -> None:
    bad = replace(send("c5", B, "Deposit", -1, 2), valid=False)
    letter = DeadLetter(reason="invalid", source=bad.source)
    history = replace(clean(), sent=(*clean().sent, bad), dead_letters=(letter,))
    report = check_history(history)
    assert found(report) == {} and report.dead_letters == {"invalid": 1}
    applied = row(B, 2, 1, 1, "c5", 2)
    history = replace(
        history, journal=(*ROWS, applied), published=(*history.published, published(applied))
    )
    assert found(check_history(history)) == {"invalid_applied": 1}


def test_a_rejected_command_in_the_chain_is_reported() -> None:
    applied = row(B, 2, 1, 1, "c4", 1)
    history = replace(
        clean(), journal=(*ROWS, applied), published=(*clean().published, published(applied))
    )
    assert found(check_history(history)) == {"rejected_applied": 1}


def test_a_command_in_two_writes_is_applied_twice() -> None:
    again = row(A, 3, 1, 1, "c1", 2)
    history = replace(
        clean(), journal=(*ROWS, again), published=(*clean().published, published(again))
    )
    report = check_history(history)
    assert found(report) == {"applied_twice": 1}
    assert report.applied == 3


def test_a_zombie_row_adopted_then_applied_again_is_applied_twice() -> None:
    # the new owner (epoch 2) continues the zombie's row and applies c3 once more
    again = row(A, 3, 2, 1, "c3", 1)
    history = replace(
        clean(), journal=(*ROWS, again), published=(*clean().published, published(again))
    )
    assert found(check_history(history)) == {"applied_twice": 1}


def test_several_events_of_one_write_are_one_application() -> None:
    second = row(A, 3, 1, 1, "c3", 1)
    history = replace(
        clean(), journal=(*ROWS, second), published=(*clean().published, published(second))
    )
    report = check_history(history)
    assert found(report) == {} and report.applied == 3


def test_commands_applied_against_the_partition_order_are_reported() -> None:
    rows = (row(A, 1, 1, 0, "c3", 1), row(A, 2, 1, 1, "c1", 0), ROWS[2])
    history = replace(clean(), journal=rows, published=tuple(published(r) for r in rows))
    report = check_history(history)
    assert found(report) == {"applied_out_of_order": 1}
    assert report.entities[A].findings[0].command_id == "c1"


def test_commands_applied_against_the_send_order_are_reported_when_embedded() -> None:
    sent = tuple(replace(s, source=None) for s in clean().sent)
    rows = (row(A, 1, 0, 0, "c3", None), row(A, 2, 0, 0, "c1", None), row(B, 1, 0, 0, "c2", None))
    history = replace(clean(), sent=sent, journal=rows, published=[published(r) for r in rows])
    assert found(check_history(history)) == {"applied_out_of_order": 1}
    in_order = (replace(rows[1], seq_nr=1), replace(rows[0], seq_nr=2), rows[2])
    history = replace(history, journal=in_order, published=[published(r) for r in in_order])
    assert found(check_history(history)) == {}


# --- the journal ---------------------------------------------------------------------------

ZOMBIE = row(A, 3, 1, 1, "c9", 5)
OWNER = (row(A, 3, 2, 1, "c5", 2),)


def with_zombie(publish_zombie: bool) -> History:
    """The new owner (epoch 2) applies c5 at seq 3; the zombie's late c9 at seq 3 is dropped."""
    history = clean()
    pubs = [*history.published, published(OWNER[0])]
    if publish_zombie:
        pubs.append(published(ZOMBIE))
    return replace(
        history,
        sent=(*history.sent, send("c5", A, "Deposit", 1, 2)),
        acks=(*history.acks, ok("c5")),
        journal=(*ROWS, ZOMBIE, *OWNER),
        published=pubs,
        final_states={A: 8, B: 5},
    )


def test_dropped_rows_alone_are_reported_but_pass() -> None:
    report = check_history(with_zombie(publish_zombie=False))
    assert found(report) == {}
    assert report.dropped_rows == 1 and report.entities[A].dropped_rows == ((3, 1),)
    assert report.ok
    assert "dropped rows 1" in report.summary()


def test_a_published_dropped_row_breaks_guarantee_3() -> None:
    report = check_history(with_zombie(publish_zombie=True))
    assert found(report) == {"dropped_published": 1}
    assert report.entities[A].findings[0].command_id == "c9"


def test_a_hole_in_the_journal_is_a_gap() -> None:
    # epoch 2 writes seq 4 continuing a seq 3 it never stored: its lineage breaks, epoch 1 wins
    orphan = row(A, 4, 2, 2, "c9", 5)
    report = check_history(replace(clean(), journal=(*ROWS, orphan)))
    assert found(report) == {"journal_gap": 1}
    assert report.entities[A].findings[0].seq_nr == 3
    assert report.entities[A].dropped_rows == ((4, 2),)


def test_rows_at_or_below_the_anchor_are_out_of_scope() -> None:
    snapshot = Anchor(seq_nr=1, epoch=1)
    history = replace(clean(), anchors={A: snapshot}, published=clean().published[1:])
    report = check_history(history)
    # c1 sits under the snapshot: applied, but neither chain, dropped, nor progress
    assert found(report) == {}
    assert report.entities[A].chain_length == 1 and report.entities[A].dropped_rows == ()
    assert report.applied == 2


def test_commands_deleted_with_their_rows_look_lost() -> None:
    marker = Anchor(seq_nr=1, epoch=1)
    history = replace(clean(), journal=ROWS[1:], anchors={A: marker})
    assert found(check_history(history)) == {"lost": 1}


# --- publication ---------------------------------------------------------------------------


def test_a_seq_nr_first_published_after_a_higher_one_is_out_of_order() -> None:
    pubs = clean().published
    report = check_history(replace(clean(), published=(pubs[1], pubs[0], pubs[2])))
    assert found(report) == {"published_out_of_order": 1}


def test_republished_duplicates_are_allowed() -> None:
    pubs = clean().published
    report = check_history(replace(clean(), published=(*pubs, pubs[0], *pubs)))
    assert found(report) == {}


def test_a_chain_event_never_published_is_reported() -> None:
    pubs = clean().published
    report = check_history(replace(clean(), published=(pubs[0], pubs[2])))
    assert found(report) == {"journaled_not_published": 1}


def test_publication_is_not_judged_without_a_published_output() -> None:
    assert found(check_history(replace(clean(), published=()))) == {"journaled_not_published": 3}
    report = check_history(replace(clean(), published=None))
    assert found(report) == {}
    assert report.ok


def test_an_event_published_but_never_journaled_is_reported() -> None:
    ghost = published(row(A, 3, 1, 1, "c9", None))
    wrong_type = replace(published(ROWS[2]), event_type="Other")
    report = check_history(replace(clean(), published=(*clean().published, ghost, wrong_type)))
    assert found(report) == {"published_not_in_chain": 2}


# --- the tally -----------------------------------------------------------------------------


def test_a_final_state_that_differs_from_the_tally_is_reported() -> None:
    report = check_history(replace(clean(), final_states={A: 8, B: 5}))
    assert found(report) == {"tally_mismatch": 1}
    assert "final state 8 != tally 7" in report.entities[A].findings[0].detail


def test_an_entity_missing_from_the_final_states_is_a_mismatch() -> None:
    report = check_history(replace(clean(), final_states={A: 7}))
    assert found(report) == {"tally_mismatch": 1}


def test_a_tally_needs_final_states() -> None:
    with pytest.raises(ValueError, match="final_states"):
        replace(clean(), final_states=None)


# --- interleaving of entities --------------------------------------------------------------


def busy_history() -> History:
    pids = [f"account|{n}" for n in range(4)]
    sent, rows = [], []
    for pid in pids:
        for seq in range(1, 6):
            sent.append(send(f"{pid}-{seq}", pid, "Deposit", seq, seq))
            rows.append(row(pid, seq, 1, 0 if seq == 1 else 1, f"{pid}-{seq}", seq))
    return History(
        sent=sent,
        acks=[ok(s.command_id) for s in sent],
        journal=rows,
        published=[published(r) for r in rows],
        duration_s=1.0,
    )


BUSY = busy_history()


@given(st.permutations([event.persistence_id for event in BUSY.published]))
def test_interleaving_entities_in_publication_is_allowed(order: list[str]) -> None:
    queues: dict[str, list[PublishedEvent]] = {}
    for event in BUSY.published:
        queues.setdefault(event.persistence_id, []).append(event)
    interleaved = [queues[pid].pop(0) for pid in order]
    report = check_history(replace(BUSY, published=interleaved))
    assert found(report) == {}
    report.assert_ok(min_applied=20)
