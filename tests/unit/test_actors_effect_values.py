"""Effects and stored events are immutable values: equal by fields, refined into new values."""

from __future__ import annotations

import copy

import pytest

from repertory.actors import NO_REPLY, Effect, Emit, StoredEvent

pytestmark = pytest.mark.unit


def reply(state: object) -> object:
    return state


def test_effects_with_equal_fields_are_equal_and_hash_alike() -> None:
    one = Effect.persist("e").then_reply(reply)
    assert one == Effect.persist(["e"]).then_reply(reply)
    assert hash(one) == hash(Effect.persist(("e",)).then_reply(reply))
    assert one != Effect.persist("e")
    assert one != ("e",)
    assert one != tuple(one)  # an effect is not any tuple with the same items


def test_an_effect_cannot_be_changed_and_copies_equal_it() -> None:
    effect = Effect.persist("e").then_reply(reply)
    with pytest.raises(AttributeError):
        effect.events = ("other",)  # type: ignore[misc]
    assert effect.events == ("e",)
    assert copy.copy(effect) == effect and copy.deepcopy(effect).events == ("e",)


def test_refining_builds_a_new_effect_and_keeps_the_original() -> None:
    query = Effect.none()
    answered = query.then_reply(reply)
    assert answered.reply is reply and answered.events == ()
    assert query.reply is None and query == Effect.none()
    emit = Emit("account", "b", "credit")
    full = Effect.persist("e").emit(emit).then_run(reply).then_stop().then_reply(reply)
    assert full.events == ("e",)
    assert (full.emits, full.side_effects, full.stop_after) == ((emit,), (reply,), True)
    assert full.reply is reply and full.rejection is None
    assert Effect.stop().stop_after and not Effect.stop().events


def test_a_rejection_takes_no_reply_and_reply_with_answers_a_value() -> None:
    refusal = Effect.reject(ValueError("no"))
    with pytest.raises(ValueError, match="rejection is the reply"):
        refusal.then_reply(reply)
    answer = Effect.reply_with(7)
    assert answer.reply is not None and answer.reply("ignored") == 7
    assert "rejection=ValueError('no')" in repr(refusal)


def test_stored_events_are_built_with_keywords_and_compare_by_fields() -> None:
    event = StoredEvent(seq_nr=3, event="e", timestamp=1.5, command_id="c")
    assert (event.source, event.reply, event.emits, event.ends_command) == (
        None,
        NO_REPLY,
        (),
        True,
    )
    assert event == StoredEvent(seq_nr=3, event="e", timestamp=1.5, command_id="c")
    assert event != StoredEvent(seq_nr=3, event="e", timestamp=1.5, command_id="d")
    with pytest.raises(AttributeError):
        event.seq_nr = 4  # type: ignore[misc]
