"""Text that cannot be stored never gets past the service's entry points, whoever calls
them (the sockets, the staff API, the terminal chat), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from agent.audit.log import verify_chain
from agent.audit.models import AuditEvent
from agent.conversation.models import Conversation, Message
from agent.conversation.service import ConversationError


def test_the_customer_entry_point_cleans_before_storing_or_answering(service, db_engine) -> None:
    conv = service.start()
    outcome = service.customer_message(conv.id, "hi\x00 there\ud800, what's my \x1bbalance?", "c-1")
    assert outcome.replies  # a normal turn with a normal answer
    again = service.customer_message(conv.id, "hi\x00 there\ud800, what's my \x1bbalance?", "c-1")
    assert again.duplicate
    with pytest.raises(ConversationError) as empty:
        service.customer_message(conv.id, "\x00\x07")
    assert empty.value.code == "empty_message"
    with Session(db_engine) as session:
        stored = session.exec(
            select(Message.content).where(
                Message.conversation_id == conv.id, Message.role == "customer"
            )
        ).all()
        assert verify_chain(session).ok
        audited = [e.payload for e in session.exec(select(AuditEvent))]
    assert stored == ["hi there\ufffd, what's my balance?"]
    assert all("\x00" not in str(p) and "\ud800" not in str(p) for p in audited)


def test_staff_text_and_rating_comments_are_cleaned(service, staff, db_engine) -> None:
    conv = service.start()
    service.customer_message(conv.id, "I want to speak to a real person")
    service.claim(conv.id, staff["alex"])
    message = service.staff_message(conv.id, staff["alex"], "On it\x00 \ud800\r\nAlex")
    assert message.content == "On it \ufffd\nAlex"
    with pytest.raises(ConversationError):
        service.staff_message(conv.id, staff["alex"], "\x00")
    service.close(conv.id, staff["alex"], "resolved")
    service.rate(conv.id, 5, "great\x00\ud800")
    with Session(db_engine) as session:
        row = session.get(Conversation, conv.id)
        assert row is not None and row.rating_comment == "great\ufffd"
        contents = session.exec(select(Message.content)).all()
    assert all("\x00" not in c and "\ud800" not in c and "\r" not in c for c in contents)
