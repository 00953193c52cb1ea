"""The reply suite on the LLM path: an eager model over real HTTP cannot write without
a plain yes.

The scripted OpenAI-compatible model proposes the change, and then, whatever the
customer answers, calls the write tool again with ``confirm=true`` (a model that takes
every reply for a yes). The tools' gate decides with the same rule as the offline
engine: only a plain yes writes; anything else is refused with a structured error the
model can act on (``answer``, ``still_pending``), and a proposal that is kept is written
exactly by a later plain "yes"; a withdrawn one (no, other terms) is not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.engine import session_facts
from tests.confirmation.reply_suite import CASES, ReplyCase, only_record, written
from tests.llm.harness import HarnessFactory
from tests.llm.scripted_openai import ReceivedRequest, ScriptedOpenAI, call, reply, tool_calls


def last_tool_result(request: ReceivedRequest) -> dict[str, Any]:
    return json.loads(request.tool_results[-1]["content"])


def pending_told(request: ReceivedRequest) -> dict[str, Any]:
    """The proposals the model is told are waiting for a yes (its session facts)."""
    return session_facts.parse(request.system_prompt)["pending_confirmations"]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_eager_model_writes_only_after_a_plain_yes(
    case: ReplyCase, make_harness: HarnessFactory, server: ScriptedOpenAI
) -> None:
    proposal = case.proposal
    confirm = call(proposal.tool, **proposal.args, confirm=True)
    server.script(
        tool_calls(call(proposal.tool, **proposal.args, confirm=False)),
        reply("Shall I set that up?"),
        tool_calls(confirm),  # whatever the customer said
        reply("Okay."),
    )
    h = make_harness(llm_streaming=False)
    h.start("C100", verified=True)
    h.say(proposal.ask)
    h.say(case.reply)

    result = last_tool_result(server.requests[3])
    if case.writes:
        assert result["status"] == "ok" and result["recorded"] is True, result
        assert only_record(h.db, proposal.record_kind, proposal.record), written(h.db)
        assert server.overrun == 0 and server.rejected == []
        return
    assert result["status"] == "refused" and result["error"] == "confirmation_required", result
    assert result["answer"] == case.kind, result
    assert result["still_pending"] is case.keeps
    assert written(h.db) == {}

    server.script(tool_calls(confirm), reply("Okay."))
    h.say("yes")

    told = pending_told(server.requests[4])
    after = last_tool_result(server.requests[5])
    if case.keeps:
        assert [entry["args"] for entry in told.values()] == [proposal.args]
        assert after["status"] == "ok" and after["recorded"] is True, after
        assert only_record(h.db, proposal.record_kind, proposal.record), written(h.db)
    else:
        assert told == {}  # withdrawn: nothing waits for a yes any more
        assert after["status"] == "refused", after
        assert written(h.db) == {}
    assert server.overrun == 0 and server.rejected == []


def test_a_yes_to_other_terms_than_those_shown_is_refused(
    make_harness: HarnessFactory, server: ScriptedOpenAI
) -> None:
    """The customer says "yes" to the 20th; the model confirms the 15th: no write."""
    server.script(
        tool_calls(call("change_due_date", day_of_month=20, confirm=False)),
        reply("Shall I set that up?"),
        tool_calls(call("change_due_date", day_of_month=15, confirm=True)),
        reply("Okay."),
    )
    h = make_harness(llm_streaming=False)
    h.start("C100", verified=True)
    h.say("Can I change my due date to the 20th?")
    h.say("yes")

    result = last_tool_result(server.requests[3])
    assert result["status"] == "refused" and result["error"] == "confirmation_required"
    assert "different terms" in result["message"]
    assert written(h.db) == {}


def test_the_refusal_tells_the_model_what_the_customer_did(
    make_harness: HarnessFactory, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("change_due_date", day_of_month=20, confirm=False)),
        reply("Shall I set that up?"),
        tool_calls(call("change_due_date", day_of_month=20, confirm=True)),
        reply("Okay."),
    )
    h = make_harness(llm_streaming=False)
    h.start("C100", verified=True)
    h.say("Can I change my due date to the 20th?")
    h.say("yes but make it the 15th")

    result = last_tool_result(server.requests[3])
    assert result["answer"] == "changed"
    assert result["new_values"] == {"day_of_month": "15"}
    assert result["still_pending"] is False
    assert "confirm=false" in result["message"]
