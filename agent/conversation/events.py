"""What the conversation service announces on the broker, for the web layer (and other
server instances): transcript entries, state changes, streamed reply drafts."""

from __future__ import annotations

from dataclasses import dataclass

from agent.conversation.broker import Broker
from agent.conversation.models import Conversation, Message
from agent.conversation.results import OutgoingMessage, TurnOutcome, outgoing


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


QUEUE_CHANNEL = "queue"


class ConversationEvents:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def turn(self, outcome: TurnOutcome) -> None:
        """Announce a committed turn from what it produced (no second read)."""
        if outcome.duplicate:
            return
        for message in [*filter(None, [outcome.customer]), *outcome.replies]:
            self.message(outcome.conversation_id, message)
        if outcome.escalated:
            self.state(
                outcome.conversation_id,
                outcome.state,
                outcome.escalation_reason,
                outcome.escalation_priority,
            )

    def message(self, conversation_id: str, message: Message | OutgoingMessage) -> None:
        entry = outgoing(message) if isinstance(message, Message) else message
        self.broker.publish(
            conversation_channel(conversation_id),
            {"type": "message", "conversation_id": conversation_id, "message": entry.as_dict()},
        )

    def conversation_state(self, conv: Conversation) -> None:
        self.state(conv.id, conv.state, conv.escalation_reason, conv.priority)

    def state(
        self, conversation_id: str, state: str, reason: str | None, priority: str | None
    ) -> None:
        event = {
            "type": "state",
            "conversation_id": conversation_id,
            "state": state,
            "reason": reason,
            "priority": priority,
        }
        self.broker.publish(conversation_channel(conversation_id), event)
        self.broker.publish(QUEUE_CHANNEL, event)


@dataclass
class ReplyDrafts:
    """Publishes the streamed reply drafts of one turn on the conversation's channel.

    ``text`` is the whole draft so far (with what the final reply will put before the
    model's words), so a client that missed one simply shows the next.
    """

    broker: Broker
    conversation_id: str
    reply_to: int
    prefix: str

    def show(self, text: str) -> None:
        self._publish(f"{self.prefix} {text}".strip())

    def withdraw(self) -> None:
        self._publish("")

    def _publish(self, text: str) -> None:
        self.broker.publish(
            conversation_channel(self.conversation_id),
            {
                "type": "reply_draft",
                "conversation_id": self.conversation_id,
                "reply_to": self.reply_to,
                "text": text,
            },
        )
