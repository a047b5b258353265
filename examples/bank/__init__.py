"""A bank on repertory: accounts and transfers between them, exactly once on both sides.

- ``examples.bank.domain``: the messages, the ``account`` and ``transfer`` entity types.
- ``examples.bank.app``: what ``repertory run examples.bank.app`` needs (entity types, type
  registry, settings defaults, an engine factory for worker processes).

Money is integer cents everywhere: exact, and cheap on the wire.
"""

from examples.bank.domain import (
    ACCOUNT,
    REGISTRY,
    TRANSFER,
    Account,
    AccountNotOpen,
    AccountStatus,
    BalanceNotZero,
    BankError,
    CloseAccount,
    Deposit,
    GetAccount,
    GetTransfer,
    InsufficientFunds,
    InvalidAmount,
    InvalidTransfer,
    OpenAccount,
    RequestTransfer,
    Transfer,
    TransferStatus,
    Withdraw,
)

__all__ = [
    "ACCOUNT",
    "REGISTRY",
    "TRANSFER",
    "Account",
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
]
