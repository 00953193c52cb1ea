"""The conversation's language (issue #13): taken from each message, audited, answered in,
and shown to the person who takes over; a yes counts in the language it was asked in."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from agent.audit.models import AuditEvent
from agent.conversation.models import Conversation, Escalation
from agent.ledger.models import Customer, PromiseToPay

HAN = re.compile(r"[\u4e00-\u9fff]")


def _audits(db_engine, conversation_id: str, kind: str) -> list[dict]:
    with Session(db_engine) as session:
        rows = session.exec(
            select(AuditEvent).where(
                AuditEvent.conversation_id == conversation_id, AuditEvent.kind == kind
            )
        ).all()
        return [row.payload for row in rows]


def test_a_chinese_message_switches_the_conversation_and_is_answered_in_chinese(
    service, db_engine
) -> None:
    conv = service.start(customer_id="C100", verified=True)
    english = service.customer_message(conv.id, "what's past due?").reply_text
    assert "$165.00" in english and not HAN.search(english)
    assert service.get(conv.id).language == "en"

    chinese = service.customer_message(conv.id, "逾期了多少钱？").reply_text
    assert "$165.00" in chinese and len(HAN.findall(chinese)) > 10
    assert "2026年3月10日" in chinese  # dates written the local way
    assert service.get(conv.id).language == "zh"
    assert _audits(db_engine, conv.id, "language_changed") == [{"from": "en", "to": "zh"}]

    # "ok" names no language: the conversation stays Chinese.
    service.customer_message(conv.id, "ok")
    assert service.get(conv.id).language == "zh"
    back = service.customer_message(conv.id, "what is my next payment and when is it due?")
    assert service.get(conv.id).language == "en" and not HAN.search(back.reply_text)


def test_the_handoff_packet_and_the_queue_name_the_language(service, db_engine) -> None:
    conv = service.start(customer_id="C100", verified=True)
    outcome = service.customer_message(conv.id, "Perdí mi trabajo y no puedo pagar este mes")
    assert outcome.escalated and outcome.escalation_reason == "hardship"
    assert "español" in outcome.reply_text  # a person who speaks it is looked for
    with Session(db_engine) as session:
        packet = (
            session.exec(select(Escalation).where(Escalation.conversation_id == conv.id))
            .one()
            .packet
        )
    assert packet["language"] == "es"
    assert "The customer writes in Spanish." in packet["summary"]
    assert [item["language"] for item in service.queue()] == ["es"]


def test_the_language_on_file_is_the_first_replys(service, db_engine) -> None:
    with Session(db_engine) as session:
        customer = session.get(Customer, "C100")
        customer.language = "zh"
        session.add(customer)
        session.commit()
    conv = service.start(customer_id="C100", verified=True)
    assert service.get(conv.id).language == "zh"
    reply = service.customer_message(conv.id, "L100").reply_text
    assert "自动助手" in reply and "$150.00" in reply


def _promises(db_engine) -> list[PromiseToPay]:
    with Session(db_engine) as session:
        return list(session.exec(select(PromiseToPay)).all())


def test_a_yes_counts_in_the_language_the_proposal_was_shown_in(service, db_engine) -> None:
    conv = service.start(customer_id="C100", verified=True)
    proposal = service.customer_message(conv.id, "I can pay $165 this Friday").reply_text
    assert "Shall I" in proposal

    # "sí" to an English proposal: nothing is written, it is asked again in Spanish.
    again = service.customer_message(conv.id, "sí").reply_text
    assert _promises(db_engine) == []
    assert "$165.00" in again and "¿" in again

    service.customer_message(conv.id, "sí")
    [promise] = _promises(db_engine)
    assert (promise.loan_id, str(promise.amount)) == ("L100", "165.00")


def test_a_question_in_chinese_after_a_proposal_writes_nothing(service, db_engine) -> None:
    conv = service.start(customer_id="C100", verified=True)
    service.customer_message(conv.id, "我这周五还165美元")
    reply = service.customer_message(conv.id, "会收手续费吗？")
    assert not reply.escalated and _promises(db_engine) == []
    service.customer_message(conv.id, "好的")
    assert len(_promises(db_engine)) == 1
    with Session(db_engine) as session:
        assert session.get(Conversation, conv.id).language == "zh"
