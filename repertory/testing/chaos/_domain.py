"""The chaos suite's test domain: a ledger of accounts with an independent tally.

Deposits always succeed; a withdrawal beyond the balance is refused (a business rejection, so a
rejected command must never be applied); ``Jam`` always makes the handler raise, so its entity
is restarted with backoff and then stopped by its supervisor. The tally recomputes every
balance from the acknowledged commands alone, without the engine's code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from repertory.actors import Backoff, Effect, EntityType, SnapshotPolicy
from repertory.protocols import Command, Event, TypeRegistry, message
from repertory.testing.history import SentCommand

__all__ = [
    "ACCOUNT",
    "DEPOSIT",
    "JAM",
    "REGISTRY",
    "WITHDRAW",
    "Deposit",
    "Deposited",
    "InsufficientFunds",
    "Jam",
    "Withdraw",
    "Withdrawn",
    "fold_balance",
    "tally",
]

DEPOSIT = "chaos.Deposit"
WITHDRAW = "chaos.Withdraw"
JAM = "chaos.Jam"


@message(DEPOSIT)
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: int


@message(WITHDRAW)
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdraw(Command):
    amount: int


@message(JAM)
@dataclass(frozen=True, slots=True, kw_only=True)
class Jam(Command):
    pass


@message("chaos.Deposited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: int


@message("chaos.Withdrawn")
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawn(Event):
    amount: int


class InsufficientFunds(Exception):
    """A business refusal: the command is answered as rejected and nothing is stored."""


class JammedHandler(RuntimeError):
    """What the handler raises for ``Jam``, every time."""


def on_command(balance: int, command: Command) -> Effect[int, Event]:
    event: Event
    if isinstance(command, Deposit):
        event = Deposited(amount=command.amount)
    elif isinstance(command, Withdraw):
        if command.amount > balance:
            return Effect.reject(InsufficientFunds(f"balance {balance} < {command.amount}"))
        event = Withdrawn(amount=command.amount)
    else:
        raise JammedHandler(f"cannot handle {command!r}")
    effect: Effect[int, Event] = Effect.persist(event)
    return effect.then_reply(lambda s: s)


def on_event(balance: int, event: Event) -> int:
    if isinstance(event, Deposited):
        return balance + event.amount
    if isinstance(event, Withdrawn):
        return balance - event.amount
    return balance


ACCOUNT: EntityType[int, Command, Event] = EntityType(
    name="account",
    empty_state=0,
    on_command=on_command,
    on_event=on_event,
    # snapshots and quick passivation put recovery (snapshot + replay) on the faults' path
    snapshots=SnapshotPolicy(every=20),
    passivation_timeout=3.0,
    # quick restarts so a jammed entity is given up within a second or two
    supervision=Backoff(min_delay=0.05, max_delay=0.4, max_restarts=3, within=60.0),
)

REGISTRY = TypeRegistry(Deposit, Withdraw, Jam, Deposited, Withdrawn)


def tally(accepted: Sequence[SentCommand]) -> Mapping[str, object]:
    """Each account's balance from the commands acknowledged OK, in send order."""
    balances: dict[str, int] = {}
    for command in accepted:
        amount = int(str(command.payload.get("amount", 0)))
        sign = {DEPOSIT: 1, WITHDRAW: -1}.get(command.command_type, 0)
        balances[command.persistence_id] = balances.get(command.persistence_id, 0) + sign * amount
    return balances


def fold_balance(events: Sequence[tuple[str, int]]) -> int:
    """A balance from ``(event type, amount)`` pairs, as a downstream reader computes it."""
    balance = 0
    for event_type, amount in events:
        balance += amount if event_type == "chaos.Deposited" else -amount
    return balance
