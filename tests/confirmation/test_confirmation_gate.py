"""The tools' confirmation gate (agent/tools/ledger_tools.py), whatever the model says.

A write needs its proposal made in an earlier turn and a plain yes to exactly it in
this turn (or the widget's Yes for its id). A reply that asks, hesitates or sets a
condition keeps the proposal waiting one more turn; a no or other terms withdraw it.
Runs on SQLite and PostgreSQL (the pending proposal is conversation JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agent.ledger.loader import parse_ledger, write_ledger
from agent.policy.config import PolicyConfig
from agent.tools import ledger_tools as lt
from agent.tools.context import ConversationContext
from tests.confirmation.reply_suite import shown_proposals, written
from tests.llm.harness import LEDGER, NOW


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
        yield session


class Turns:
    """One conversation's tool context, turn by turn, its dialogue kept between turns."""

    def __init__(self, session: Session, policy: PolicyConfig) -> None:
        self.session, self.policy = session, policy
        self.dialogue: dict[str, Any] = {}
        self.turn = 0

    def next(self, text: str, confirming: str | None = None) -> ConversationContext:
        self.turn += 1
        # As the conversation service does: only what the last reply showed still waits.
        self.dialogue = {
            **self.dialogue,
            "pending": lt.proposals_shown(self.dialogue, self.turn - 1),
        }
        return ConversationContext(
            conversation_id="conv-gate",
            session=self.session,
            policy=self.policy,
            now=NOW.astimezone(ZoneInfo("America/Chicago")),
            customer_id="C100",
            verified=True,
            turn=self.turn,
            customer_text=text,
            confirming=confirming,
            dialogue=self.dialogue,
        )


def change(ctx: ConversationContext, day: int = 20, confirm: bool = False) -> dict[str, Any]:
    result = json.loads(lt.change_due_date(ctx, day, None, confirm))
    ctx.session.commit()  # as the service does at the end of a turn
    return result


@pytest.fixture
def turns(session: Session, policy: PolicyConfig) -> Turns:
    return Turns(session, policy)


def test_a_question_keeps_the_proposal_for_the_next_yes(turns: Turns, db_engine: Engine) -> None:
    proposed = change(turns.next("can I move my due date to the 20th"))
    assert proposed["needs_confirmation"] is True

    refused = change(turns.next("ok but how much is it?"), confirm=True)
    assert refused["error"] == "confirmation_required" and refused["answer"] == "question"
    assert refused["still_pending"] is True
    assert list(shown_proposals(turns.dialogue, turns.turn)) == ["due_date_change:L100:20"]

    done = change(turns.next("yes"), confirm=True)
    assert done["recorded"] is True and done["day_of_month"] == 20
    assert [r["day_of_month"] for r in written(db_engine)["due_date_changes"]] == [20]


@pytest.mark.parametrize("reply", ["no", "yes but the 15th"])
def test_a_no_or_other_terms_withdraw_it(turns: Turns, db_engine: Engine, reply: str) -> None:
    change(turns.next("can I move my due date to the 20th"))
    refused = change(turns.next(reply), confirm=True)
    assert refused["still_pending"] is False
    assert shown_proposals(turns.dialogue, turns.turn) == {}

    after = change(turns.next("yes"), confirm=True)
    assert after["status"] == "refused"
    assert written(db_engine) == {}


def test_kept_only_one_turn_at_a_time(turns: Turns, db_engine: Engine) -> None:
    """A proposal not shown again (the model said something else) expires."""
    change(turns.next("can I move my due date to the 20th"))
    change(turns.next("hmm, what is it exactly?"), confirm=True)  # kept for turn 3
    turns.next("what's my balance?")  # the model only answered: not shown again
    assert change(turns.next("yes"), confirm=True)["status"] == "refused"
    assert written(db_engine) == {}


def test_the_yes_button_confirms_only_its_own_proposal(turns: Turns, db_engine: Engine) -> None:
    mine = change(turns.next("can I move my due date to the 20th"))["proposal_id"]
    other = change(turns.next("the 15th then?"), day=15)["proposal_id"]
    assert other != mine  # an id names the terms
    refused = change(turns.next("Yes", confirming=mine), day=15, confirm=True)
    assert refused["error"] == "confirmation_required" and "another proposal" in refused["message"]
    assert written(db_engine) == {}

    turns.turn -= 1  # the same turn again, the right button this time
    assert change(turns.next("Yes", confirming=other), day=15, confirm=True)["recorded"] is True


def test_each_decision_is_audited(turns: Turns) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    change(turns.next("can I move my due date to the 20th"))
    ctx = turns.next("sí")
    ctx.audit = lambda kind, payload: events.append((kind, payload))
    change(ctx, confirm=True)
    assert ("confirmation", {"key": "due_date_change:L100:20", "answer": "unclear",
                             "reason": "not a yes in English"}) in events  # fmt: skip
