"""Checks of a finished scenario against its expectations (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from agent.evaluation.scenario import Expect, Turn
from agent.ledger.models import LEDGER_TABLES, RECORD_TABLES

Snapshot = dict[str, dict[Any, dict[str, Any]]]


def ledger_snapshot(session: Session) -> Snapshot:
    """Every ledger row, by table and primary key, with comparable values."""
    snapshot: Snapshot = {}
    for model in LEDGER_TABLES:
        table = model.__tablename__
        key_columns = [c.name for c in inspect(model).primary_key]
        rows = {}
        for row in session.exec(select(model)):
            data = row.model_dump()
            data.pop("updated_at", None)
            rows[tuple(data[k] for k in key_columns)] = data
        snapshot[str(table)] = rows
    return snapshot


def changed_tables(before: Snapshot, after: Snapshot) -> dict[str, dict[str, int]]:
    changes: dict[str, dict[str, int]] = {}
    for table, rows_after in after.items():
        rows_before = before.get(table, {})
        added = len(set(rows_after) - set(rows_before))
        removed = len(set(rows_before) - set(rows_after))
        modified = sum(
            1 for k in set(rows_after) & set(rows_before) if rows_after[k] != rows_before[k]
        )
        if added or removed or modified:
            changes[table] = {"added": added, "removed": removed, "modified": modified}
    return changes


def check_turn(turn: Turn, reply: str, index: int) -> list[str]:
    failures = []
    lowered = reply.lower()
    for needle in turn.reply_includes:
        if needle.lower() not in lowered:
            failures.append(f"turn {index + 1}: reply lacks {needle!r}")
    if turn.reply_includes_any and not any(n.lower() in lowered for n in turn.reply_includes_any):
        failures.append(f"turn {index + 1}: reply has none of {turn.reply_includes_any!r}")
    for needle in turn.reply_excludes:
        if needle.lower() in lowered:
            failures.append(f"turn {index + 1}: reply contains {needle!r}")
    return failures


def _matches(record: dict[str, Any], row: dict[str, Any]) -> bool:
    for name, expected in record.items():
        actual = row.get(name)
        if isinstance(expected, Decimal):
            if actual is None or Decimal(str(actual)).quantize(Decimal("0.01")) != expected:
                return False
        elif isinstance(expected, date):
            if actual != expected:
                return False
        elif actual != expected:
            return False
    return True


def _records_of(session: Session, kind: str) -> list[dict[str, Any]]:
    model: type[SQLModel] = RECORD_TABLES[kind][0]
    return [row.model_dump() for row in session.exec(select(model))]


def check_expectations(
    expect: Expect,
    *,
    session: Session,
    before: Snapshot,
    after: Snapshot,
    verified: bool,
    escalations: list[tuple[str, str]],
    replies: Iterable[str],
) -> list[str]:
    failures: list[str] = []
    if expect.verified is not None and verified != expect.verified:
        failures.append(f"verified is {verified}, expected {expect.verified}")
    escalated = bool(escalations)
    wanted = expect.expects_escalation
    if wanted is not None and escalated != wanted:
        failures.append(
            f"escalated is {escalated}, expected {wanted}"
            + (f" ({escalations[0][0]})" if escalations else "")
        )
    if escalations and expect.escalation_reason and escalations[0][0] != expect.escalation_reason:
        failures.append(
            f"escalation reason is {escalations[0][0]}, expected {expect.escalation_reason}"
        )
    if (
        escalations
        and expect.escalation_priority
        and escalations[0][1] != expect.escalation_priority
    ):
        failures.append(
            f"escalation priority is {escalations[0][1]}, expected {expect.escalation_priority}"
        )

    changes = changed_tables(before, after)
    for kind, records in expect.ledger.items():
        table = str(RECORD_TABLES[kind][0].__tablename__)
        created = changes.get(table, {})
        if not records:
            if created.get("added"):
                failures.append(f"ledger: {kind} expected none, {created['added']} created")
            continue
        rows = _records_of(session, kind)
        new_keys = set(after.get(table, {})) - set(before.get(table, {}))
        changed_keys = {
            k
            for k in set(after.get(table, {})) & set(before.get(table, {}))
            if after[table][k] != before[table][k]
        }
        candidates = [after[table][k] for k in new_keys | changed_keys] or rows
        for record in records:
            if not any(_matches(record, row) for row in candidates):
                shown = ", ".join(f"{k}={v}" for k, v in record.items())
                failures.append(f"ledger: no {kind} record with {shown}")
    if expect.ledger_unchanged:
        allowed: set[str] = set()
        for kind, records in expect.ledger.items():
            if records:
                allowed.update(RECORD_TABLES[kind][1])
        for table, change in sorted(changes.items()):
            if table not in allowed:
                failures.append(f"ledger changed: {table} {change}")
        for kind, records in expect.ledger.items():
            table = str(RECORD_TABLES[kind][0].__tablename__)
            added = changes.get(table, {}).get("added", 0)
            if records and added > len(records):
                failures.append(f"ledger: {added} {kind} created, {len(records)} expected")
    all_text = "\n".join(replies).lower()
    for needle in expect.never_said:
        if needle.lower() in all_text:
            failures.append(f"said {needle!r}")
    return failures
