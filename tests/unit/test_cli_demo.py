"""``repertory demo`` with small counts: a real SIGKILL of the engine process, a recovery, and
every check of the recovery passing; the plan is reproducible."""

from __future__ import annotations

from pathlib import Path

from cli_support import invoke, stdout_json

from repertory.cli_commands.demo._plan import DemoPlan


def test_the_demo_kills_recovers_and_passes(tmp_path: Path) -> None:
    result = invoke(
        "demo",
        "--accounts",
        "20",
        "--commands",
        "600",
        "--kill-at",
        "0.5",
        "--keep",
        str(tmp_path),
        "--json",
    )
    assert result.exit_code == 0, result.output
    figures = stdout_json(result)
    assert figures["ok"] is True and figures["commands_per_second"] > 0
    assert 310 <= figures["acknowledged_before_kill"] < 620
    assert figures["accounts"] == figures["balances_matching_tally"] == 20
    assert figures["balance_total"] == figures["deposits_minus_withdrawals"]
    assert figures["unsettled_transfers"] == 0
    assert figures["history"]["unresolved"] == 0 and figures["history"]["applied"] >= 620
    assert (tmp_path / "journal.sqlite3").exists()


def test_the_demo_prints_its_figures_for_people(tmp_path: Path) -> None:
    result = invoke("demo", "--accounts", "10", "--commands", "200", "--keep", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "commands/s" in result.stdout and "killed with SIGKILL" in result.stdout
    assert "demo passed" in result.stdout


def test_the_plan_is_reproducible_and_mixed() -> None:
    plan = DemoPlan(accounts=5, commands=400, seed=3)
    first, again = list(plan), list(DemoPlan(accounts=5, commands=400, seed=3))
    assert [(p.persistence_id, p.command) for p in first] == [
        (p.persistence_id, p.command) for p in again
    ]
    kinds = {p.type_name for p in first}
    assert kinds == {
        "bank.account.Open",
        "bank.account.Deposit",
        "bank.account.Withdraw",
        "bank.transfer.Request",
    }
    assert len({p.command_id for p in first}) == plan.total
