"""Streaming over real HTTP: the scripted endpoint streams its answers word by word, the
conversation service publishes reply drafts, and no draft ever holds text the output
guardrails stop. (The ledger and people are those of conftest.py: Maria owes $165.00
past due on L100.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from agent.ledger.models import PaymentLink
from tests.llm.harness import HarnessFactory, LLMHarness
from tests.llm.scripted_openai import ScriptedOpenAI, call, raw_call, reply, tool_calls

SUMMARY = call("get_account_summary")


@pytest.fixture
def streamed(make_harness: HarnessFactory) -> LLMHarness:
    return make_harness(llm_streaming=True)


def record_drafts(h: LLMHarness) -> list[dict[str, Any]]:
    """Every reply_draft event the service publishes, in order."""
    drafts: list[dict[str, Any]] = []
    publish = h.service.broker.publish

    def recording(channel: str, event: dict[str, Any]) -> None:
        if event.get("type") == "reply_draft":
            assert channel == f"conversation:{event['conversation_id']}"
            drafts.append(event)
        publish(channel, event)

    h.service.broker.publish = recording  # type: ignore[method-assign]
    return drafts


def shown(drafts: list[dict[str, Any]]) -> list[str]:
    return [d["text"] for d in drafts]


def test_a_reply_is_drafted_sentence_by_sentence_before_it_is_stored(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script(
        tool_calls(SUMMARY),
        reply(
            "Your past-due amount is $165.00. Your next payment of $150.00 is due "
            "March 15, 2026. Can I help with anything else?"
        ),
    )
    streamed.start("C100", verified=True)
    outcome = streamed.say("what do I owe?")

    final = outcome.reply_text
    texts = shown(drafts)
    assert len(texts) == 3  # one draft a sentence, each the whole reply so far
    assert all(final.startswith(text) for text in texts)
    assert texts[0].endswith("Your past-due amount is $165.00.")
    assert texts[0].startswith(streamed.templates.render("disclosure"))  # as the reply will
    assert texts[-1] == final
    customer_seq = outcome.customer_seq
    assert {d["reply_to"] for d in drafts} == {customer_seq}
    assert len(server.requests) == 2 and all(r.body["stream"] for r in server.requests)


def test_a_sentence_the_guard_stops_is_never_drafted(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script(
        tool_calls(SUMMARY),
        reply("Thanks for waiting. You owe $200.00 today. Anything else?"),
        reply("Your past-due amount is $165.00."),
    )
    streamed.start("C100", verified=True)
    outcome = streamed.say("how much is past due?")

    texts = shown(drafts)
    assert not any("$200.00" in text for text in texts)
    # The clean first sentence was shown, then withdrawn ("") for the regenerated reply.
    assert texts[0].endswith("Thanks for waiting.") and texts[1] == ""
    assert texts[-1] == outcome.reply_text
    assert outcome.reply_text.endswith("Your past-due amount is $165.00.")


def test_nothing_about_the_account_is_drafted_before_verification(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script(
        reply("Your past-due amount is $165.00 on loan L100."),
        reply("Your past-due amount is $165.00 on loan L100."),
    )
    streamed.start("C100", verified=False)
    outcome = streamed.say("how much do I owe?")

    assert outcome.reply_text.endswith(streamed.safe_reply())
    assert not any("165" in text or "L100" in text for text in shown(drafts))


def test_words_before_a_tool_call_are_withdrawn(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script(
        tool_calls(SUMMARY, content="Let me look that up for you. "),
        reply("Your past-due amount is $165.00."),
    )
    streamed.start("C100", verified=True)
    outcome = streamed.say("what's past due?")

    texts = shown(drafts)
    assert texts[0].endswith("Let me look that up for you.") and texts[1] == ""
    assert texts[-1] == outcome.reply_text
    assert "Let me look that up" not in outcome.reply_text


def test_a_model_that_dies_mid_answer_withdraws_its_draft(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script(
        tool_calls(SUMMARY),
        reply("Thanks for your patience. Your past-due amount is coming", break_after_tokens=6),
    )
    streamed.start("C100", verified=True)
    outcome = streamed.say("what's past due?")

    texts = shown(drafts)
    assert texts[0].endswith("Thanks for your patience.") and texts[1] == ""
    assert "Thanks for your patience" not in outcome.reply_text
    assert "$165.00" in outcome.reply_text  # the offline engine answered from the ledger
    assert [p["scope"] for p in (e.payload for e in streamed.audit("model_fallback"))] == [
        "rest_of_turn"
    ]


def test_the_offline_engine_publishes_no_drafts(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(streamed)
    server.script()  # every call fails: the offline engine answers the whole turn
    streamed.start("C100", verified=True)
    outcome = streamed.say("what's past due?")
    assert "$165.00" in outcome.reply_text
    assert drafts == []


def test_streamed_arguments_cut_off_mid_json_never_run(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    # A lenient partial-JSON reading would make this {"loan_id": "L100", "amount":
    # "165.00"}: a write the model never finished asking for.
    cut = raw_call("create_payment_link", '{"loan_id": "L100", "amount": "165.00", "confi')
    server.script(tool_calls(cut), tool_calls(cut), reply("Is there anything else?"))
    streamed.start("C100", verified=True)
    streamed.say("send me a link to pay $165")

    with Session(streamed.db) as session:
        assert list(session.exec(select(PaymentLink))) == []
    checks = [e.payload for e in streamed.audit("guardrail") if e.payload["stage"] == "tool_call"]
    assert [c["verdict"] for c in checks] == ["regenerate", "dropped"]
    assert "not valid JSON" in checks[0]["invalid_tool_calls"]


def test_a_streamed_write_with_complete_arguments_runs_once(
    streamed: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("create_payment_link", loan_id="L100", amount="165.00")),
        reply("Here is your secure payment link."),
    )
    streamed.start("C100", verified=True)
    streamed.say("send me a link to pay $165")
    with Session(streamed.db) as session:
        links = list(session.exec(select(PaymentLink)))
    assert [(link.loan_id, link.amount) for link in links] == [("L100", Decimal("165.00"))]
