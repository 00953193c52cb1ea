"""The proposal a conversation's last reply asks a yes for, as the widget's Yes / No buttons
show it: its id (what a ``confirm`` frame names) and a short summary."""

from __future__ import annotations

from agent.conversation.models import Conversation
from agent.conversation.state import ConversationState
from agent.engine.templates import Templates
from agent.policy.formatting import ordinal
from agent.tools.ledger_tools import proposals_shown


def proposal_card(templates: Templates, conv: Conversation) -> dict[str, str] | None:
    if conv.state != ConversationState.AI:
        return None
    shown = proposals_shown(conv.dialogue or {}, conv.customer_message_count)
    if len(shown) != 1:
        return None
    key, entry = next(iter(shown.items()))
    values = {k: v for k, v in entry.items() if isinstance(v, str | int)}
    if "day_of_month" in values:
        values["day_ordinal"] = ordinal(int(values["day_of_month"]))
    try:
        summary = templates.render(f"proposal_summary.{key.split(':', 1)[0]}", **values)
    except (KeyError, ValueError):
        return None
    return {"id": str(entry["id"]), "summary": summary}
