"""The reply suite (replies.yaml) as typed cases, and what the ledger holds after one.

Both engines' suite tests (test_replies_offline.py, test_replies_llm.py) run every case
on the ledger and clock of tests/llm/harness.py; this module reads the data file (a bad
file fails loudly, naming the case) and reads back the writes a conversation made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.ledger.models import RECORD_TABLES

SUITE = Path(__file__).with_name("replies.yaml")
WRITES = ("promises_to_pay", "due_date_changes", "deferrals", "fee_waivers")
# The answers of agent/language/confirmation.py (plain strings here, so that the suite
# also runs against code without that module), and those that keep a proposal waiting.
KINDS = ("yes", "no", "question", "conditional", "hedged", "changed", "unclear")
KEEPS = frozenset({"question", "conditional", "hedged", "unclear"})


@dataclass(frozen=True)
class ProposalSpec:
    name: str
    ask: str  # what the customer says to get it proposed
    tool: str
    args: dict[str, Any]  # the tool arguments of the proposal
    record_kind: str  # which RECORD_TABLES kind a yes writes
    record: dict[str, Any]  # the fields of that record
    shows: str  # what the offline engine's proposal says (it is shown again when kept)


@dataclass(frozen=True)
class ReplyCase:
    reply: str
    kind: str  # one of KINDS
    proposal: ProposalSpec
    then: dict[str, Any] | None  # changed: what the offline engine proposes instead

    @property
    def writes(self) -> bool:
        return self.kind == "yes"

    @property
    def keeps(self) -> bool:
        """Nothing written, and the same proposal still waits for a yes."""
        return self.kind in KEEPS

    def args_after(self) -> dict[str, Any]:
        """The tool arguments of the proposal the offline engine shows after this reply
        (changed: the new terms, or the same proposal again)."""
        return {**self.proposal.args, **(self.then or {})}

    def record_after_yes(self) -> dict[str, Any]:
        """What the offline engine writes on a plain "yes" after this reply."""
        then = self.then or {}
        return {k: then.get(k, v) for k, v in self.proposal.record.items()}

    def __str__(self) -> str:
        return f"{self.proposal.name}:{self.reply}"


def load_suite(path: Path = SUITE) -> list[ReplyCase]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    proposals: dict[str, ProposalSpec] = {}
    for name, raw in data["proposals"].items():
        (kind, record), *rest = raw["record"].items()
        assert not rest and kind in WRITES, f"proposals.{name}.record"
        proposals[name] = ProposalSpec(
            name, raw["ask"], raw["tool"], dict(raw["args"]), kind, dict(record), raw["shows"]
        )
    cases = []
    for index, raw in enumerate(data["replies"]):
        where = f"replies[{index}] ({raw.get('reply')!r})"
        assert set(raw) <= {"reply", "kind", "proposal", "then"}, f"{where}: unknown field"
        assert isinstance(raw.get("reply"), str) and raw["reply"], f"{where}: reply"
        kind = raw["kind"]
        assert kind in KINDS, f"{where}: kind {kind!r}"  # a typo is an error, not a case
        then = raw.get("then")
        assert then is None or kind == "changed", f"{where}: `then` only with changed"
        cases.append(
            ReplyCase(raw["reply"], kind, proposals[raw.get("proposal", "due_date")], then)
        )
    return cases


CASES = load_suite()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def shown_proposals(dialogue: dict[str, Any] | None, turn: int) -> dict[str, dict[str, Any]]:
    """The proposals the reply to ``turn`` showed, as the conversation's JSON records them
    (made in that turn, or kept waiting in it: ``kept``)."""
    pending = (dialogue or {}).get("pending", {})
    return {
        key: entry
        for key, entry in pending.items()
        if max(entry.get("turn", 0), entry.get("kept", 0)) == turn
    }


def written(db: Engine) -> dict[str, list[dict[str, Any]]]:
    """The servicing records in the ledger (write kinds that have any), as plain values."""
    found: dict[str, list[dict[str, Any]]] = {}
    with Session(db) as session:
        for kind in WRITES:
            rows = [row.model_dump() for row in session.exec(select(RECORD_TABLES[kind][0]))]
            if rows:
                found[kind] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return found


def only_record(db: Engine, kind: str, fields: dict[str, Any]) -> bool:
    """The ledger holds exactly one servicing record, of ``kind``, with these fields."""
    records = written(db)
    if list(records) != [kind] or len(records[kind]) != 1:
        return False
    row = records[kind][0]
    return all(row.get(name) == _plain(value) for name, value in fields.items())
