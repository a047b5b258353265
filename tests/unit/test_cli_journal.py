"""``repertory replay`` and ``repertory journal check`` on SQLite journals in tmp_path."""

from __future__ import annotations

from pathlib import Path

from cli_support import (
    HOT,
    bank_journal,
    invoke,
    stdout_json,
    stdout_json_lines,
    zombie_journal,
)


def test_replay_shows_events_and_the_state_at_any_seq_nr(tmp_path: Path) -> None:
    journal = str(bank_journal(tmp_path / "bank.sqlite3"))
    raw = invoke("replay", "account", "acct-hot", "--journal", journal, "--json")
    assert raw.exit_code == 0, raw.output
    lines = stdout_json_lines(raw)
    assert [line["seq_nr"] for line in lines[:-1]] == list(range(1, HOT + 3))
    assert lines[1]["event_type"] == "bank.account.Deposited"
    assert lines[1]["payload"] == {"amount": 100}  # read without the classes
    assert lines[-1]["highest_seq_nr"] == HOT + 2
    at_three = invoke(
        "replay",
        "account",
        "acct-hot",
        "--journal",
        journal,
        "--app",
        "examples.bank.app",
        "--to",
        "3",
        "--json",
    )
    end = stdout_json_lines(at_three)[-1]
    assert end["state"] == {"status": "open", "owner": "acct-hot", "balance": 100 + 101}
    assert end["seq_nr"] == 3


def test_replay_explains_what_is_wrong(tmp_path: Path) -> None:
    missing = invoke("replay", "account", "x", "--journal", str(tmp_path / "none.sqlite3"))
    assert missing.exit_code == 1 and "no journal at" in missing.output
    journal = str(bank_journal(tmp_path / "bank.sqlite3"))
    unknown = invoke("replay", "ledger", "x", "--journal", journal, "--app", "examples.bank.app")
    assert unknown.exit_code == 1 and "has no entity type [ledger]" in unknown.output
    usage = invoke("replay", "account")
    assert usage.exit_code == 2


def test_journal_check_lists_dropped_rows_and_fails(tmp_path: Path) -> None:
    journal = str(zombie_journal(tmp_path / "fenced.sqlite3"))
    found = invoke("journal", "check", "--journal", journal, "--json")
    assert found.exit_code == 1
    report = stdout_json(found)
    assert list(report) == ["account|z"]
    assert [(r["seq_nr"], r["command_id"]) for r in report["account|z"]] == [(2, "zombie")]
    clean = invoke("journal", "check", "--journal", str(bank_journal(tmp_path / "b.sqlite3")))
    assert clean.exit_code == 0 and "0 dropped row(s)" in clean.output


def test_journal_check_of_named_entities(tmp_path: Path) -> None:
    journal = str(zombie_journal(tmp_path / "fenced.sqlite3"))
    one = invoke("journal", "check", "account|z", "--journal", journal)
    assert one.exit_code == 1 and "account|z: 1 dropped row(s)" in one.output
    bad = invoke("journal", "check", "nobar", "--journal", journal)
    assert bad.exit_code == 2 and "TYPE|ID" in bad.output
