"""The bank's messages: commands, events, states (which double as query replies), and errors.

Wire names (``bank.account.Deposit``) are fixed once journaled; the Python names may move.
Amounts are integer cents.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from repertory.protocols import Command, Event, Reply, message

# -- states (also the replies of commands and queries) ---------------------------------------


class AccountStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


@message("bank.account.State")
@dataclass(frozen=True, slots=True, kw_only=True)
class Account(Reply):
    """An account's state, and the reply to every account command."""

    status: AccountStatus = AccountStatus.NEW
    owner: str = ""
    balance: int = 0


class TransferStatus(enum.StrEnum):
    NEW = "new"
    DEBITING = "debiting"  # the debit is on its way to the source account
    CREDITING = "crediting"  # debited; the credit is on its way to the target account
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the debit was declined: no money moved
    REFUNDING = "refunding"  # the credit was declined: the debit is being given back
    REFUNDED = "refunded"

    @property
    def settled(self) -> bool:
        """Whether the transfer will never move money again."""
        return self in _SETTLED


_SETTLED = frozenset({TransferStatus.COMPLETED, TransferStatus.CANCELLED, TransferStatus.REFUNDED})


@message("bank.transfer.State")
@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Reply):
    """A transfer's state, and the reply to every transfer command."""

    status: TransferStatus = TransferStatus.NEW
    transfer_id: str = ""
    """The transfer entity's own id (an entity does not know it; the request names it)."""
    source: str = ""
    target: str = ""
    amount: int = 0
    reason: str = ""


# -- business refusals (an asker gets them raised) ------------------------------------------


class BankError(Exception):
    """A refused command; nothing was stored."""


class InvalidAmount(BankError):
    pass


class AccountNotOpen(BankError):
    pass


class AccountAlreadyOpen(BankError):
    pass


class InsufficientFunds(BankError):
    pass


class BalanceNotZero(BankError):
    pass


class InvalidTransfer(BankError):
    pass


# -- account commands and events --------------------------------------------------------------


@message("bank.account.Open")
@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAccount(Command):
    owner: str


@message("bank.account.Deposit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: int


@message("bank.account.Withdraw")
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdraw(Command):
    amount: int


@message("bank.account.Close")
@dataclass(frozen=True, slots=True, kw_only=True)
class CloseAccount(Command):
    pass


@message("bank.account.Get")
@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccount(Command):
    pass


@message("bank.account.Debit")
@dataclass(frozen=True, slots=True, kw_only=True)
class DebitForTransfer(Command):
    """Sent by a transfer (never by clients): take ``amount`` out, or decline."""

    transfer_id: str
    amount: int


@message("bank.account.Credit")
@dataclass(frozen=True, slots=True, kw_only=True)
class CreditForTransfer(Command):
    """Sent by a transfer: put ``amount`` in, or decline (the account is not open)."""

    transfer_id: str
    amount: int


@message("bank.account.Refund")
@dataclass(frozen=True, slots=True, kw_only=True)
class RefundForTransfer(Command):
    """Sent by a transfer whose credit was declined: give the debited ``amount`` back. Never
    declined (a closed account takes it too), so money is never lost between two accounts."""

    transfer_id: str
    amount: int


@message("bank.account.Opened")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(Event):
    owner: str


@message("bank.account.Deposited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: int


@message("bank.account.Withdrawn")
@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawn(Event):
    amount: int


@message("bank.account.Closed")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountClosed(Event):
    pass


@message("bank.account.Debited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Debited(Event):
    transfer_id: str
    amount: int


@message("bank.account.DebitDeclined")
@dataclass(frozen=True, slots=True, kw_only=True)
class DebitDeclined(Event):
    """Journaled (not a rejection) so that the answer to the transfer is emitted from it."""

    transfer_id: str
    reason: str


@message("bank.account.Credited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Credited(Event):
    transfer_id: str
    amount: int


@message("bank.account.CreditDeclined")
@dataclass(frozen=True, slots=True, kw_only=True)
class CreditDeclined(Event):
    transfer_id: str
    reason: str


@message("bank.account.Refunded")
@dataclass(frozen=True, slots=True, kw_only=True)
class Refunded(Event):
    transfer_id: str
    amount: int


# -- transfer commands and events -------------------------------------------------------------


@message("bank.transfer.Request")
@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTransfer(Command):
    """Move ``amount`` from ``source`` to ``target``. ``transfer_id`` is the id of the transfer
    entity it is sent to (an entity does not know its own id; the legs must name it)."""

    transfer_id: str
    source: str
    target: str
    amount: int


@message("bank.transfer.Get")
@dataclass(frozen=True, slots=True, kw_only=True)
class GetTransfer(Command):
    pass


@message("bank.transfer.ConfirmDebit")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmDebit(Command):
    pass


@message("bank.transfer.DeclineDebit")
@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineDebit(Command):
    reason: str


@message("bank.transfer.ConfirmCredit")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmCredit(Command):
    pass


@message("bank.transfer.DeclineCredit")
@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineCredit(Command):
    reason: str


@message("bank.transfer.ConfirmRefund")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmRefund(Command):
    pass


@message("bank.transfer.Requested")
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRequested(Event):
    transfer_id: str
    source: str
    target: str
    amount: int


@message("bank.transfer.DebitConfirmed")
@dataclass(frozen=True, slots=True, kw_only=True)
class DebitConfirmed(Event):
    pass


@message("bank.transfer.Cancelled")
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCancelled(Event):
    reason: str


@message("bank.transfer.Completed")
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCompleted(Event):
    pass


@message("bank.transfer.RefundStarted")
@dataclass(frozen=True, slots=True, kw_only=True)
class RefundStarted(Event):
    reason: str


@message("bank.transfer.Refunded")
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRefunded(Event):
    pass


AccountCommand = (
    OpenAccount
    | Deposit
    | Withdraw
    | CloseAccount
    | GetAccount
    | DebitForTransfer
    | CreditForTransfer
    | RefundForTransfer
)
AccountEvent = (
    AccountOpened
    | Deposited
    | Withdrawn
    | AccountClosed
    | Debited
    | DebitDeclined
    | Credited
    | CreditDeclined
    | Refunded
)
TransferCommand = (
    RequestTransfer | GetTransfer | ConfirmDebit | DeclineDebit | ConfirmCredit | DeclineCredit
) | ConfirmRefund
TransferEvent = (
    TransferRequested
    | DebitConfirmed
    | TransferCancelled
    | TransferCompleted
    | RefundStarted
    | TransferRefunded
)
