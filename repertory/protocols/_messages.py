"""The message kinds users declare (commands, events, replies) and the ``@message`` decorator.

A message class is a frozen, slotted, keyword-only dataclass whose stable wire name and schema
version live on the class, so renaming or moving the Python class never changes the journal::

    @message("account.Deposit", version=2)
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Deposit(Command):
        amount: Decimal
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, TypeVar

from repertory.errors import ProtocolError

__all__ = ["Command", "Event", "Message", "Reply", "message"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,199}")


class Message:
    """Base of every message kind; carries the wire name and schema version as class attributes."""

    __slots__ = ()
    __type_name__: ClassVar[str]
    __schema_version__: ClassVar[int]


class Command(Message):
    """A request to an entity; handled by ``on_command``, arrives from the commands topic."""

    __slots__ = ()


class Event(Message):
    """A fact an entity journaled; replayed through ``on_event`` and published as a state change."""

    __slots__ = ()


class Reply(Message):
    """An answer to a command, stored with the command's last event and sent to ``reply_to``."""

    __slots__ = ()


M = TypeVar("M", bound=type[Message])


def message(type_name: str, *, version: int = 1) -> Callable[[M], M]:
    """Give a message class its stable wire name and current schema version.

    Put it above ``@dataclass`` (either order works, the attributes survive ``slots=True``).

    Args:
        type_name: the name on the wire and in the journal, e.g. ``"account.Deposit"``; letters,
            digits and ``_ . : / -``, at most 200 characters. Never change it once journaled.
        version: the current schema version, from 1; raise it with an upcaster from the previous.

    Raises:
        ProtocolError: an invalid name or version.
    """
    if not isinstance(type_name, str) or not _NAME.fullmatch(type_name):
        raise ProtocolError(f"invalid message type name [{type_name!r}]")
    if type(version) is not int or version < 1:
        raise ProtocolError(f"invalid schema version [{version!r}] for [{type_name}]: must be >= 1")

    def decorate(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Message)):
            raise ProtocolError(f"[{type_name}]: @message is for Command, Event or Reply classes")
        cls.__type_name__ = type_name
        cls.__schema_version__ = version
        return cls

    return decorate
