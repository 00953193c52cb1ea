"""Transcript plumbing shared by the customer's turn and staff actions: messages with
their sequence numbers, conversation events, state transitions and the audit buffer
(chained and flushed into the audit log at commit)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage
from sqlmodel import Session, col, select

from agent.audit.log import append_events
from agent.conversation.models import Conversation, ConversationEvent, Message, StaffUser
from agent.conversation.results import TurnOutcome, outgoing
from agent.conversation.state import ConversationState, check_transition

AuditEntry = tuple[str, str, dict[str, Any], str | None]  # kind, actor, payload, conversation


class Transcript:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    # --- messages ----------------------------------------------------------------------

    @staticmethod
    def last_seq(session: Session, conversation_id: str) -> int:
        """The highest stored seq; read once per transaction, then kept by :meth:`store`."""
        key = f"last_seq:{conversation_id}"
        if key not in session.info:
            last = session.exec(
                select(Message.seq)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq).desc())
                .limit(1)
            ).first()
            session.info[key] = int(last or 0)
        return int(session.info[key])

    @staticmethod
    def forget_seq(session: Session, conversation_id: str) -> None:
        session.info.pop(f"last_seq:{conversation_id}", None)

    def store(
        self,
        session: Session,
        conv: Conversation,
        role: str,
        content: str,
        *,
        author: str | None = None,
        client_message_id: str | None = None,
        ai_drafted: bool = False,
    ) -> Message:
        seq = self.last_seq(session, conv.id) + 1
        message = Message(
            conversation_id=conv.id,
            seq=seq,
            role=role,
            author=author,
            content=content,
            client_message_id=client_message_id,
            ai_drafted=ai_drafted,
            created_at=self.clock(),
        )
        session.add(message)
        session.flush()
        session.info[f"last_seq:{conv.id}"] = seq
        return message

    def touch(self, session: Session, conv: Conversation) -> None:
        conv.updated_at = self.clock()
        session.add(conv)

    @staticmethod
    def duplicate(
        session: Session, conv: Conversation, client_message_id: str
    ) -> TurnOutcome | None:
        original = session.exec(
            select(Message).where(
                Message.conversation_id == conv.id, Message.client_message_id == client_message_id
            )
        ).first()
        if original is None:
            return None
        following = session.exec(
            select(Message)
            .where(
                Message.conversation_id == conv.id,
                Message.seq > original.seq,
                col(Message.role).in_(["assistant", "system"]),
            )
            .order_by(col(Message.seq))
        ).all()
        replies = []
        for m in following:
            replies.append(outgoing(m))
            if m.role == "assistant":
                break
        return TurnOutcome(
            conv.id, conv.state, customer_seq=original.seq, replies=replies, duplicate=True
        )

    # --- events and transitions ----------------------------------------------------------

    def event(
        self,
        session: Session,
        conv: Conversation,
        kind: str,
        from_state: str | None = None,
        to_state: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            ConversationEvent(
                conversation_id=conv.id,
                kind=kind,
                from_state=from_state,
                to_state=to_state,
                data=data or {},
                created_at=self.clock(),
            )
        )

    def transition(
        self,
        session: Session,
        conv: Conversation,
        target: ConversationState,
        staff: StaffUser | None = None,
        **data: Any,
    ) -> None:
        source = ConversationState(conv.state)
        check_transition(source, target)
        conv.state = target.value
        self.record_transition(session, conv, source, target, staff=staff, **data)

    def record_transition(
        self,
        session: Session,
        conv: Conversation,
        source: ConversationState,
        target: ConversationState,
        staff: StaffUser | None = None,
        **data: Any,
    ) -> None:
        actor = f"staff:{staff.username}" if staff else "system"
        self.event(
            session, conv, "state_changed", source.value, target.value, {**data, "actor": actor}
        )
        self.audit(
            session,
            conv.id,
            "state_changed",
            actor,
            {"from": source.value, "to": target.value, **data},
        )
        self.touch(session, conv)

    # --- audit -------------------------------------------------------------------------

    @staticmethod
    def audit(
        session: Session,
        conversation_id: str | None,
        kind: str,
        actor: str,
        payload: dict[str, Any],
    ) -> None:
        """Buffer an audit event; the buffer is chained and flushed before each commit."""
        session.info.setdefault("audit_buffer", []).append((kind, actor, payload, conversation_id))

    @staticmethod
    def audit_all(session: Session, entries: list[AuditEntry]) -> None:
        session.info.setdefault("audit_buffer", []).extend(entries)

    @staticmethod
    def commit(session: Session) -> None:
        append_events(session, session.info.pop("audit_buffer", []))
        session.commit()


def guardrail_entry(conversation_id: str, verdict: str, **data: Any) -> AuditEntry:
    return (
        "guardrail",
        "guardrail",
        {"stage": "input", "verdict": verdict, **data},
        conversation_id,
    )


def tool_result_entries(conversation_id: str, messages: list[BaseMessage]) -> list[AuditEntry]:
    return [
        (
            "tool_result",
            "tool",
            {"tool": m.name, "call_id": m.tool_call_id, "result": str(m.content)[:4000]},
            conversation_id,
        )
        for m in messages
        if isinstance(m, ToolMessage)
    ]
