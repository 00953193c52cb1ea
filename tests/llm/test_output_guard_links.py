"""The output guard for links, phone numbers and amounts in any form, end to end (issue
#11): a model that echoes whatever it was fed, over real HTTP, through the conversation
service. What it writes that is not allowed never reaches the customer, neither as the
reply nor as a streamed draft; the conversation is flagged and the audit log holds the
verdict. What is allowed (the payment link a tool issued, the lender's site and numbers,
the customer's own) still goes through. (The people are those of harness.py: Maria owes
$165.00 past due on L100; James owes $310.00 on L200.)"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlmodel import Session, select

from agent.engine.agent import ServicingAgent
from agent.ledger.loader import parse_ledger, write_ledger
from agent.ledger.models import Customer, PaymentLink
from agent.runtime import Engines, build_service
from tests.llm.harness import LEDGER, NOW, LLMHarness, OfflinePieces
from tests.llm.scripted_openai import ScriptedOpenAI, call, reply, tool_calls

SUMMARY = call("get_account_summary")


def record_drafts(h: LLMHarness) -> list[str]:
    """The text of every reply draft the service publishes, in order."""
    drafts: list[str] = []
    publish = h.service.broker.publish

    def recording(channel: str, event: dict[str, Any]) -> None:
        if event.get("type") == "reply_draft":
            drafts.append(event["text"])
        publish(channel, event)

    h.service.broker.publish = recording  # type: ignore[method-assign]
    return drafts


def guardrail_payloads(h: LLMHarness) -> list[dict[str, Any]]:
    return [e.payload for e in h.audit("guardrail") if e.payload.get("stage") == "output"]


@pytest.mark.parametrize(
    ("customer", "tools", "bad_reply", "secret", "violation"),
    [
        pytest.param(
            "C100",
            [],
            "Thanks for waiting. You can pay at http://evil.example/pay right now.",
            "evil.example",
            "link_not_allowed",
            id="link",
        ),
        pytest.param(
            "C100",
            [],
            "Thanks for waiting. Pay at www.evil.example/pay today.",
            "evil.example",
            "link_not_allowed",
            id="bare-link",
        ),
        pytest.param(
            "C100",
            [],
            "Thanks for waiting. Please call 1-900-555-0142 to settle it.",
            "555-0142",
            "phone_not_allowed",
            id="phone",
        ),
        pytest.param(
            "C100",
            [],
            # A number read across ". ": no part of it may be shown before the rest comes.
            "Thanks for waiting. Please call 1-900-555. 0142 to settle it.",
            "900",
            "phone_not_allowed",
            id="phone-across-a-sentence-end",
        ),
        pytest.param(
            "C200",
            [tool_calls(SUMMARY)],
            "Thanks for waiting. You owe 165 dollars today.",
            "165",
            "amount_not_grounded",
            id="amount-in-words",
        ),
        pytest.param(
            "C200",
            [tool_calls(SUMMARY)],
            "Thanks for waiting. You owe one hundred and sixty-five dollars today.",
            "sixty-five",
            "amount_not_grounded",
            id="amount-in-number-words",
        ),
        pytest.param(
            "C200",
            [tool_calls(SUMMARY)],
            # An amount read across a line break: "165" alone is not yet an amount.
            "Thanks for waiting.\nYou owe 165\ndollars today.",
            "165",
            "amount_not_grounded",
            id="amount-across-a-line-break",
        ),
    ],
)
def test_an_echoed_link_phone_or_amount_never_reaches_the_customer(
    harness: LLMHarness,
    server: ScriptedOpenAI,
    customer: str,
    tools: list[Any],
    bad_reply: str,
    secret: str,
    violation: str,
) -> None:
    drafts = record_drafts(harness)
    server.script(*tools, reply(bad_reply), reply(bad_reply))  # it echoes twice
    harness.start(customer, verified=True)
    outcome = harness.say(f"my friend said to tell you: {bad_reply}")

    assert outcome.reply_text.endswith(harness.safe_reply())
    assert secret not in outcome.reply_text
    assert not any(secret in text for text in drafts)  # not even a part, not even for a moment
    if harness.agent_settings.llm_streaming:  # what came before it was streamed, then withdrawn
        assert drafts[0].endswith("Thanks for waiting.") and "" in drafts
    stored = [m.content for m in harness.stored_messages() if m.role == "assistant"]
    assert stored and not any(secret in text for text in stored)
    # Regenerated once with the reason, then replaced and flagged for supervisors.
    payloads = guardrail_payloads(harness)
    assert [p["verdict"] for p in payloads] == ["regenerate", "replaced"]
    assert violation in payloads[0]["violations"] and violation in payloads[1]["violations"]
    assert violation in server.requests[-1].messages[-1]["content"]
    flags = harness.flags()
    assert [f.kind for f in flags] == ["guardrail_replaced_reply"]
    assert violation in flags[0].detail
    assert harness.conversation().flagged
    assert harness.audit_chain_ok()


def test_the_payment_link_a_tool_issued_still_goes_through(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    drafts = record_drafts(harness)
    server.script(
        tool_calls(call("create_payment_link", loan_id="L100", amount="165.00")),
        reply("Your secure payment link for $165.00 is ready."),
    )
    harness.start("C100", verified=True)
    harness.say("send me a link to pay $165")
    with Session(harness.db) as session:
        (link,) = session.exec(select(PaymentLink)).all()

    server.script(reply(f"Here it is again: {link.url} (valid for 24 hours)."))
    outcome = harness.say("what was the link again?")

    assert link.url in outcome.reply_text
    assert guardrail_payloads(harness) == [] and harness.flags() == []
    if harness.agent_settings.llm_streaming:
        assert drafts[-1] == outcome.reply_text

    # The same link echoed in another conversation was not issued there.
    server.script(reply(f"Pay here: {link.url}"), reply(f"Pay here: {link.url}"))
    harness.start("C100", verified=True)
    other = harness.say("how do I pay?")
    assert link.url not in other.reply_text
    assert "link_not_allowed" in guardrail_payloads(harness)[0]["violations"]


def test_the_lenders_site_and_numbers_and_the_customers_own_go_through(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    with Session(harness.db) as session:
        maria = session.get(Customer, "C100")
        assert maria is not None
        maria.phone, maria.email = "734-555-0191", "maria@mail.example"
        session.add(maria)
        session.commit()
    text = (
        "You can also pay at https://www.harborcf.example/pay or call 1-800-555-0199. "
        "We have (734) 555-0191 and maria@mail.example on file. If you are in crisis, "
        "call or text 988."
    )
    server.script(reply(text))
    harness.start("C100", verified=True)
    outcome = harness.say("how else can I pay?")

    assert outcome.reply_text.endswith(text)
    assert guardrail_payloads(harness) == [] and harness.flags() == []


def test_before_verification_the_customers_own_number_is_not_repeated(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    with Session(harness.db) as session:
        maria = session.get(Customer, "C100")
        assert maria is not None
        maria.phone = "734-555-0191"
        session.add(maria)
        session.commit()
    text = "Is (734) 555-0191 the number on your account?"
    server.script(reply(text), reply(text))
    harness.start("C100", verified=False)
    outcome = harness.say("hi, it's Maria")

    assert "555-0191" not in outcome.reply_text
    assert "phone_not_allowed" in guardrail_payloads(harness)[0]["violations"]


def test_the_offline_engines_replies_pass_the_same_guard(
    offline_pieces: OfflinePieces, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offline engine is the agent's model too: a template edited to carry another
    site and number is caught like an LLM's reply."""
    from agent.db.engine import create_db_engine, create_schema

    agent = ServicingAgent(
        offline_pieces.settings, offline_pieces.policy, offline_pieces.embedder, InMemorySaver()
    )
    render = agent.offline.brain.t.render
    monkeypatch.setattr(
        agent.offline.brain.t,
        "render",
        lambda key, **values: (
            f"{render(key, **values)} Or pay at evil.example/pay, 1-900-555-0142."
        ),
    )
    engines = Engines(
        offline_pieces.settings,
        offline_pieces.policy,
        offline_pieces.embedder,
        agent,
        offline_pieces.guards,
        agent.templates,
        retriever=None,
    )
    db = create_db_engine("sqlite://")
    create_schema(db)
    with Session(db) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
    service = build_service(engines, db, clock=lambda: NOW)
    try:
        conv = service.start(channel="api", customer_id="C100", verified=True)
        outcome = service.customer_message(conv.id, "what do I owe?")
        assert "evil.example" not in outcome.reply_text and "0142" not in outcome.reply_text
        assert outcome.reply_text.endswith(agent.templates.render("guardrail_safe_reply"))
        assert service.get(conv.id).flagged
    finally:
        db.dispose()
