"""The harness's own pieces that need no server: fault points, durations, poison records."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from repertory.config import KafkaSettings
from repertory.kafka import EgressEncoder, SourceRecord, partition_for
from repertory.kafka._intake import admit
from repertory.protocols import InputLimits, Serializer
from repertory.testing.chaos import FaultPoint, parse_duration
from repertory.testing.chaos._domain import ACCOUNT, REGISTRY
from repertory.testing.chaos._poison import fuzz
from repertory.testing.chaos._scenarios_embedded import read_log


def test_fault_points_parse_and_refuse_unknown_ones() -> None:
    assert FaultPoint.parse("after_journal:3") == FaultPoint("after_journal", 3)
    assert str(FaultPoint.parse("after_commit")) == "after_commit:1"
    with pytest.raises(ValueError, match="unknown fault point"):
        FaultPoint.parse("after_lunch:1")


def test_durations() -> None:
    assert parse_duration("30m") == 1800
    assert parse_duration("90s") == parse_duration("90") == 90
    assert parse_duration("2h") == 7200
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_every_poison_record_is_condemned_before_reaching_an_entity() -> None:
    encoder = EgressEncoder(Serializer(REGISTRY), KafkaSettings())
    partitions = 4
    for offset, (key, value, partition, headers) in enumerate(fuzz(random.Random(7), 900, 4)):
        home = partition if partition is not None else partition_for(key or b"", partitions)
        record = SourceRecord(
            topic="commands",
            partition=home,
            offset=offset,
            key=key,
            value=value,
            headers=tuple(headers),
        )
        slot = admit(
            record,
            partitions=partitions,
            limits=InputLimits(),
            encoder=encoder,
            types={ACCOUNT.name: ACCOUNT},
        )
        assert slot.outcome is not None, f"poison record admitted: {record}"
        assert slot.outcome.out[0].topic == KafkaSettings().dead_letters_topic


def test_a_killed_drivers_log_keeps_first_sends_and_skips_a_torn_line(tmp_path: Path) -> None:
    log = tmp_path / "d0.log"
    log.write_text(
        "S d0-e1-0 account|e1 chaos.Deposit 5\n"
        "S d0-e1-0 account|e1 chaos.Deposit 5\n"
        "A d0-e1-0 ok\n"
        "S d0-e1-1 account|e1 chaos.Withdraw 9\n"
        "A d0-e1-1 rejected\n"
        "S d0-e1-2 acc"
    )
    sent, acks = read_log(log)
    assert [s.command_id for s in sent] == ["d0-e1-0", "d0-e1-1"]
    assert sent[1].source is not None and sent[1].source.offset == 1
    assert [a.outcome.value for a in acks] == ["ok", "rejected"]
