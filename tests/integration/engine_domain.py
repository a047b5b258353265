"""A ledger entity for the engine tests and the benchmark: deposits, guarded withdrawals,
transfers that emit a deposit, and a command whose handler always fails."""

from __future__ import annotations

from dataclasses import dataclass

from repertory.actors import Effect, Emit, EntityType, Stop
from repertory.protocols import Command, Event, TypeRegistry, message


@message("ledger.Deposit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: int


@message("ledger.Withdraw")
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdraw(Command):
    amount: int


@message("ledger.Transfer")
@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Command):
    to: str
    amount: int


@message("ledger.Explode")
@dataclass(frozen=True, slots=True, kw_only=True)
class Explode(Command):
    pass


@message("ledger.Deposited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: int


@message("ledger.Withdrawn")
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawn(Event):
    amount: int


class InsufficientFunds(Exception):
    """A business refusal: the asker gets it as an error reply."""


def on_command(balance: int, command: Command) -> Effect[int, Event]:
    if isinstance(command, Deposit):
        return Effect.persist(Deposited(amount=command.amount)).then_reply(lambda s: s)
    if isinstance(command, Withdraw):
        if command.amount > balance:
            return Effect.reject(InsufficientFunds(f"balance {balance} < {command.amount}"))
        return Effect.persist(Withdrawn(amount=command.amount)).then_reply(lambda s: s)
    if isinstance(command, Transfer):
        effect: Effect[int, Event] = Effect.persist(Withdrawn(amount=command.amount))
        return effect.emit(Emit("ledger", command.to, Deposit(amount=command.amount)))
    raise RuntimeError(f"cannot handle {command!r}")


def on_event(balance: int, event: Event) -> int:
    if isinstance(event, Deposited):
        return balance + event.amount
    if isinstance(event, Withdrawn):
        return balance - event.amount
    return balance


LEDGER: EntityType[int, Command, Event] = EntityType(
    name="ledger",
    empty_state=0,
    on_command=on_command,
    on_event=on_event,
    supervision=Stop(),
)

REGISTRY = TypeRegistry(Deposit, Withdraw, Transfer, Explode, Deposited, Withdrawn)
