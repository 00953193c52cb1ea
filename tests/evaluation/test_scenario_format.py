"""The scenario format is a contract: read exactly, and malformed files name file and field."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agent.evaluation.scenario import ScenarioFormatError, load_scenario_file, load_scenarios

LEDGER = {
    "customers": [
        {"id": "C1", "name": "Ana Diaz", "date_of_birth": "1990-05-01", "postal_code": "10001"}
    ],
    "loans": [
        {
            "id": "L1",
            "customer_id": "C1",
            "opened": "2025-01-10",
            "apr": 0.2,
            "principal_balance": 1000,
            "interest_accrued_through": "2026-03-01",
            "installments": [{"due": "2026-03-01", "amount": 100, "paid": 0}],
        }
    ],
}


def suite(**overrides) -> dict:
    data = {
        "now": "2026-03-10T14:00:00",
        "ledger": LEDGER,
        "session": {"customer_id": "C1", "verified": True},
        "scenarios": [{"id": "s1", "tags": ["t"], "turns": [{"customer": "hi"}]}],
    }
    data.update(overrides)
    return data


def write(tmp_path: Path, data: object, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_suite_defaults_and_overrides(tmp_path: Path) -> None:
    data = suite(
        scenarios=[
            {"id": "a", "turns": [{"customer": "hi"}]},
            {
                "id": "b",
                "now": "2026-04-01T09:30:00",
                "session": {"customer_id": "C1"},
                "turns": [{"customer": "hi", "reply_includes": "automated"}],
                "expect": {
                    "escalated": False,
                    "ledger": {
                        "promises_to_pay": [
                            {"loan_id": "L1", "amount": 150.1, "date": "2026-04-03"}
                        ]
                    },
                },
            },
        ]
    )
    a, b = load_scenario_file(write(tmp_path, data))
    assert a.verified is True and a.now.day == 10
    assert b.verified is False and b.now.month == 4
    assert b.turns[0].reply_includes == ["automated"]
    record = b.expect.ledger["promises_to_pay"][0]
    assert str(record["amount"]) == "150.10" and record["date"].isoformat() == "2026-04-03"


def test_single_scenario_file(tmp_path: Path) -> None:
    data = {
        "id": "one",
        "now": "2026-03-10T14:00:00",
        "ledger": LEDGER,
        "turns": [{"customer": "hello"}],
        "expect": {"verified": False},
    }
    (scenario,) = load_scenario_file(write(tmp_path, data))
    assert scenario.customer_id is None and scenario.expect.verified is False


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["scenarios"][0].update(turnz=[]), "scenarios[0].turnz"),
        (
            lambda d: d["scenarios"][0]["turns"][0].update(reply_include=["x"]),
            "scenarios[0].turns[0].reply_include",
        ),
        (lambda d: d["scenarios"][0].pop("id"), "scenarios[0].id"),
        (lambda d: d["scenarios"][0].update(turns=[]), "scenarios[0].turns"),
        (
            lambda d: d["scenarios"][0].update(expect={"escalation": {"reason": "angry"}}),
            "scenarios[0].expect.escalation.reason",
        ),
        (
            lambda d: d["scenarios"][0].update(expect={"ledger": {"promises": []}}),
            "scenarios[0].expect.ledger.promises",
        ),
        (
            lambda d: d["scenarios"][0].update(
                expect={
                    "ledger": {
                        "promises_to_pay": [{"loan_id": "L1", "amount": 10, "when": "2026-03-11"}]
                    }
                }
            ),
            "scenarios[0].expect.ledger.promises_to_pay[0].when",
        ),
        (
            lambda d: d["scenarios"][0].update(
                expect={
                    "ledger": {
                        "promises_to_pay": [{"loan_id": "L1", "amount": 10, "date": "11/03/2026"}]
                    }
                }
            ),
            "scenarios[0].expect.ledger.promises_to_pay[0].date",
        ),
        (
            lambda d: d["scenarios"][0].update(expect={"escalated": "yes"}),
            "scenarios[0].expect.escalated",
        ),
        (lambda d: d.update(now="tuesday"), "now"),
        (lambda d: d.update(session={"customer_id": "C9"}), "session.customer_id"),
        (lambda d: d["ledger"]["loans"][0].update(apr=-1), "ledger.loans[0].apr"),
    ],
)
def test_malformed_files_name_the_file_and_field(tmp_path: Path, mutate, field: str) -> None:
    data = json.loads(json.dumps(suite()))
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ScenarioFormatError) as error:
        load_scenario_file(path)
    assert str(path) in str(error.value)
    assert f"'{field}'" in str(error.value)


def test_duplicate_ids_across_files_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, suite(), "a.yaml")
    write(tmp_path, suite(), "b.yaml")
    with pytest.raises(ScenarioFormatError, match="duplicate id 's1'"):
        load_scenarios([tmp_path])


def test_not_yaml_and_not_a_scenario(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenarios: [")
    with pytest.raises(ScenarioFormatError, match=r"broken\.yaml"):
        load_scenario_file(broken)
    neither = write(tmp_path, {"id": "x"}, "neither.yaml")
    with pytest.raises(ScenarioFormatError, match="'turns'"):
        load_scenario_file(neither)


def test_cli_exit_codes_and_json(tmp_path: Path, engines, monkeypatch) -> None:
    """Failing scenarios exit 0 unless --strict; malformed files exit non-zero."""
    from agent import cli
    from agent.evaluation import runner

    real = runner.run_paths
    monkeypatch.setattr(
        runner,
        "run_paths",
        lambda settings, paths, **kw: real(settings, paths, engines=engines, **kw),
    )
    data = suite(
        scenarios=[
            {
                "id": "passes",
                "tags": ["ok"],
                "turns": [{"customer": "hi", "reply_includes": ["automated"]}],
            },
            {
                "id": "fails",
                "tags": ["bad"],
                "turns": [{"customer": "hi", "reply_includes": ["no such words"]}],
                "expect": {"escalated": False},
            },
        ]
    )
    path = write(tmp_path, data)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli.main, ["eval", str(path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "PASS passes" in lines
    assert any(line.startswith("FAIL fails: turn 1: reply lacks 'no such words'") for line in lines)
    assert lines[-1] == "1 passed, 1 failed"
    report = json.loads(out.read_text())
    assert {
        "passed",
        "failed",
        "pass_rate",
        "escalation_precision",
        "escalation_recall",
        "p95_turn_seconds",
    } <= set(report["summary"])
    entry = next(s for s in report["scenarios"] if s["id"] == "fails")
    assert set(entry) == {
        "id",
        "tags",
        "passed",
        "failures",
        "verified",
        "escalated",
        "escalation_reason",
        "escalation_priority",
        "turn_seconds",
    }
    assert entry["passed"] is False and len(entry["turn_seconds"]) == 1
    strict = CliRunner().invoke(cli.main, ["eval", "--strict", str(path)])
    assert strict.exit_code == 1
    bad = write(tmp_path, {"id": "x", "turns": "nope"}, "bad.yaml")
    malformed = CliRunner().invoke(cli.main, ["eval", str(bad)])
    assert malformed.exit_code == 2 and "bad.yaml" in malformed.output
