"""The scenario format of SCENARIOS.md, read exactly: unknown fields and malformed values
are errors that name the file and the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from agent.ledger.loader import LedgerIn, LedgerLoadError, parse_ledger

RECORD_FIELDS: dict[str, dict[str, str]] = {
    "promises_to_pay": {"loan_id": "str", "amount": "money", "date": "date"},
    "payment_links": {"loan_id": "str", "amount": "money"},
    "due_date_changes": {"loan_id": "str", "day_of_month": "int"},
    "deferrals": {"loan_id": "str"},
    "fee_waivers": {"loan_id": "str", "amount": "money"},
    "contact_preferences": {
        "customer_id": "str",
        "sms": "bool",
        "email": "bool",
        "calls": "bool",
        "do_not_contact": "bool",
        "contact_hours": "str",
    },
}
ESCALATION_REASONS = {
    "hardship",
    "dispute",
    "fraud",
    "legal",
    "vulnerability",
    "complaint",
    "human_request",
    "verification_failed",
}
PRIORITIES = {"normal", "high"}
SUITE_KEYS = {"now", "ledger", "session", "scenarios"}
SCENARIO_KEYS = {"id", "title", "tags", "now", "ledger", "session", "turns", "expect"}
TURN_KEYS = {"customer", "reply_includes", "reply_includes_any", "reply_excludes"}
SESSION_KEYS = {"customer_id", "verified"}
EXPECT_KEYS = {"verified", "escalated", "escalation", "ledger", "ledger_unchanged", "never_said"}


class ScenarioFormatError(ValueError):
    def __init__(self, source: str, field_path: str, problem: str) -> None:
        super().__init__(f"{source}: field '{field_path}': {problem}")
        self.source, self.field, self.problem = source, field_path, problem


@dataclass
class Turn:
    customer: str
    reply_includes: list[str] = field(default_factory=list)
    reply_includes_any: list[str] = field(default_factory=list)
    reply_excludes: list[str] = field(default_factory=list)


@dataclass
class Expect:
    verified: bool | None = None
    escalated: bool | None = None
    escalation_reason: str | None = None
    escalation_priority: str | None = None
    ledger: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ledger_unchanged: bool | None = None
    never_said: list[str] = field(default_factory=list)

    @property
    def expects_escalation(self) -> bool | None:
        if self.escalated is not None:
            return self.escalated
        if self.escalation_reason or self.escalation_priority:
            return True
        return None


@dataclass
class Scenario:
    id: str
    source: str
    now: datetime
    ledger: LedgerIn
    customer_id: str | None
    verified: bool
    turns: list[Turn]
    expect: Expect
    title: str = ""
    tags: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> ScenarioFormatError:
        return ScenarioFormatError(self.source, path, problem)

    def mapping(self, value: Any, path: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected a mapping")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{path}.{key}" if path else str(key), "unknown field")
        return value

    def text(self, value: Any, path: str, required: bool = True) -> str | None:
        if value is None:
            if required:
                raise self.fail(path, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, "expected text")
        text = str(value)
        if required and not text.strip():
            raise self.fail(path, "must not be empty")
        return text

    def strings(self, value: Any, path: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise self.fail(path, "expected a list of strings")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.fail(f"{path}[{i}]", "expected a string")
            out.append(str(item))
        return out

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(path, "expected true or false")
        return value

    def when(self, value: Any, path: str) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, 12, 0)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError as exc:
                raise self.fail(path, f"not a date-time (YYYY-MM-DDTHH:MM:SS): {value!r}") from exc
        raise self.fail(path, 'expected a date-time such as "2026-03-10T14:00:00"')


def _money(reader: _Reader, value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise reader.fail(path, "expected an amount")
    try:
        text = repr(value) if isinstance(value, float) else str(value)
        amount = Decimal(text.replace("$", "").replace(",", "").strip())
    except Exception as exc:
        raise reader.fail(path, f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise reader.fail(path, "not a finite amount")
    return amount.quantize(Decimal("0.01"))


def _record(reader: _Reader, kind: str, value: Any, path: str) -> dict[str, Any]:
    spec = RECORD_FIELDS[kind]
    raw = reader.mapping(value, path, set(spec))
    record: dict[str, Any] = {}
    for name, item in raw.items():
        p = f"{path}.{name}"
        kind_of = spec[name]
        if kind_of == "money":
            record[name] = _money(reader, item, p)
        elif kind_of == "date":
            if isinstance(item, date) and not isinstance(item, datetime):
                record[name] = item
            else:
                try:
                    record[name] = date.fromisoformat(str(item).strip())
                except ValueError as exc:
                    raise reader.fail(p, f"not a date (YYYY-MM-DD): {item!r}") from exc
        elif kind_of == "int":
            if isinstance(item, bool) or not isinstance(item, int):
                raise reader.fail(p, "expected a whole number")
            record[name] = item
        elif kind_of == "bool":
            record[name] = reader.boolean(item, p)
        else:
            record[name] = reader.text(item, p)
    return record


def _expect(reader: _Reader, value: Any, path: str) -> Expect:
    if value is None:
        return Expect()
    raw = reader.mapping(value, path, EXPECT_KEYS)
    expect = Expect(
        verified=reader.boolean(raw.get("verified"), f"{path}.verified"),
        escalated=reader.boolean(raw.get("escalated"), f"{path}.escalated"),
        ledger_unchanged=reader.boolean(raw.get("ledger_unchanged"), f"{path}.ledger_unchanged"),
        never_said=reader.strings(raw.get("never_said"), f"{path}.never_said"),
    )
    if "escalation" in raw and raw["escalation"] is not None:
        esc = reader.mapping(raw["escalation"], f"{path}.escalation", {"reason", "priority"})
        if "reason" in esc:
            reason = reader.text(esc["reason"], f"{path}.escalation.reason")
            if reason not in ESCALATION_REASONS:
                raise reader.fail(
                    f"{path}.escalation.reason",
                    f"unknown reason {reason!r}; one of " + ", ".join(sorted(ESCALATION_REASONS)),
                )
            expect.escalation_reason = reason
        if "priority" in esc:
            priority = reader.text(esc["priority"], f"{path}.escalation.priority")
            if priority not in PRIORITIES:
                raise reader.fail(f"{path}.escalation.priority", "must be normal or high")
            expect.escalation_priority = priority
    if "ledger" in raw and raw["ledger"] is not None:
        ledger = reader.mapping(raw["ledger"], f"{path}.ledger", set(RECORD_FIELDS))
        for kind, records in ledger.items():
            p = f"{path}.ledger.{kind}"
            if records is None:
                records = []
            if not isinstance(records, list):
                raise reader.fail(p, "expected a list of records")
            expect.ledger[kind] = [
                _record(reader, kind, r, f"{p}[{i}]") for i, r in enumerate(records)
            ]
    return expect


def _turns(reader: _Reader, value: Any, path: str) -> list[Turn]:
    if not isinstance(value, list) or not value:
        raise reader.fail(path, "expected a non-empty list of turns")
    turns = []
    for i, item in enumerate(value):
        p = f"{path}[{i}]"
        raw = reader.mapping(item, p, TURN_KEYS)
        turns.append(
            Turn(
                customer=reader.text(raw.get("customer"), f"{p}.customer") or "",
                reply_includes=reader.strings(raw.get("reply_includes"), f"{p}.reply_includes"),
                reply_includes_any=reader.strings(
                    raw.get("reply_includes_any"), f"{p}.reply_includes_any"
                ),
                reply_excludes=reader.strings(raw.get("reply_excludes"), f"{p}.reply_excludes"),
            )
        )
    return turns


def _session(reader: _Reader, value: Any, path: str) -> tuple[str | None, bool]:
    if value is None:
        return None, False
    raw = reader.mapping(value, path, SESSION_KEYS)
    customer = reader.text(raw.get("customer_id"), f"{path}.customer_id", required=False)
    verified = reader.boolean(raw.get("verified"), f"{path}.verified") or False
    if verified and customer is None:
        raise reader.fail(f"{path}.verified", "a verified session needs a customer_id")
    return customer, verified


def _scenario(
    reader: _Reader, raw: dict[str, Any], path: str, defaults: dict[str, Any]
) -> Scenario:
    prefix = f"{path}." if path else ""
    merged = {**defaults, **{k: v for k, v in raw.items() if k in {"now", "session", "ledger"}}}
    scenario_id = reader.text(raw.get("id"), f"{prefix}id")
    if "now" not in merged:
        raise reader.fail(f"{prefix}now", "is required (here or in the suite)")
    now = reader.when(merged["now"], f"{prefix}now" if "now" in raw else "now")
    ledger_path = f"{prefix}ledger" if "ledger" in raw else "ledger"
    try:
        ledger = parse_ledger(merged.get("ledger") or {}, reader.source, prefix=ledger_path)
    except LedgerLoadError as exc:
        raise ScenarioFormatError(reader.source, exc.field, exc.problem) from exc
    session_path = f"{prefix}session" if "session" in raw else "session"
    customer_id, verified = _session(reader, merged.get("session"), session_path)
    if customer_id is not None and customer_id not in {c.id for c in ledger.customers}:
        raise reader.fail(
            f"{session_path}.customer_id", f"unknown customer {customer_id!r} in the ledger"
        )
    tags = reader.strings(raw.get("tags"), f"{prefix}tags")
    return Scenario(
        id=scenario_id or "",
        source=reader.source,
        now=now,
        ledger=ledger,
        customer_id=customer_id,
        verified=verified,
        turns=_turns(reader, raw.get("turns"), f"{prefix}turns"),
        expect=_expect(reader, raw.get("expect"), f"{prefix}expect"),
        title=reader.text(raw.get("title"), f"{prefix}title", required=False) or "",
        tags=tags,
    )


def load_scenario_file(path: Path) -> list[Scenario]:
    source = str(path)
    reader = _Reader(source)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioFormatError(source, "(file)", "not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise ScenarioFormatError(source, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ScenarioFormatError(
            source, "(file)", "expected a scenario (with turns) or a suite (with scenarios)"
        )
    if "scenarios" in raw:
        suite = reader.mapping(raw, "", SUITE_KEYS)
        items = suite["scenarios"]
        if not isinstance(items, list) or not items:
            raise reader.fail("scenarios", "expected a non-empty list of scenarios")
        defaults = {k: suite[k] for k in ("now", "ledger", "session") if k in suite}
        scenarios = []
        for i, item in enumerate(items):
            item_raw = reader.mapping(item, f"scenarios[{i}]", SCENARIO_KEYS)
            scenarios.append(_scenario(reader, item_raw, f"scenarios[{i}]", defaults))
        return scenarios
    if "turns" not in raw:
        raise ScenarioFormatError(
            source, "turns", "is required (a scenario has turns; a suite has scenarios)"
        )
    scenario_raw = reader.mapping(raw, "", SCENARIO_KEYS)
    return [_scenario(reader, scenario_raw, "", {})]


def discover(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.yaml") if p.is_file()))
        else:
            files.append(path)
    return files


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for file in discover(paths):
        for scenario in load_scenario_file(file):
            if scenario.id in seen:
                raise ScenarioFormatError(
                    str(file), "id", f"duplicate id {scenario.id!r} (also in {seen[scenario.id]})"
                )
            seen[scenario.id] = str(file)
            scenarios.append(scenario)
    return scenarios
