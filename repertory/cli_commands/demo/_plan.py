"""The demo's workload: a seeded, reproducible stream of bank commands, the same in every process.

The engine's process and the judging process each rebuild the plan from its parameters, so
nothing but acknowledgements crosses between them. Commands to one entity are sent one after
another in plan order (see ``lane``), which makes the plan order each entity's send order.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from examples.bank.domain import Deposit, OpenAccount, RequestTransfer, Withdraw

__all__ = ["DemoPlan", "Planned", "lane"]


@dataclass(frozen=True, slots=True)
class Planned:
    """One command of the plan."""

    index: int
    entity_type: str
    entity_id: str
    command: Any

    @property
    def command_id(self) -> str:
        return f"demo-{self.index}"

    @property
    def persistence_id(self) -> str:
        return f"{self.entity_type}|{self.entity_id}"

    @property
    def type_name(self) -> str:
        return str(type(self.command).__type_name__)

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self.command, name) for name in self.command.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """``accounts`` openings, then ``commands`` deposits, withdrawals and transfers.

    Withdrawals are sized so that some find too little money (rejected, and must not apply);
    transfers go between two random accounts and may be declined the same way.
    """

    accounts: int
    commands: int
    seed: int = 7
    transfer_share: float = 0.10
    withdraw_share: float = 0.30

    @property
    def total(self) -> int:
        return self.accounts + self.commands

    def account_id(self, n: int) -> str:
        return f"acct-{n:06d}"

    def __iter__(self) -> Iterator[Planned]:
        for n in range(self.accounts):
            yield Planned(n, "account", self.account_id(n), OpenAccount(owner=f"owner {n}"))
        rng = random.Random(self.seed)
        for index in range(self.accounts, self.total):
            yield self._command(index, rng)

    def _command(self, index: int, rng: random.Random) -> Planned:
        draw = rng.random()
        account = self.account_id(rng.randrange(self.accounts))
        amount = rng.randint(1, 100) * 100
        if draw < self.transfer_share:
            target = self.account_id(rng.randrange(self.accounts))
            if target == account:
                target = self.account_id((int(account[5:]) + 1) % self.accounts)
            transfer_id = f"tr-{index:08d}"
            request = RequestTransfer(
                transfer_id=transfer_id, source=account, target=target, amount=amount
            )
            return Planned(index, "transfer", transfer_id, request)
        if draw < self.transfer_share + self.withdraw_share:
            return Planned(index, "account", account, Withdraw(amount=amount * 2))
        return Planned(index, "account", account, Deposit(amount=amount))


def lane(planned: Planned, lanes: int) -> int:
    """The sender that carries ``planned``: all commands of one entity share one, in order."""
    return zlib.crc32(planned.persistence_id.encode()) % lanes
