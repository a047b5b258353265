"""The Kafka edges of the engine: ingress, ownership, transactional egress, dead letters,
request-reply. The only part of repertory that imports aiokafka.

Ownership follows ARCHITECTURE.md ("Fenced mode"): per assignment, start each partition's
transactional producer, claim one epoch, prove it per partition, seek, then process. Per input
partition and batch, one transaction carries the state changes, replies, emitted commands, dead
letters and the consumed offsets, and begins only once the batch's journal writes are
acknowledged.
"""

from repertory.kafka._capture import Captured, CapturingStore
from repertory.kafka._client import CommandClient
from repertory.kafka._contents import RecordOutcome, TransactionContents, build_contents
from repertory.kafka._dead_letters import (
    DEAD_LETTER_HEADERS,
    MISROUTED,
    STOPPED_ENTITY,
    dead_letter,
    dead_letter_info,
)
from repertory.kafka._edge import KafkaEdge, commands_partitions, consumer_options
from repertory.kafka._egress_context import EgressContext, Republisher
from repertory.kafka._encoding import EgressEncoder
from repertory.kafka._gauges import EdgeGauges
from repertory.kafka._partitioner import is_misrouted, murmur2, partition_for
from repertory.kafka._records import OutRecord, SourceRecord, source_record
from repertory.kafka._replies import (
    CommandFailed,
    ReplyEnvelope,
    decode_reply,
    encode_reply,
    reply_value,
)
from repertory.kafka._security import kafka_client_options, start_client
from repertory.kafka._transactions import PartitionFenced, PartitionProducer, producer_options

__all__ = [
    "DEAD_LETTER_HEADERS",
    "MISROUTED",
    "STOPPED_ENTITY",
    "Captured",
    "CapturingStore",
    "CommandClient",
    "CommandFailed",
    "EdgeGauges",
    "EgressContext",
    "EgressEncoder",
    "KafkaEdge",
    "OutRecord",
    "PartitionFenced",
    "PartitionProducer",
    "RecordOutcome",
    "ReplyEnvelope",
    "Republisher",
    "SourceRecord",
    "TransactionContents",
    "build_contents",
    "commands_partitions",
    "consumer_options",
    "dead_letter",
    "dead_letter_info",
    "decode_reply",
    "encode_reply",
    "is_misrouted",
    "kafka_client_options",
    "murmur2",
    "partition_for",
    "producer_options",
    "reply_value",
    "source_record",
    "start_client",
]
