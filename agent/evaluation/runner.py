"""``loan-agent eval``: run scenarios, each in isolation, and report."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.conversation.models import Escalation
from agent.db.engine import clear_all_tables, create_db_engine, create_schema
from agent.evaluation.checks import check_expectations, check_turn, ledger_snapshot
from agent.evaluation.scenario import Scenario, ScenarioFormatError, load_scenarios
from agent.ledger.loader import write_ledger
from agent.runtime import Engines, build_engines, build_service
from agent.settings import Settings


class EvaluationError(RuntimeError):
    """A malformed file or a broken run (not a failing scenario)."""


@dataclass
class ScenarioResult:
    id: str
    tags: list[str]
    passed: bool
    failures: list[str]
    verified: bool
    escalated: bool
    escalation_reason: str | None
    escalation_priority: str | None
    turn_seconds: list[float]
    expected_escalation: bool | None
    replies: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tags": self.tags,
            "passed": self.passed,
            "failures": self.failures,
            "verified": self.verified,
            "escalated": self.escalated,
            "escalation_reason": self.escalation_reason,
            "escalation_priority": self.escalation_priority,
            "turn_seconds": [round(s, 6) for s in self.turn_seconds],
        }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Report:
    results: list[ScenarioResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def summary(self) -> dict[str, Any]:
        total = len(self.results)
        tags: dict[str, list[bool]] = defaultdict(list)
        for r in self.results:
            for tag in r.tags:
                tags[tag].append(r.passed)
        judged = [r for r in self.results if r.expected_escalation is not None]
        tp = sum(1 for r in judged if r.escalated and r.expected_escalation)
        fp = sum(1 for r in judged if r.escalated and not r.expected_escalation)
        fn = sum(1 for r in judged if not r.escalated and r.expected_escalation)
        turns = [s for r in self.results for s in r.turn_seconds]
        return {
            "passed": self.passed,
            "failed": self.failed,
            "total": total,
            "pass_rate": round(self.passed / total, 4) if total else None,
            "pass_rate_by_tag": {t: round(sum(v) / len(v), 4) for t, v in sorted(tags.items())},
            "escalation_precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "escalation_recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "turns": len(turns),
            "p50_turn_seconds": _round(_percentile(turns, 0.5)),
            "p95_turn_seconds": _round(_percentile(turns, 0.95)),
        }

    def as_json(self) -> dict[str, Any]:
        return {"scenarios": [r.as_json() for r in self.results], "summary": self.summary()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def scenario_clock(scenario: Scenario) -> datetime:
    """The scenario's ``now`` is the customer's local time."""
    now = scenario.now
    if now.tzinfo is not None:
        return now.astimezone(UTC)
    zone = "America/New_York"
    if scenario.customer_id:
        customer = next(c for c in scenario.ledger.customers if c.id == scenario.customer_id)
        zone = customer.timezone
    return now.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def fresh_database() -> Engine:
    db = create_db_engine("sqlite://")
    create_schema(db)
    return db


def run_scenario(engines: Engines, scenario: Scenario, db: Engine | None = None) -> ScenarioResult:
    """Run one scenario on its own fresh ledger (``db`` is emptied first when given)."""
    own_db = db is None
    if db is None:
        db = fresh_database()
    else:
        clear_all_tables(db)
    with Session(db) as session:
        write_ledger(session, scenario.ledger)
        session.commit()
        before = ledger_snapshot(session)
    now = scenario_clock(scenario)
    service = build_service(engines, db, clock=lambda: now)
    conv = service.start(
        channel="eval", customer_id=scenario.customer_id, verified=scenario.verified
    )
    failures: list[str] = []
    replies: list[str] = []
    seconds: list[float] = []
    for index, turn in enumerate(scenario.turns):
        started = time.perf_counter()
        try:
            outcome = service.customer_message(conv.id, turn.customer)
            reply = outcome.reply_text
        except Exception as exc:
            code = getattr(exc, "code", None)
            if code is None:
                raise EvaluationError(
                    f"scenario {scenario.id}: turn {index + 1} broke: {type(exc).__name__}: {exc}"
                ) from exc
            reply = str(exc)
        seconds.append(time.perf_counter() - started)
        replies.append(reply)
        failures.extend(check_turn(turn, reply, index))
    final = service.get(conv.id)
    with Session(db) as session:
        after = ledger_snapshot(session)
        escalations = [
            (e.reason, e.priority)
            for e in session.exec(
                select(Escalation)
                .where(Escalation.conversation_id == conv.id)
                .order_by(Escalation.id)
            )
        ]
        failures.extend(
            check_expectations(
                scenario.expect,
                session=session,
                before=before,
                after=after,
                verified=final.verified,
                escalations=escalations,
                replies=replies,
            )
        )
    if own_db:
        db.dispose()
    return ScenarioResult(
        id=scenario.id,
        tags=scenario.tags,
        passed=not failures,
        failures=failures,
        verified=final.verified,
        escalated=bool(escalations),
        escalation_reason=escalations[0][0] if escalations else None,
        escalation_priority=escalations[0][1] if escalations else None,
        turn_seconds=seconds,
        expected_escalation=scenario.expect.expects_escalation,
        replies=replies,
    )


def run_scenarios(
    engines: Engines,
    scenarios: list[Scenario],
    echo: Callable[[str], None] = print,
    quiet: bool = False,
) -> Report:
    results = []
    db = fresh_database()  # one engine, emptied per scenario: compiled SQL is reused
    for scenario in scenarios:
        result = run_scenario(engines, scenario, db)
        results.append(result)
        if result.passed and not quiet:
            echo(f"PASS {result.id}")
        elif not result.passed:
            echo(f"FAIL {result.id}: {'; '.join(result.failures)}")
    report = Report(results)
    summary = report.summary()
    echo("")
    echo(f"pass rate: {summary['pass_rate']}")
    for tag, rate in summary["pass_rate_by_tag"].items():
        echo(f"  {tag}: {rate}")
    echo(
        f"escalation precision: {summary['escalation_precision']}  "
        f"recall: {summary['escalation_recall']}"
    )
    echo(
        f"time per turn: p50 {summary['p50_turn_seconds']} s, "
        f"p95 {summary['p95_turn_seconds']} s over {summary['turns']} turns"
    )
    echo(f"{report.passed} passed, {report.failed} failed")
    return report


def eval_settings(settings: Settings) -> Settings:
    """Evaluation never touches the product database: conversations run in memory."""
    return settings.model_copy(update={"database_url": "sqlite://"})


def run_paths(
    settings: Settings,
    paths: list[Path],
    echo: Callable[[str], None] = print,
    quiet: bool = False,
    engines: Engines | None = None,
) -> Report:
    try:
        scenarios = load_scenarios(paths)
    except ScenarioFormatError as exc:
        raise EvaluationError(str(exc)) from exc
    if not scenarios:
        raise EvaluationError("no scenarios found in " + ", ".join(map(str, paths)))
    engines = engines or build_engines(eval_settings(settings))
    return run_scenarios(engines, scenarios, echo=echo, quiet=quiet)
