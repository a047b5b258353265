"""Dead-letter records and the contents of egress transactions, without a broker."""

from __future__ import annotations

import pytest

from repertory.config import KafkaSettings
from repertory.kafka import (
    DEAD_LETTER_HEADERS,
    OutRecord,
    RecordOutcome,
    SourceRecord,
    build_contents,
    dead_letter,
    dead_letter_info,
)
from repertory.protocols import StateChange


def source(offset: int, partition: int = 3) -> SourceRecord:
    return SourceRecord(
        topic="commands",
        partition=partition,
        offset=offset,
        key=b"account|1",
        value=b"\xc1garbage",
        headers=(("trace", b"t-1"),),
    )


def change(pid: str, seq_nr: int) -> StateChange:
    entity_type, _, entity_id = pid.partition("|")
    return StateChange(
        entity_type=entity_type,
        entity_id=entity_id,
        seq_nr=seq_nr,
        writer_epoch=7,
        command_id=f"c{seq_nr}",
        event_type="account.Deposited",
        schema_version=1,
        payload=b"\x80",
    )


def as_record(state_change: StateChange) -> OutRecord:
    return OutRecord(
        topic="changes",
        key=state_change.key(),
        value=str(state_change.seq_nr).encode(),
        headers=state_change.headers(),
    )


def test_dead_letter_keeps_the_record_and_says_why_and_where() -> None:
    letter = dead_letter(source(41), "dlq", "malformed", "InputRejected", "not msgpack")
    assert (letter.topic, letter.key, letter.value) == ("dlq", b"account|1", b"\xc1garbage")
    assert ("trace", b"t-1") in letter.headers
    assert dead_letter_info(letter.headers) == {
        "reason": "malformed",
        "error_class": "InputRejected",
        "detail": "not msgpack",
        "source_topic": "commands",
        "source_partition": "3",
        "source_offset": "41",
    }
    assert {name for name, _ in letter.headers} >= set(DEAD_LETTER_HEADERS)


def test_dead_letter_of_a_dead_letter_does_not_stack_headers() -> None:
    first = dead_letter(source(1), "dlq", "malformed", "InputRejected", "x")
    again = SourceRecord(
        topic="dlq",
        partition=0,
        offset=9,
        key=first.key,
        value=first.value,
        headers=tuple(first.headers),
    )
    second = dead_letter(again, "dlq", "misrouted", "Misrouted", "y")
    names = [name for name, _ in second.headers]
    assert names.count("dead_letter.reason") == 1
    assert dead_letter_info(second.headers)["source_topic"] == "dlq"


def test_contents_keep_offset_order_and_commit_past_the_batch() -> None:
    reply = OutRecord(topic="replies", key=b"account|1", value=b"r", headers=[])
    outcomes = [
        RecordOutcome(source(10), [change("account|1", 1), change("account|1", 2)], [reply]),
        RecordOutcome(source(11)),
        RecordOutcome(source(12), [change("account|2", 5)]),
    ]
    contents = build_contents(outcomes, as_record)
    assert [(r.key, r.value) for r in contents.records] == [
        (b"account|1", b"1"),
        (b"account|1", b"2"),
        (b"account|1", b"r"),
        (b"account|2", b"5"),
    ]
    assert contents.offsets == {("commands", 3): 13}
    assert contents.committed == {"account|1": 2, "account|2": 5}
    assert contents.commands == 3
    assert dict(contents.records[0].headers)["writer_epoch"] == b"7"


def test_contents_refuse_an_empty_batch_and_disorder() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_contents([], as_record)
    with pytest.raises(ValueError, match="out of offset order"):
        build_contents([RecordOutcome(source(5)), RecordOutcome(source(4))], as_record)


def test_kafka_settings_defaults_are_safe_and_validated() -> None:
    settings = KafkaSettings()
    assert settings.retry_backoff_ms <= 10
    assert settings.transactional_id("commands", 4) == "repertory-commands-4"
    with pytest.raises(ValueError, match="heartbeat"):
        KafkaSettings(session_timeout_ms=1000, heartbeat_interval_ms=500)
    with pytest.raises(ValueError, match="legal Kafka topic"):
        KafkaSettings(commands_topic="bad topic")
