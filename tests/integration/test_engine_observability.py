"""The engine on the real Kafka and Cassandra with its observability endpoint on: every
layer's metric families move under real commands (ingress, actors, journal, egress, end to
end), ``/readyz`` waits for the partitions, and a worker that finds an entity continued by a
newer writer epoch (a zombie for it) writes nothing and gives the partition up."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable

import pytest
from cassandra.cluster import Session
from prometheus_client.parser import text_string_to_metric_families

from repertory.config import CassandraSettings, ObservabilitySettings, Settings
from repertory.engine import Engine
from repertory.errors import AskTimeout
from repertory.kafka import partition_for
from repertory.persistence import AtomicWrite, ChainTip, EventData, JournalMode, PersistenceId
from repertory.persistence.cassandra_journal import CassandraJournal
from repertory.protocols import Serializer
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit, Deposited
from tests.integration.engine_harness import engine_settings, fresh_keyspace, produce

TopicFactory = Callable[..., Awaitable[str]]
PARTITIONS = 4
SERIALIZER = Serializer(REGISTRY)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def topics(unique_topic: TopicFactory) -> dict[str, str]:
    return {
        "commands": await unique_topic(PARTITIONS),
        "changes": await unique_topic(2),
        "dead": await unique_topic(1),
        "replies": await unique_topic(1),
    }


@pytest.fixture
def keyspace(cassandra_session: Session) -> str:
    return fresh_keyspace(cassandra_session)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def get(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{path}")


async def scrape(port: int) -> Samples:
    status, text = await get(port, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over every series carrying ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def ready(port: int, wait: float = 60.0) -> None:
    async with asyncio.timeout(wait):
        while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110 - polling over HTTP
            await asyncio.sleep(0.2)


def with_port(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"observability": ObservabilitySettings(metrics_port=port)})


async def test_every_layer_s_metrics_move_under_real_commands(
    kafka_bootstrap: str,
    cassandra_contact: tuple[str, int],
    keyspace: str,
    topics: dict[str, str],
) -> None:
    port = free_port()
    settings = with_port(
        engine_settings(kafka_bootstrap, cassandra_contact[1], keyspace, topics), port
    )
    async with Engine(settings, [LEDGER], registry=REGISTRY) as engine:
        assert (await get(port, "/healthz"))[0] == 200
        await ready(port)
        before = await scrape(port)
        balances = await asyncio.gather(
            *(engine.ask("ledger", f"e{n}", Deposit(amount=n + 1)) for n in range(12))
        )
        assert balances == [n + 1 for n in range(12)]
        key = b"ledger|poison"
        await produce(
            kafka_bootstrap,
            topics["commands"],
            [],
            ((key, b"\xc1 not msgpack", partition_for(key, PARTITIONS)),),
        )
        async with asyncio.timeout(30):
            while True:
                after = await scrape(port)
                name = "repertory_ingress_dead_lettered_records_total"
                if total(after, name) > total(before, name):
                    break
                await asyncio.sleep(0.3)
        await asyncio.sleep(1.5)  # one refresh of the gauges
        after = await scrape(port)

    def moved(name: str, by: float = 1, **labels: str) -> None:
        grown = total(after, name, **labels) - total(before, name, **labels)
        assert grown >= by, f"{name} {labels} grew by {grown}, expected at least {by}"

    # ingress
    moved("repertory_ingress_records_total", 13)
    moved("repertory_ingress_rejected_records_total", reason="malformed")
    moved("repertory_ingress_dead_lettered_records_total", reason="malformed")
    moved("repertory_ingress_commit_seconds_count")
    assert total(after, "repertory_ingress_assigned_partitions") == PARTITIONS
    lag = [ls for (n, ls) in after if n == "repertory_ingress_consumer_lag_records"]
    paused = [ls for (n, ls) in after if n == "repertory_ingress_partition_paused"]
    assert len(lag) == PARTITIONS and len(paused) == PARTITIONS
    # actors
    moved("repertory_actors_recovery_seconds_count", 12, entity_type="ledger")
    moved("repertory_actors_group_commit_events_count", 1, entity_type="ledger")
    moved("repertory_actors_activations_total", 12, entity_type="ledger")
    moved("repertory_actors_active_entities", 12, entity_type="ledger")
    moved("repertory_actors_mailbox_depth_count", 12, entity_type="ledger")
    moved("repertory_actors_command_seconds_count", 12, entity_type="ledger")
    # journal
    moved("repertory_journal_append_seconds_count", outcome="stored")
    moved("repertory_journal_append_events_sum", 12)
    moved("repertory_journal_replay_seconds_count", 12)
    moved("repertory_journal_snapshot_loads_total", 12, outcome="absent")
    # egress
    moved("repertory_egress_records_total", 12, kind="state_change")
    moved("repertory_egress_records_total", 12, kind="reply")
    moved("repertory_egress_records_total", 1, kind="dead_letter")
    moved("repertory_egress_transactions_total", outcome="committed")
    moved("repertory_egress_publish_seconds_count")
    unpublished = [ls for (n, ls) in after if n == "repertory_egress_unpublished_events"]
    assert len(unpublished) == PARTITIONS
    # end to end
    moved("repertory_end_to_end_seconds_count", 12, entity_type="ledger")


async def test_a_zombie_for_an_entity_writes_nothing_and_gives_its_partition_up(
    kafka_bootstrap: str,
    cassandra_contact: tuple[str, int],
    keyspace: str,
    topics: dict[str, str],
) -> None:
    settings = engine_settings(kafka_bootstrap, cassandra_contact[1], keyspace, topics)
    async with Engine(settings, [LEDGER], registry=REGISTRY) as engine:
        assert await engine.ask("ledger", "other", Deposit(amount=1), timeout=30) == 1
        edge = engine.edge
        assert edge is not None and edge.statistics()["owned"] == PARTITIONS
        our_epoch = edge.statistics()["epoch"]

        # A newer owner (another worker's later assignment) wrote entity [taken] under a
        # higher epoch; this worker still holds the partition for a moment.
        newer = await CassandraJournal.open(
            CassandraSettings(port=cassandra_contact[1], keyspace=keyspace),
            mode=JournalMode.FENCED,
            partition_size=settings.journal.partition_size,
            commands_partitions=PARTITIONS,
        )
        taken = PersistenceId("ledger", "taken")
        lost = partition_for(str(taken).encode(), PARTITIONS)
        try:
            epoch = await newer.claim_epoch()
            type_name, version, payload = SERIALIZER.encode_message(Deposited(amount=7))
            data = EventData(
                event_type=type_name,
                schema_version=version,
                payload=payload,
                timestamp_ms=int(time.time() * 1000),
                command_id="by-the-newer-owner",
            )
            write = AtomicWrite(
                persistence_id=taken, writer_epoch=epoch, after=ChainTip(), events=(data,)
            )
            (result,) = await newer.append([write])
            assert result.tip is not None and result.tip.epoch == epoch > our_epoch

            # Watch the zombie check hand the partition over (whatever logging is configured).
            store = engine._store
            assert store is not None and store.on_zombie is not None
            tell_engine = store.on_zombie
            seen: list[tuple[str, int, bool]] = []

            def watched(persistence_id: str, chain_epoch: int) -> None:
                tell_engine(persistence_id, chain_epoch)
                dropped = {tp.partition for tp in edge.ownership.dropped}  # type: ignore[union-attr]
                seen.append((persistence_id, chain_epoch, lost in dropped))

            store.on_zombie = watched
            # a rebalance meanwhile may hand the partition back under a newer epoch
            with contextlib.suppress(AskTimeout):
                await engine.ask("ledger", "taken", Deposit(amount=100), timeout=5)
            rows = [(r.seq_nr, r.writer_epoch) async for r in newer.replay(taken)]
            dropped = await newer.check(taken)
        finally:
            await newer.aclose()
        assert seen[0] == ("ledger|taken", epoch, True)  # told, and the partition was dropped
        # the zombie wrote nothing: no row of the entity carries its epoch, none was dropped
        assert rows[0] == (1, epoch) and all(e != our_epoch for _, e in rows)
        assert dropped == {taken: ()}
        # the other partitions carry on
        homes = {f"s{n}": partition_for(f"ledger|s{n}".encode(), PARTITIONS) for n in range(50)}
        survivor = next(entity for entity, home in homes.items() if home != lost)
        assert await engine.ask("ledger", survivor, Deposit(amount=2), timeout=30) == 2
