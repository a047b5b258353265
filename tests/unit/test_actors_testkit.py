"""The entity test kit on the sample account: its single-command API and its properties."""

from __future__ import annotations

import pytest
from actors_sample import (
    Account,
    Deposit,
    Deposited,
    GetBalance,
    InsufficientFunds,
    Split,
    Withdraw,
    account_type,
)
from hypothesis import strategies as st

from repertory.actors import Effect, EntityType
from repertory.testing.entity_testkit import EntityTestKit, verify_entity

pytestmark = pytest.mark.unit

COMMANDS = st.one_of(
    st.builds(Deposit, st.integers(1, 9)),
    st.builds(Withdraw, st.integers(1, 20)),
    st.builds(Split, st.integers(1, 3)),
    st.just(GetBalance()),
)


async def test_kit_shows_events_state_reply_and_restart() -> None:
    async with EntityTestKit(account_type()) as kit:
        result = await kit.run(Deposit(7))
        assert result.events == (Deposited(7),)
        assert result.state == Account(balance=7, deposits=1)
        assert result.reply == 7
        refused = await kit.run(Withdraw(100))
        assert isinstance(refused.error, InsufficientFunds) and refused.events == ()
        assert await kit.restart() == Account(balance=7, deposits=1)


def test_properties_hold_for_the_sample_account() -> None:
    verify_entity(account_type(), COMMANDS, max_examples=25)


def test_properties_catch_a_nondeterministic_handler() -> None:
    import time

    def sloppy(state: int, command: object) -> Effect[int, int]:
        # Reads the clock: forbidden. In millions of seconds, so that only the determinism
        # check (which sets the clock far apart) sees it change, not a second that ticks
        # between two runs of one example (hypothesis would call that flaky, not failed).
        return Effect.persist(int(time.time() // 1_000_000))

    clocky = EntityType(
        name="clocky", empty_state=0, on_command=sloppy, on_event=lambda s, e: s + e
    )
    with pytest.raises(AssertionError):
        verify_entity(clocky, st.just("tick"), max_examples=5)
