"""A small account entity the actor tests share."""

from __future__ import annotations

from dataclasses import dataclass, replace

from repertory.actors import Effect, Emit, EntityType, SnapshotPolicy, Stop, SupervisionStrategy


@dataclass(frozen=True, slots=True)
class Account:
    balance: int = 0
    deposits: int = 0


@dataclass(frozen=True, slots=True)
class Deposit:
    amount: int


@dataclass(frozen=True, slots=True)
class Withdraw:
    amount: int


@dataclass(frozen=True, slots=True)
class GetBalance:
    pass


@dataclass(frozen=True, slots=True)
class Transfer:
    to: str
    amount: int


@dataclass(frozen=True, slots=True)
class Close:
    pass


@dataclass(frozen=True, slots=True)
class Boom:
    pass


@dataclass(frozen=True, slots=True)
class Split:
    parts: int


@dataclass(frozen=True, slots=True)
class Deposited:
    amount: int


@dataclass(frozen=True, slots=True)
class Withdrawn:
    amount: int


class InsufficientFunds(Exception):
    pass


Command = Deposit | Withdraw | GetBalance | Transfer | Close | Boom | Split
Event = Deposited | Withdrawn


def on_command(state: Account, command: Command) -> Effect[Account, Event]:
    match command:
        case Deposit(amount):
            return Effect.persist(Deposited(amount)).then_reply(lambda s: s.balance)
        case Withdraw(amount) if amount > state.balance:
            return Effect.reject(InsufficientFunds(f"balance {state.balance} < {amount}"))
        case Withdraw(amount):
            return Effect.persist(Withdrawn(amount)).then_reply(lambda s: s.balance)
        case Split(parts):
            return Effect.persist([Deposited(1)] * parts).then_reply(lambda s: s.balance)
        case Transfer(to, amount) if amount > state.balance:
            return Effect.reject(InsufficientFunds(f"balance {state.balance} < {amount}"))
        case Transfer(to, amount):
            return (
                Effect.persist(Withdrawn(amount))
                .emit(Emit("account", to, Deposit(amount)))
                .then_reply(lambda s: s.balance)
            )
        case Close():
            return Effect.stop().then_reply(lambda s: "closed")
        case Boom():
            raise RuntimeError("boom")
        case _:
            return Effect.none().then_reply(lambda s: s.balance)


def on_event(state: Account, event: Event) -> Account:
    match event:
        case Deposited(amount):
            return replace(state, balance=state.balance + amount, deposits=state.deposits + 1)
        case Withdrawn(amount):
            return replace(state, balance=state.balance - amount)
    raise TypeError(f"unknown event {event!r}")


def account_type(
    supervision: SupervisionStrategy | None = None,
    snapshots: SnapshotPolicy | None = None,
    passivation_timeout: float | None = None,
) -> EntityType[Account, Command, Event]:
    return EntityType(
        name="account",
        empty_state=Account(),
        on_command=on_command,
        on_event=on_event,
        supervision=supervision or Stop(),
        snapshots=snapshots,
        passivation_timeout=passivation_timeout,
    )
