"""The reply suite on the offline engine, end to end through the conversation service.

For every reply in replies.yaml: Maria asks for the change, the engine proposes it, she
answers. A plain yes writes exactly the proposal; anything else writes nothing, and the
proposal is still pending (shown again: a following plain "yes" writes exactly it), or
withdrawn after a no, or replaced by the new terms she named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agent.conversation.service import ConversationError, ConversationService
from agent.db.engine import create_db_engine, create_schema
from agent.language.detect import detect_language
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import Engines, build_service
from tests.confirmation.reply_suite import (
    CASES,
    KINDS,
    ReplyCase,
    only_record,
    shown_proposals,
    written,
)
from tests.llm.harness import LEDGER, NOW


def seeded(db: Engine) -> Engine:
    with Session(db) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
    return db


@pytest.fixture
def sqlite_db() -> Iterator[Engine]:
    db = create_db_engine("sqlite://")
    create_schema(db)
    yield seeded(db)
    db.dispose()


class Maria:
    """A verified conversation of Maria's on the offline engine."""

    def __init__(self, engines: Engines, db: Engine) -> None:
        self.service: ConversationService = build_service(engines, db, clock=lambda: NOW)
        self.id = self.service.start(channel="api", customer_id="C100", verified=True).id

    def say(self, text: str) -> str:
        return self.service.customer_message(self.id, text).reply_text

    def shown(self) -> dict[str, Any] | None:
        """The proposal the last reply showed, as the tools recorded it (None: none)."""
        conv = self.service.get(self.id)
        shown = shown_proposals(conv.dialogue, conv.customer_message_count)
        assert len(shown) <= 1, shown
        return next(iter(shown.values())) if shown else None

    def waiting(self) -> dict[str, Any] | None:
        """The tool arguments of the proposal the last reply showed (None: nothing waits)."""
        shown = self.shown()
        return shown["args"] if shown else None


def run_case(case: ReplyCase, engines: Engines, db: Engine) -> None:
    maria = Maria(engines, db)
    proposal = case.proposal
    first = maria.say(proposal.ask)
    assert proposal.shows in first, first
    assert maria.waiting() == proposal.args

    reply = maria.say(case.reply)

    if case.writes:
        assert only_record(db, proposal.record_kind, proposal.record), written(db)
        assert maria.waiting() is None
        return
    assert written(db) == {}, f"{case.reply!r} wrote: {reply}"
    if case.kind == "no":
        assert maria.waiting() is None, reply
    else:
        # Kept (or, with other terms, proposed anew): the reply shows it again.
        assert maria.waiting() == case.args_after(), reply
        if case.keeps and detect_language(case.reply) == "en":
            assert proposal.shows in reply, reply
        elif case.keeps:
            # "是的" to an English proposal: the conversation now speaks Chinese, and the
            # same proposal is asked again in it (a yes counts in the language it was shown).
            assert "L100" in reply and proposal.shows not in reply, reply

    after_yes = maria.say("yes")

    if case.kind == "no":
        assert written(db) == {}, after_yes
    else:
        assert only_record(db, proposal.record_kind, case.record_after_yes()), after_yes


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_reply_to_a_proposal(case: ReplyCase, engines: Engines, sqlite_db: Engine) -> None:
    run_case(case, engines, sqlite_db)


def test_the_suite_covers_every_kind_of_reply() -> None:
    counts = {kind: sum(case.kind == kind for case in CASES) for kind in KINDS}
    assert len(CASES) >= 100
    assert all(count >= 8 for count in counts.values()), counts


# One reply of each kind on both databases: the pending proposal (kept, withdrawn or
# replaced) lives in the conversation's JSON between turns.
ONE_OF_EACH = [next(case for case in CASES if case.kind == kind) for kind in KINDS]


@pytest.mark.parametrize("case", ONE_OF_EACH, ids=str)
def test_each_kind_of_reply_on_both_databases(
    case: ReplyCase, engines: Engines, db_engine: Engine
) -> None:
    run_case(case, engines, seeded(db_engine))


def test_the_yes_button_is_exact_on_both_databases(engines: Engines, db_engine: Engine) -> None:
    maria = Maria(engines, seeded(db_engine))
    maria.say("Can I change my due date to the 20th?")
    shown = maria.shown()
    assert shown is not None
    service = maria.service
    before = len(service.transcript(maria.id))

    with pytest.raises(ConversationError) as stale:
        service.customer_message(maria.id, "Yes", "c1", confirms="0123456789abcdef")
    assert stale.value.code == "stale_proposal"
    assert len(service.transcript(maria.id)) == before and written(db_engine) == {}

    service.customer_message(maria.id, "Yes", "c2", confirms=shown["id"])
    assert only_record(db_engine, "due_date_changes", {"loan_id": "L100", "day_of_month": 20})
    assert [m.content for m in service.transcript(maria.id)][-2] == "Yes"


@pytest.mark.parametrize(
    ("reply", "hands_over"),
    [("yes please", True), ("yes? who would I talk to?", False), ("yes but not now", False)],
)
def test_only_a_plain_yes_accepts_the_offer_of_a_person(
    engines: Engines, sqlite_db: Engine, reply: str, hands_over: bool
) -> None:
    """A very long conversation ends with the offer of a person (the service's own
    reading of the yes: the same rule)."""
    settings = engines.settings.model_copy(update={"max_customer_messages_per_conversation": 1})
    maria = Maria(dataclasses.replace(engines, settings=settings), sqlite_db)
    maria.say("hi")
    offer = maria.say("hello again")  # over the limit: a person is offered
    assert "connect you with a person" in offer
    maria.say(reply)
    assert (maria.service.get(maria.id).state == "queued") is hands_over
