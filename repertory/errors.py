"""The exception tree of repertory: one root, a few families, one place to read them.

::

    RepertoryError                      root; ``retriable`` tells a supervisor restart vs stop
    ├── ConfigError                     a setting is invalid (names the field and the value)
    ├── DevstackError                   the development servers could not be resolved or started
    ├── AuthenticationFailed            TLS or credentials refused at connect (names user, never
    │                                   the password); not retriable: the settings must change
    ├── ProtocolError                   a message could not be decoded or encoded
    │   ├── InputRejected               hostile or malformed input: over a limit, bad shape
    │   │   ├── UnknownTypeRejected     ... from input: also an UnknownMessageType
    │   │   └── UnknownVersionRejected  ... from input: also an UnknownSchemaVersion
    │   ├── UnknownMessageType          a type name the registry does not know
    │   └── UnknownSchemaVersion        a version with no upcaster path to today's class
    ├── PersistenceError                the journal or snapshot store
    │   ├── JournalUnavailable          the store cannot be reached (retriable)
    │   ├── WriteRejected               definitely not stored: a conditional collision
    │   ├── WriteOutcomeUnknown         maybe stored: retry the identical write (retriable)
    │   ├── WriterFenced                a newer writer epoch continues the entity: we are a zombie
    │   └── JournalMismatch             the keyspace's recorded mode/partitioning differs
    ├── ActorError                      entities and their runtime
    │   ├── ActorDeadError              the entity stopped before it could answer
    │   ├── AskTimeout                  no reply within the ask's timeout
    │   ├── DuplicateCommand            handled before; its answer is neither held nor rebuildable
    │   ├── EntityFailed                a handler raised and supervision escalated it
    │   └── ReplayFailed                recovery could not rebuild an entity's state
    ├── IngressError                    a record from Kafka that cannot become a command
    │   └── Misrouted                   its partition is not murmur2(key) mod n
    └── WorkerError                     the worker processes: their actor system or a worker slot

Messages bracket identifiers: ``failed to persist [Deposited] seq_nr [17] for [account|42]``.
Errors from drivers are translated at the edge (``raise JournalUnavailable(...) from exc``).
"""

from __future__ import annotations

__all__ = [
    "ActorDeadError",
    "ActorError",
    "AskTimeout",
    "AuthenticationFailed",
    "ConfigError",
    "DevstackError",
    "DuplicateCommand",
    "EntityFailed",
    "IngressError",
    "InputRejected",
    "JournalMismatch",
    "JournalUnavailable",
    "Misrouted",
    "PersistenceError",
    "ProtocolError",
    "RepertoryError",
    "ReplayFailed",
    "UnknownMessageType",
    "UnknownSchemaVersion",
    "UnknownTypeRejected",
    "UnknownVersionRejected",
    "WorkerError",
    "WriteOutcomeUnknown",
    "WriteRejected",
    "WriterFenced",
]


class RepertoryError(Exception):
    """Root of every error repertory raises on purpose."""

    retriable: bool = False


class ConfigError(RepertoryError):
    """A setting failed validation at start; the message names the field and the value."""


class DevstackError(RepertoryError):
    """The development Kafka or Cassandra could not be resolved, started or reached."""


class AuthenticationFailed(RepertoryError):
    """A server refused our credentials or certificate, or we refused its certificate.

    Raised at start, within a bounded time, instead of retrying forever. The message names the
    server, the mechanism and the user; it never carries a password.
    """


class ProtocolError(RepertoryError):
    """A message could not be encoded or decoded."""


class InputRejected(ProtocolError):
    """Input broke a limit or had the wrong shape; ``reason`` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"[{reason}] {detail}")
        self.reason = reason
        self.detail = detail


class UnknownMessageType(ProtocolError):
    """A type name no registry entry claims."""


class UnknownSchemaVersion(ProtocolError):
    """A schema version with no upcaster path to the registered class."""


class UnknownTypeRejected(InputRejected, UnknownMessageType):
    """An unknown type name met while decoding; ``reason`` is ``unknown_type``.

    Both an ``InputRejected`` (so ingress dead-letters every rejection alike, by ``reason``) and
    an ``UnknownMessageType`` (so callers that only care about unknown types can catch that).
    """


class UnknownVersionRejected(InputRejected, UnknownSchemaVersion):
    """A schema version with no upcaster path, met while decoding; ``reason`` is
    ``unknown_version``. Both an ``InputRejected`` and an ``UnknownSchemaVersion``."""


class PersistenceError(RepertoryError):
    """The journal or the snapshot store failed."""


class JournalUnavailable(PersistenceError):
    """The store could not be reached; trying again later may work."""

    retriable = True


class WriteRejected(PersistenceError):
    """The write was definitely not stored (a conditional collision)."""


class WriteOutcomeUnknown(PersistenceError):
    """The write may or may not be stored; retry the identical write."""

    retriable = True


class WriterFenced(PersistenceError):
    """The entity's chain ends under a higher writer epoch than ours: a newer owner took over,
    so this writer is a zombie for it and must write nothing."""


class JournalMismatch(PersistenceError):
    """The keyspace records a mode, partition size or partition count that differs."""


class ActorError(RepertoryError):
    """An entity or the entity runtime failed."""


class ActorDeadError(ActorError):
    """The entity stopped or failed before it answered."""


class AskTimeout(ActorError):
    """No reply arrived within the ask's timeout."""

    retriable = True


class DuplicateCommand(ActorError):
    """The command was handled before (by source offset) and its answer can no longer be given:
    its reply has left the window, or the history it was answered from is gone."""


class EntityFailed(ActorError):
    """A command or event handler raised and the entity's supervision escalated the failure."""


class ReplayFailed(ActorError):
    """Recovery could not rebuild an entity (a handler raised or the journal had a gap); the
    entity stops rather than skip events."""


class IngressError(RepertoryError):
    """A record from Kafka that cannot become a command."""


class Misrouted(IngressError):
    """The record's partition is not murmur2(key) mod the partition count."""


class WorkerError(RepertoryError):
    """The worker pool could not start, a worker slot is not running, or an app failed to answer."""
