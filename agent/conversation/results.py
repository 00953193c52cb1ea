"""What the conversation service answers: its errors, the transcript entries it
hands out, and the outcome of a customer's turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.conversation.models import Message


class ConversationError(ValueError):
    """A request the conversation cannot take (closed, not yours, unknown...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class OutgoingMessage:
    seq: int
    role: str
    author: str | None
    content: str
    created_at: datetime
    ai_drafted: bool = False
    client_message_id: str | None = None  # the customer's own id (not in as_dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "role": self.role,
            "author": self.author,
            "content": self.content,
            "created_at": self.created_at.isoformat(),
            "ai_drafted": self.ai_drafted,
        }


@dataclass
class TurnOutcome:
    conversation_id: str
    state: str
    customer_seq: int | None = None
    customer: OutgoingMessage | None = None  # the stored customer message (not on duplicates)
    replies: list[OutgoingMessage] = field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None
    escalation_priority: str | None = None
    duplicate: bool = False
    # The Yes / No card of the last reply, when it asks a yes (agent.conversation.proposals).
    proposal: dict[str, str] | None = None
    # The conversation's language after the turn ("en", "zh", "es"; not on duplicates).
    language: str | None = None

    @property
    def reply_text(self) -> str:
        return "\n".join(r.content for r in self.replies)


def outgoing(message: Message) -> OutgoingMessage:
    return OutgoingMessage(
        message.seq,
        message.role,
        message.author,
        message.content,
        message.created_at,
        message.ai_drafted,
        message.client_message_id,
    )
