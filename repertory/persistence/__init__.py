"""Journal and snapshot-store contracts, and the in-memory and SQLite implementations.

The rules every journal follows are stated in :mod:`repertory.persistence._contract`.
"""

from repertory.persistence._chain import Anchor, ChainLink, ChainResolution, resolve_chain
from repertory.persistence._contract import (
    MAX_SEQ_NR,
    EntityIndex,
    Journal,
    Outbox,
    SnapshotStore,
)
from repertory.persistence._memory import (
    Fault,
    FaultHook,
    InMemoryJournal,
    InMemorySnapshotStore,
    MemoryStore,
)
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    EventData,
    EventRecord,
    JournalMode,
    OutboxEntry,
    OutboxRecord,
    PersistenceId,
    RecordSource,
    SnapshotCriteria,
    SnapshotRecord,
    WriteOutcome,
    WriteResult,
)
from repertory.persistence._rules import partition_nr
from repertory.persistence._sqlite import SqliteJournal
from repertory.persistence._sqlite_snapshots import SqliteSnapshotStore

__all__ = [
    "MAX_SEQ_NR",
    "Anchor",
    "AtomicWrite",
    "ChainLink",
    "ChainResolution",
    "ChainTip",
    "EntityIndex",
    "EventData",
    "EventRecord",
    "Fault",
    "FaultHook",
    "InMemoryJournal",
    "InMemorySnapshotStore",
    "Journal",
    "JournalMode",
    "MemoryStore",
    "Outbox",
    "OutboxEntry",
    "OutboxRecord",
    "PersistenceId",
    "RecordSource",
    "SnapshotCriteria",
    "SnapshotRecord",
    "SnapshotStore",
    "SqliteJournal",
    "SqliteSnapshotStore",
    "WriteOutcome",
    "WriteResult",
    "partition_nr",
    "resolve_chain",
]
