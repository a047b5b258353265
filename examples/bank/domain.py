"""The bank's two entity types: ``account`` and ``transfer``, and the registry of their messages.

A transfer is a small saga between three entities. Each step is an event whose effect emits the
next command, with an id derived from that event, so however often a step is redelivered (the
Kafka transaction, or the SQLite outbox after a crash) the receiving entity applies it once::

    transfer: RequestTransfer ─▶ TransferRequested ──emit DebitForTransfer──▶ source account
    source:   Debited ──emit ConfirmDebit──▶ transfer     (or DebitDeclined ─▶ DeclineDebit)
    transfer: DebitConfirmed ──emit CreditForTransfer──▶ target account
              (TransferCancelled on DeclineDebit: no money moved)
    target:   Credited ──emit ConfirmCredit──▶ transfer   (or CreditDeclined ─▶ DeclineCredit)
    transfer: TransferCompleted     (on DeclineCredit: RefundStarted ──emit Refund──▶ source,
                                     then TransferRefunded)

Handlers are pure: no clock, no random ids, no I/O; a refusal is ``Effect.reject`` with a
``BankError``, except a transfer leg's refusal, which is journaled so its answer can be emitted.
"""

from __future__ import annotations

from typing import Any

from examples.bank._messages import (
    Account,
    AccountAlreadyOpen,
    AccountClosed,
    AccountCommand,
    AccountEvent,
    AccountNotOpen,
    AccountOpened,
    AccountStatus,
    BalanceNotZero,
    BankError,
    CloseAccount,
    ConfirmCredit,
    ConfirmDebit,
    ConfirmRefund,
    CreditDeclined,
    Credited,
    CreditForTransfer,
    DebitConfirmed,
    DebitDeclined,
    Debited,
    DebitForTransfer,
    DeclineCredit,
    DeclineDebit,
    Deposit,
    Deposited,
    GetAccount,
    GetTransfer,
    InsufficientFunds,
    InvalidAmount,
    InvalidTransfer,
    OpenAccount,
    Refunded,
    RefundForTransfer,
    RefundStarted,
    RequestTransfer,
    Transfer,
    TransferCancelled,
    TransferCommand,
    TransferCompleted,
    TransferEvent,
    TransferRefunded,
    TransferRequested,
    TransferStatus,
    Withdraw,
    Withdrawn,
)
from repertory.actors import Effect, Emit, EntityType
from repertory.protocols import TypeRegistry

__all__ = [
    "ACCOUNT",
    "REGISTRY",
    "TRANSFER",
    "Account",
    "AccountClosed",
    "AccountNotOpen",
    "AccountStatus",
    "BalanceNotZero",
    "BankError",
    "CloseAccount",
    "Deposit",
    "GetAccount",
    "GetTransfer",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidTransfer",
    "OpenAccount",
    "RequestTransfer",
    "Transfer",
    "TransferStatus",
    "Withdraw",
    "account_command",
    "account_event",
    "transfer_command",
    "transfer_event",
]

AccountEffect = Effect[Account, AccountEvent]
TransferEffect = Effect[Transfer, TransferEvent]


def _state(state: Any) -> Any:
    return state


def _account(event: AccountEvent) -> AccountEffect:
    """``Effect.persist`` typed for the account's event union (``Effect`` is invariant)."""
    return Effect.persist(event)


def _transfer(event: TransferEvent) -> TransferEffect:
    return Effect.persist(event)


# -- account ----------------------------------------------------------------------------------


def account_command(state: Account, command: AccountCommand) -> AccountEffect:
    """Decide what an account command does; see the module doc for the transfer legs."""
    match command:
        case GetAccount():
            return Effect.none().then_reply(_state)
        case OpenAccount(owner=owner):
            if state.status is not AccountStatus.NEW:
                return Effect.reject(AccountAlreadyOpen(f"account is {state.status}"))
            return _account(AccountOpened(owner=owner)).then_reply(_state)
        case DebitForTransfer() | CreditForTransfer() | RefundForTransfer():
            return _transfer_leg(state, command)
    if state.status is not AccountStatus.OPEN:
        return Effect.reject(AccountNotOpen(f"account is {state.status}"))
    match command:
        case Deposit(amount=amount) if amount > 0:
            return _account(Deposited(amount=amount)).then_reply(_state)
        case Withdraw(amount=amount) if amount > 0:
            if amount > state.balance:
                return Effect.reject(InsufficientFunds(f"balance {state.balance} < {amount}"))
            return _account(Withdrawn(amount=amount)).then_reply(_state)
        case Deposit() | Withdraw():
            return Effect.reject(InvalidAmount(f"amount must be positive cents: {command!r}"))
        case CloseAccount():
            if state.balance:
                return Effect.reject(BalanceNotZero(f"balance {state.balance} must be 0"))
            return _account(AccountClosed()).then_reply(_state)
    raise TypeError(f"not an account command: {command!r}")


def _transfer_leg(
    state: Account, command: DebitForTransfer | CreditForTransfer | RefundForTransfer
) -> AccountEffect:
    """A leg never rejects: its outcome is journaled and emitted back to the transfer."""
    transfer = command.transfer_id
    event: AccountEvent
    answer: ConfirmDebit | DeclineDebit | ConfirmCredit | DeclineCredit | ConfirmRefund
    match command:
        case RefundForTransfer(amount=amount):
            event, answer = Refunded(transfer_id=transfer, amount=amount), ConfirmRefund()
        case _ if state.status is not AccountStatus.OPEN:
            reason = f"account is {state.status}"
            if isinstance(command, DebitForTransfer):
                event, answer = (
                    DebitDeclined(transfer_id=transfer, reason=reason),
                    DeclineDebit(reason=reason),
                )
            else:
                event = CreditDeclined(transfer_id=transfer, reason=reason)
                answer = DeclineCredit(reason=reason)
        case DebitForTransfer(amount=amount) if amount > state.balance:
            reason = f"insufficient funds: balance {state.balance} < {amount}"
            event, answer = (
                DebitDeclined(transfer_id=transfer, reason=reason),
                DeclineDebit(reason=reason),
            )
        case DebitForTransfer(amount=amount):
            event, answer = Debited(transfer_id=transfer, amount=amount), ConfirmDebit()
        case CreditForTransfer(amount=amount):
            event, answer = Credited(transfer_id=transfer, amount=amount), ConfirmCredit()
    effect = _account(event)
    return effect.emit(Emit("transfer", transfer, answer)).then_reply(_state)


def account_event(state: Account, event: AccountEvent) -> Account:
    """Apply one journaled account event (pure: replay runs it too)."""
    match event:
        case AccountOpened(owner=owner):
            return Account(status=AccountStatus.OPEN, owner=owner, balance=state.balance)
        case Deposited(amount=amount) | Credited(amount=amount) | Refunded(amount=amount):
            return Account(status=state.status, owner=state.owner, balance=state.balance + amount)
        case Withdrawn(amount=amount) | Debited(amount=amount):
            return Account(status=state.status, owner=state.owner, balance=state.balance - amount)
        case AccountClosed():
            return Account(status=AccountStatus.CLOSED, owner=state.owner, balance=state.balance)
    return state  # DebitDeclined, CreditDeclined: recorded, nothing changes


# -- transfer ---------------------------------------------------------------------------------


def transfer_command(state: Transfer, command: TransferCommand) -> TransferEffect:
    """Decide what a transfer command does; answers from the wrong phase change nothing (they
    are duplicates of steps already taken)."""
    match command:
        case RequestTransfer() if state.status is TransferStatus.NEW:
            return _request(command)
        case ConfirmDebit() if state.status is TransferStatus.DEBITING:
            effect = _transfer(DebitConfirmed())
            credit = CreditForTransfer(transfer_id=state.transfer_id, amount=state.amount)
            return effect.emit(Emit("account", state.target, credit)).then_reply(_state)
        case DeclineDebit(reason=reason) if state.status is TransferStatus.DEBITING:
            return _transfer(TransferCancelled(reason=reason)).then_reply(_state)
        case ConfirmCredit() if state.status is TransferStatus.CREDITING:
            return _transfer(TransferCompleted()).then_reply(_state)
        case DeclineCredit(reason=reason) if state.status is TransferStatus.CREDITING:
            refund = RefundForTransfer(transfer_id=state.transfer_id, amount=state.amount)
            effect = _transfer(RefundStarted(reason=reason))
            return effect.emit(Emit("account", state.source, refund)).then_reply(_state)
        case ConfirmRefund() if state.status is TransferStatus.REFUNDING:
            return _transfer(TransferRefunded()).then_reply(_state)
    return Effect.none().then_reply(_state)


def _request(command: RequestTransfer) -> TransferEffect:
    if command.amount <= 0:
        return Effect.reject(InvalidAmount(f"amount must be positive cents: {command.amount}"))
    if command.source == command.target or not command.source or not command.target:
        return Effect.reject(InvalidTransfer("source and target must be two accounts"))
    requested = TransferRequested(
        transfer_id=command.transfer_id,
        source=command.source,
        target=command.target,
        amount=command.amount,
    )
    debit = DebitForTransfer(transfer_id=command.transfer_id, amount=command.amount)
    effect = _transfer(requested)
    return effect.emit(Emit("account", command.source, debit)).then_reply(_state)


def transfer_event(state: Transfer, event: TransferEvent) -> Transfer:
    """Apply one journaled transfer event (pure)."""
    match event:
        case TransferRequested():
            return Transfer(
                status=TransferStatus.DEBITING,
                transfer_id=event.transfer_id,
                source=event.source,
                target=event.target,
                amount=event.amount,
            )
        case DebitConfirmed():
            return _with(state, TransferStatus.CREDITING)
        case TransferCancelled(reason=reason):
            return _with(state, TransferStatus.CANCELLED, reason)
        case TransferCompleted():
            return _with(state, TransferStatus.COMPLETED)
        case RefundStarted(reason=reason):
            return _with(state, TransferStatus.REFUNDING, reason)
        case TransferRefunded():
            return _with(state, TransferStatus.REFUNDED, state.reason)
    return state


def _with(state: Transfer, status: TransferStatus, reason: str = "") -> Transfer:
    return Transfer(
        status=status,
        transfer_id=state.transfer_id,
        source=state.source,
        target=state.target,
        amount=state.amount,
        reason=reason or state.reason,
    )


ACCOUNT: EntityType[Account, AccountCommand, AccountEvent] = EntityType(
    name="account", empty_state=Account(), on_command=account_command, on_event=account_event
)
TRANSFER: EntityType[Transfer, TransferCommand, TransferEvent] = EntityType(
    name="transfer", empty_state=Transfer(), on_command=transfer_command, on_event=transfer_event
)

REGISTRY = TypeRegistry(
    Account,
    Transfer,
    *AccountCommand.__args__,
    *AccountEvent.__args__,
    *TransferCommand.__args__,
    *TransferEvent.__args__,
)
"""Every bank message that crosses a boundary: commands, events, and the states (replies)."""
