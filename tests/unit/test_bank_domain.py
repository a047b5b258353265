"""The bank example's entities through the public test kit: single commands, the transfer legs,
and the entity properties (replay, snapshots, duplicates, group commit, determinism)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from examples.bank._messages import (
    ConfirmCredit,
    ConfirmDebit,
    ConfirmRefund,
    CreditForTransfer,
    DebitDeclined,
    Debited,
    DebitForTransfer,
    DeclineCredit,
    DeclineDebit,
    RefundForTransfer,
)
from examples.bank.domain import (
    ACCOUNT,
    TRANSFER,
    Account,
    AccountNotOpen,
    AccountStatus,
    BalanceNotZero,
    CloseAccount,
    Deposit,
    GetAccount,
    GetTransfer,
    InsufficientFunds,
    InvalidAmount,
    InvalidTransfer,
    OpenAccount,
    RequestTransfer,
    TransferStatus,
    Withdraw,
    account_command,
    transfer_command,
)
from repertory.actors import Emit
from repertory.testing.entity_testkit import EntityTestKit, verify_entity

amounts = st.integers(min_value=-5, max_value=5_000)
account_commands = st.one_of(
    st.builds(OpenAccount, owner=st.sampled_from(["ada", "bob"])),
    st.builds(Deposit, amount=amounts),
    st.builds(Withdraw, amount=amounts),
    st.builds(CloseAccount),
    st.builds(GetAccount),
    st.builds(DebitForTransfer, transfer_id=st.sampled_from(["t1", "t2"]), amount=amounts),
    st.builds(CreditForTransfer, transfer_id=st.sampled_from(["t1", "t2"]), amount=amounts),
    st.builds(RefundForTransfer, transfer_id=st.just("t1"), amount=st.integers(1, 100)),
)
transfer_commands = st.one_of(
    st.builds(
        RequestTransfer,
        transfer_id=st.just("under-test"),
        source=st.sampled_from(["a", "b", ""]),
        target=st.sampled_from(["a", "b"]),
        amount=amounts,
    ),
    st.builds(GetTransfer),
    st.builds(ConfirmDebit),
    st.builds(DeclineDebit, reason=st.just("no money")),
    st.builds(ConfirmCredit),
    st.builds(DeclineCredit, reason=st.just("closed")),
    st.builds(ConfirmRefund),
)


def test_account_properties_hold() -> None:
    verify_entity(ACCOUNT, account_commands, max_examples=40)


def test_transfer_properties_hold() -> None:
    verify_entity(TRANSFER, transfer_commands, max_examples=40)


async def test_an_account_opens_takes_deposits_and_refuses_overdrafts() -> None:
    async with EntityTestKit(ACCOUNT) as kit:
        assert isinstance((await kit.run(Deposit(amount=5))).error, AccountNotOpen)
        opened = await kit.run(OpenAccount(owner="ada"))
        assert opened.reply == Account(status=AccountStatus.OPEN, owner="ada", balance=0)
        assert (await kit.run(Deposit(amount=1_000))).state.balance == 1_000
        refused = await kit.run(Withdraw(amount=1_001))
        assert isinstance(refused.error, InsufficientFunds) and refused.events == ()
        assert isinstance((await kit.run(Withdraw(amount=0))).error, InvalidAmount)
        assert isinstance((await kit.run(CloseAccount())).error, BalanceNotZero)
        assert (await kit.run(Withdraw(amount=1_000))).state.balance == 0
        closed = await kit.run(CloseAccount())
        assert closed.state.status is AccountStatus.CLOSED
        assert await kit.restart() == closed.state


def test_a_debit_emits_its_answer_to_the_transfer() -> None:
    rich = Account(status=AccountStatus.OPEN, owner="ada", balance=500)
    debited = account_command(rich, DebitForTransfer(transfer_id="t9", amount=200))
    assert debited.events == (Debited(transfer_id="t9", amount=200),)
    assert debited.emits == (Emit("transfer", "t9", ConfirmDebit()),)
    declined = account_command(rich, DebitForTransfer(transfer_id="t9", amount=501))
    assert isinstance(declined.events[0], DebitDeclined) and declined.rejection is None
    assert isinstance(declined.emits[0].command, DeclineDebit)


def test_a_credit_to_a_closed_account_is_declined_and_refunded() -> None:
    closed = Account(status=AccountStatus.CLOSED, owner="bob", balance=0)
    answer = account_command(closed, CreditForTransfer(transfer_id="t1", amount=10))
    assert answer.emits == (Emit("transfer", "t1", DeclineCredit(reason="account is closed")),)
    refund = account_command(closed, RefundForTransfer(transfer_id="t1", amount=10))
    assert refund.emits == (Emit("transfer", "t1", ConfirmRefund()),)


async def test_a_transfer_walks_its_saga_and_ignores_late_duplicates() -> None:
    request = RequestTransfer(transfer_id="under-test", source="a", target="b", amount=300)
    effect = transfer_command(TRANSFER.empty_state, request)
    assert effect.emits == (
        Emit("account", "a", DebitForTransfer(transfer_id="under-test", amount=300)),
    )
    async with EntityTestKit(TRANSFER) as kit:
        assert (await kit.run(request)).state.status is TransferStatus.DEBITING
        credited = await kit.run(ConfirmDebit())
        assert credited.state.status is TransferStatus.CREDITING
        assert (await kit.run(ConfirmDebit())).events == ()  # a duplicate step changes nothing
        done = await kit.run(ConfirmCredit())
        assert done.state.status is TransferStatus.COMPLETED and done.state.amount == 300
        assert await kit.restart() == done.state


async def test_a_declined_debit_cancels_the_transfer() -> None:
    async with EntityTestKit(TRANSFER) as kit:
        await kit.run(RequestTransfer(transfer_id="under-test", source="a", target="b", amount=9))
        cancelled = await kit.run(DeclineDebit(reason="insufficient funds"))
        assert cancelled.state.status is TransferStatus.CANCELLED
        assert cancelled.state.reason == "insufficient funds"
        assert (await kit.run(ConfirmCredit())).events == ()


@pytest.mark.parametrize(
    ("source", "target", "amount", "error"),
    [("a", "a", 5, InvalidTransfer), ("a", "b", 0, InvalidAmount), ("", "b", 5, InvalidTransfer)],
)
def test_a_transfer_refuses_nonsense(source: str, target: str, amount: int, error: type) -> None:
    request = RequestTransfer(transfer_id="t", source=source, target=target, amount=amount)
    assert isinstance(transfer_command(TRANSFER.empty_state, request).rejection, error)
