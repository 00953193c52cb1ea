"""The LLM path over real HTTP: the agent driven by a scripted OpenAI-compatible server.

Each test scripts what "the model" answers and checks that the agent stays safe: what
the customer sees, what the ledger holds, what the audit log records, and what the
agent sent to the endpoint. The ledger is the one of /work/shared/scenarios/basic.yaml
(see conftest.py): Maria (C100, verified with 1988-04-12 / 73301) owes $165.00 past due
on L100; L200 is James's loan.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from sqlmodel import Session, select

from agent.engine import session_facts
from agent.ledger.models import PaymentLink, PromiseToPay
from tests.llm.harness import API_KEY, PROMPTS_DIR, HarnessFactory, LLMHarness
from tests.llm.scripted_openai import (
    Forever,
    ReceivedRequest,
    ScriptedOpenAI,
    call,
    http_error,
    raw_call,
    reply,
    tool_calls,
)

VERIFY = call("verify_identity", date_of_birth="1988-04-12", postal_code="73301")
SUMMARY = call("get_account_summary")
SERVICING_TOOLS = {
    "identify_customer",
    "verify_identity",
    "get_account_summary",
    "get_payment_history",
    "create_payment_link",
    "promise_to_pay",
    "change_due_date",
    "request_deferral",
    "waive_late_fee",
    "update_contact_preferences",
    "search_policy",
    "escalate_to_human",
}
# What must never reach Maria (or the model, once a tool refused it): James's data.
JAMES = ["James", "Chen", "C200", "$310.00", "310.00", "$7,300.00", "7300", "1975-11-02", "10001"]


def facts_of(request: ReceivedRequest) -> dict[str, Any]:
    return session_facts.parse(request.system_prompt)


def tool_result(request: ReceivedRequest, index: int = -1) -> dict[str, Any]:
    """The JSON of a tool message the agent sent to the model (the last one by default)."""
    return json.loads(request.tool_results[index]["content"])


def audit_payloads(h: LLMHarness, kind: str) -> list[dict[str, Any]]:
    return [event.payload for event in h.audit(kind)]


def tool_results_audited(h: LLMHarness, tool: str | None = None) -> list[str]:
    return [
        p["result"] for p in audit_payloads(h, "tool_result") if tool is None or p["tool"] == tool
    ]


def flag_kinds(h: LLMHarness) -> list[str]:
    return [flag.kind for flag in h.flags()]


def assert_ledger_unchanged(h: LLMHarness) -> None:
    assert h.ledger_changes() == {}


# --- the happy path and what the endpoint receives ---------------------------------------


def test_tool_calls_verify_then_summary_reach_the_customer(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(VERIFY),
        tool_calls(SUMMARY),
        reply(
            "Thanks, Maria, you're verified. Your past-due amount is $165.00, and your "
            "next payment of $150.00 is due March 15, 2026."
        ),
    )
    harness.start("C100")
    outcome = harness.say("hi, what do I owe? my birthday is april 12 1988, zip 73301")

    text = outcome.reply_text
    assert "automated assistant" in text  # the disclosure opens the first reply
    assert "$165.00" in text and "$150.00" in text and "March 15, 2026" in text
    assert harness.conversation().verified
    assert not outcome.escalated
    assert_ledger_unchanged(harness)
    assert len(server.requests) == 3 and server.remaining == 0 and not server.rejected

    # The tools ran for Maria, and their results went back to the model.
    assert tool_result(server.requests[1]) == {
        "status": "ok",
        "verified": True,
        "first_name": "Maria",
    }
    summary = tool_result(server.requests[2])["loans"]
    assert [loan["loan_id"] for loan in summary] == ["L100"]
    assert summary[0]["past_due_amount"] == "$165.00"

    # The audit log has the turn, both tool results and no fallback or guardrail.
    turns = audit_payloads(harness, "agent_turn")
    assert [t["model"] for t in turns] == [server.model]
    assert [c["name"] for c in turns[0]["tool_calls"]] == ["verify_identity", "get_account_summary"]
    assert [p["tool"] for p in audit_payloads(harness, "tool_result")] == [
        "verify_identity",
        "get_account_summary",
    ]
    assert audit_payloads(harness, "verification") == [
        {"result": "verified", "customer_id": "C100"}
    ]
    assert not harness.audit("model_fallback") and not harness.audit("guardrail")
    assert not flag_kinds(harness)
    assert harness.audit_chain_ok()


def test_the_endpoint_gets_system_prompt_session_facts_and_tools(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(tool_calls(VERIFY), reply("Thanks, Maria, you're verified."))
    harness.start("C100")
    harness.say("my date of birth is 1988-04-12 and my zip is 73301")

    first, second = server.requests
    system_md = (PROMPTS_DIR / "system.md").read_text(encoding="utf-8").strip()
    for request in (first, second):
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.body["model"] == server.model
        assert request.body["temperature"] == 0
        # Streamed unless the settings say otherwise (see the harness fixture).
        assert bool(request.body.get("stream")) == harness.agent_settings.llm_streaming
        assert request.messages[0]["role"] == "system"
        assert request.system_prompt.startswith(system_md)
        assert set(request.tool_names) == SERVICING_TOOLS
        # The conversation context comes from the runtime, never from the model.
        for name in SERVICING_TOOLS:
            schema = request.tool_schema(name)
            assert "runtime" not in schema["parameters"].get("properties", {})
            assert schema["description"]
    assert set(first.tool_schema("verify_identity")["parameters"]["required"]) == {
        "date_of_birth",
        "postal_code",
    }

    # The session facts are current on every call: verified after the tool said so.
    before, after = facts_of(first), facts_of(second)
    assert before["verified"] is False and before["today"] == "2026-03-10"
    assert "customer_loans" not in before and "customer_first_name" not in before
    assert after["verified"] is True
    assert after["customer_loans"] == ["L100"] and after["customer_first_name"] == "Maria"
    assert first.user_texts == ["my date of birth is 1988-04-12 and my zip is 73301"]


def test_a_plain_reply_before_verification_is_shown_as_is(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    answer = (
        "I can help with that. First, please tell me your date of birth and the "
        "5-digit ZIP code on file."
    )
    server.script(reply(answer))
    harness.start("C100")
    outcome = harness.say("how much do I owe?")

    assert outcome.reply_text.endswith(answer)
    assert not harness.conversation().verified
    assert not harness.audit("guardrail") and not flag_kinds(harness)
    assert facts_of(server.requests[0])["verified"] is False
    assert_ledger_unchanged(harness)


def test_card_numbers_reach_the_model_masked(harness: LLMHarness, server: ScriptedOpenAI) -> None:
    server.script(
        reply("I can't take card details in chat, but I can send you a secure payment link."),
        reply("Sure, which amount would you like the link for?"),
    )
    harness.start("C100", verified=True)
    first = harness.say("can I pay with my visa 4111 1111 1111 1111 exp 12/27 cvv 123?")
    harness.say("ok, and my card is 4111111111111111 if that helps")

    assert "don't share card or bank account numbers" in first.reply_text
    for request in server.requests:
        sent = request.everything_sent()
        assert "4111 1111 1111 1111" not in sent and "4111111111111111" not in sent
        assert "cvv 123" not in sent
    # The second call carries the whole history, both messages masked.
    users = server.requests[1].user_texts
    assert len(users) == 2 and all("ending 1111" in text for text in users)
    stored = [m.content for m in harness.stored_messages() if m.role == "customer"]
    assert all("4111" not in text for text in stored)
    masked = [p for p in audit_payloads(harness, "customer_message") if p["pii_masked"]]
    assert len(masked) == 2 and all("card" in p["pii_masked"] for p in masked)


# --- output guard: ungrounded figures and account data before verification ----------------


@pytest.mark.parametrize(
    ("verified", "tools", "bad_replies", "violation"),
    [
        pytest.param(
            False,
            [],
            ["Your balance is $2,762.97 on loan L100.", "You owe $165.00 right now."],
            "account_data_before_verification",
            id="figures-before-verification",
        ),
        pytest.param(
            True,
            [tool_calls(SUMMARY)],
            ["You owe $200.00 today.", "Your balance is $1,999.99."],
            "amount_not_grounded",
            id="ungrounded-after-verification",
        ),
    ],
)
def test_a_bad_reply_twice_is_replaced_and_flagged(
    harness: LLMHarness,
    server: ScriptedOpenAI,
    verified: bool,
    tools: list[Any],
    bad_replies: list[str],
    violation: str,
) -> None:
    server.script(*tools, *(reply(text) for text in bad_replies))
    harness.start("C100", verified=verified)
    outcome = harness.say("how much do I owe?")

    assert outcome.reply_text.endswith(harness.safe_reply())
    for bad in bad_replies:
        assert bad not in outcome.reply_text
    for figure in ("$2,762.97", "$165.00", "$200.00", "$1,999.99", "L100"):
        assert figure not in outcome.reply_text
    verdicts = [p["verdict"] for p in audit_payloads(harness, "guardrail")]
    assert verdicts == ["regenerate", "replaced"]
    assert violation in audit_payloads(harness, "guardrail")[0]["violations"]
    assert flag_kinds(harness) == ["guardrail_replaced_reply"]
    assert harness.conversation().flagged
    # The model was asked once to write it again, with the reason.
    retry = server.requests[-1]
    assert "blocked by a compliance check" in retry.messages[-1]["content"]
    assert violation in retry.messages[-1]["content"]
    # The blocked text is in no stored reply.
    assistant = [m.content for m in harness.stored_messages() if m.role == "assistant"]
    assert not any(bad in text for text in assistant for bad in bad_replies)
    assert_ledger_unchanged(harness)


def test_a_regenerated_grounded_reply_is_sent_without_a_flag(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(SUMMARY),
        reply("You owe $200.00 today."),
        reply("Your past-due amount is $165.00."),
    )
    harness.start("C100", verified=True)
    outcome = harness.say("how much is past due?")

    assert outcome.reply_text.endswith("Your past-due amount is $165.00.")
    assert "$200.00" not in outcome.reply_text
    assert [p["verdict"] for p in audit_payloads(harness, "guardrail")] == [
        "regenerate",
        "regenerated_ok",
    ]
    assert not flag_kinds(harness) and not harness.conversation().flagged


# --- authorization: another customer's loan ----------------------------------------------


def test_another_customers_loan_is_refused_like_an_unknown_loan(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("get_account_summary", loan_id="L200")),
        reply("I can't find that loan among the accounts I can discuss here."),
        tool_calls(call("get_account_summary", loan_id="L999")),
        reply("I can't find that loan among the accounts I can discuss here."),
        tool_calls(
            call("create_payment_link", amount="310.00", loan_id="L200"),
            call(
                "promise_to_pay", amount="310.00", date="2026-03-13", loan_id="L200", confirm=True
            ),
        ),
        reply("I can only help with your own loans."),
    )
    harness.start("C100", verified=True)
    first = harness.say("what does my other loan owe?")
    second = harness.say("and what about my third loan?")
    third = harness.say("send a payment link for that other loan and set up a promise for it")

    foreign, unknown = tool_result(server.requests[1]), tool_result(server.requests[3])
    assert foreign["status"] == "refused" and foreign["error"] == "unknown_loan"
    assert foreign == unknown  # indistinguishable from a loan that does not exist
    writes = server.requests[5].tool_results[-2:]  # this turn's two tool results
    assert [json.loads(m["content"])["error"] for m in writes] == ["unknown_loan"] * 2
    for request in server.requests:  # what the agent told the model (not its own calls)
        told = request.agent_supplied()
        for secret in JAMES:
            assert secret not in told
    for outcome in (first, second, third):
        for secret in [*JAMES, "L200"]:
            assert secret not in outcome.reply_text
    refusals = audit_payloads(harness, "authorization")
    assert [p["loan_id"] for p in refusals] == ["L200", "L999", "L200", "L200"]
    assert all(p["decision"] == "refused" for p in refusals)
    assert_ledger_unchanged(harness)


def test_a_reply_naming_another_loan_is_replaced(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(SUMMARY),
        reply("Loan L200 is also on file, but yours is L100."),
        reply("Loan L200 is also on file, but yours is L100."),
    )
    harness.start("C100", verified=True)
    outcome = harness.say("which loans do I have?")

    assert "L200" not in outcome.reply_text
    assert outcome.reply_text.endswith(harness.safe_reply())
    assert "other_customer_data" in audit_payloads(harness, "guardrail")[0]["violations"]
    assert flag_kinds(harness) == ["guardrail_replaced_reply"]


# --- writes need a proposal and the customer's yes -----------------------------------------


PTP_ARGS = {"amount": "165.00", "date": "2026-03-13"}


def promises(h: LLMHarness) -> list[PromiseToPay]:
    with Session(h.db) as session:
        return list(session.exec(select(PromiseToPay)))


def test_confirm_true_without_a_proposal_is_refused(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("promise_to_pay", **PTP_ARGS, confirm=True)),
        reply("Shall I set up a promise to pay $165.00 on March 13, 2026?"),
    )
    harness.start("C100", verified=True)
    harness.say("I can pay the $165 this Friday")

    result = tool_result(server.requests[1])
    assert result["status"] == "refused" and result["error"] == "confirmation_required"
    assert promises(harness) == []
    assert not any(p.get("record") == "promise_to_pay" for p in audit_payloads(harness, "write"))
    assert_ledger_unchanged(harness)


def test_confirm_true_after_the_customer_says_no_is_refused(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("promise_to_pay", **PTP_ARGS, confirm=False)),
        reply("I can set up a promise to pay $165.00 on March 13, 2026. Shall I set that up?"),
        tool_calls(call("promise_to_pay", **PTP_ARGS, confirm=True)),
        reply("Alright, I haven't set anything up."),
    )
    harness.start("C100", verified=True)
    harness.say("I can pay the $165 this Friday")
    harness.say("no wait, don't do that")

    proposal = tool_result(server.requests[1])
    assert proposal["status"] == "ok" and proposal["needs_confirmation"] is True
    # The pending proposal is in the next turn's session facts ...
    assert (
        "promise_to_pay:L100:165.00:2026-03-13"
        in facts_of(server.requests[2])["pending_confirmations"]
    )
    # ... but without a yes the tool refuses the write.
    refusal = tool_result(server.requests[3])
    assert refusal["status"] == "refused" and refusal["error"] == "confirmation_required"
    assert "not said yes" in refusal["message"]
    assert promises(harness) == []
    assert_ledger_unchanged(harness)


def test_confirm_true_after_a_yes_writes_exactly_once(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    confirm = call("promise_to_pay", **PTP_ARGS, confirm=True)
    server.script(
        tool_calls(call("promise_to_pay", **PTP_ARGS, confirm=False)),
        reply("I can set up a promise to pay $165.00 on March 13, 2026. Shall I set that up?"),
        tool_calls(confirm),
        tool_calls(call("promise_to_pay", **PTP_ARGS, confirm=True)),  # the model repeats it
        reply("Done: your promise to pay $165.00 on March 13, 2026 is recorded."),
    )
    harness.start("C100", verified=True)
    harness.say("I can pay the $165 this Friday")
    outcome = harness.say("yes please set that up")

    assert tool_result(server.requests[3])["recorded"] is True
    assert tool_result(server.requests[4])["already_recorded"] is True
    rows = promises(harness)
    assert [(p.loan_id, p.amount, p.date.isoformat()) for p in rows] == [
        ("L100", Decimal("165.00"), "2026-03-13")
    ]
    assert harness.ledger_changes() == {"promisetopay": {"added": 1, "removed": 0, "modified": 0}}
    assert "$165.00" in outcome.reply_text


# --- malformed, unknown and invalid tool calls ---------------------------------------------


def test_a_malformed_tool_call_is_regenerated(harness: LLMHarness, server: ScriptedOpenAI) -> None:
    server.script(
        tool_calls(raw_call("get_account_summary", "{loan_id: L100")),
        tool_calls(SUMMARY),
        reply("Your past-due amount is $165.00."),
    )
    harness.start("C100", verified=True)
    outcome = harness.say("what's past due?")

    assert outcome.reply_text.endswith("Your past-due amount is $165.00.")
    note = server.requests[1].messages[-1]
    assert note["role"] == "system" and "could not be read" in note["content"]
    assert "get_account_summary" in note["content"]
    assert [p["verdict"] for p in audit_payloads(harness, "guardrail")] == [
        "regenerate",
        "regenerated_ok",
    ]
    assert not server.rejected and not flag_kinds(harness)


@pytest.mark.parametrize(
    "bad_call",
    [
        pytest.param(raw_call("get_account_summary", "{not json"), id="invalid-json"),
        pytest.param(raw_call("", '{"amount": "165.00"}'), id="no-tool-name"),
    ],
)
def test_malformed_tool_calls_twice_end_the_turn_safely(
    harness: LLMHarness, server: ScriptedOpenAI, bad_call: dict[str, Any]
) -> None:
    server.script(
        tool_calls(bad_call), tool_calls(bad_call), reply("Is there anything else I can help with?")
    )
    harness.start("C100", verified=True)
    first = harness.say("send me a link for $165")

    assert first.reply_text.endswith(harness.templates.render("tool_error"))
    assert flag_kinds(harness) == ["invalid_tool_call"]
    assert [p["verdict"] for p in audit_payloads(harness, "guardrail")] == ["regenerate", "dropped"]
    assert not tool_results_audited(harness)
    assert_ledger_unchanged(harness)

    # The broken call is not left in the history: the next turn's request is valid for
    # an OpenAI endpoint (no tool call without its result) and the LLM answers it.
    second = harness.say("ok thanks")
    assert second.reply_text == "Is there anything else I can help with?"
    assert not server.rejected
    assert not harness.audit("model_fallback")


def test_arguments_that_are_not_an_object_never_run(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(tool_calls(raw_call("create_payment_link", '["165.00"]')))
    harness.start("C100", verified=True)
    outcome = harness.say("send me a payment link for $165")

    events = audit_payloads(harness, "model_fallback")
    assert len(events) == 1
    if harness.agent_settings.llm_streaming:
        # Streamed, the message is built; the tool-call check refuses the arguments and
        # asks again; the endpoint has nothing more, so the offline engine takes over.
        checks = [p for p in audit_payloads(harness, "guardrail") if p["stage"] == "tool_call"]
        assert checks[0]["verdict"] == "regenerate"
        assert "create_payment_link" in checks[0]["invalid_tool_calls"]
        assert len(server.requests) == 2
    else:
        # Whole, langchain-openai cannot even build the message from '["165.00"]': the
        # call fails like a broken endpoint, and the offline engine serves the turn.
        assert "ValidationError" in events[0]["errors"][0]
        assert len(server.requests) == 1
    with Session(harness.db) as session:
        links = list(session.exec(select(PaymentLink)))
    assert [(link.loan_id, link.amount) for link in links] == [("L100", Decimal("165.00"))]
    assert links[0].url in outcome.reply_text


def test_valid_calls_survive_beside_malformed_ones(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    mixed = tool_calls(SUMMARY, raw_call("get_payment_history", "{oops"))
    server.script(mixed, mixed, reply("Your past-due amount is $165.00."))
    harness.start("C100", verified=True)
    outcome = harness.say("what's past due and what did I pay?")

    assert outcome.reply_text.endswith("Your past-due amount is $165.00.")
    assert [p["tool"] for p in audit_payloads(harness, "tool_result")] == ["get_account_summary"]
    assert flag_kinds(harness) == ["invalid_tool_call"]
    assert not server.rejected  # the third request answers every call it carries


def test_an_unknown_tool_gets_an_error_and_nothing_runs(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("transfer_funds", from_loan="L100", to_loan="L200", amount="500")),
        tool_calls(call("get_balance_of_any_loan", loan_id="L200")),
        reply("Sorry, I can't move money between loans. I can send you a payment link."),
    )
    harness.start("C100", verified=True)
    outcome = harness.say("please move $500 between my loans")

    for index in (1, 2):
        error = server.requests[index].tool_results[-1]["content"]
        assert "is not a valid tool" in error and "create_payment_link" in error
    assert outcome.reply_text.endswith("I can send you a payment link.")
    assert_ledger_unchanged(harness)


def test_invalid_arguments_for_a_known_tool_do_nothing(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(
        tool_calls(call("verify_identity", date_of_birth="1988-04-12")),  # no postal code
        reply("Thanks. What's the 5-digit ZIP code on file?"),
        tool_calls(VERIFY),
        tool_calls(call("change_due_date", day_of_month={"day": 20}, confirm=True)),
        reply("Which day of the month would you like instead?"),
    )
    harness.start("C100")
    harness.say("my date of birth is 1988-04-12")
    assert "Field required" in server.requests[1].tool_results[-1]["content"]
    conv = harness.conversation()
    assert not conv.verified and conv.failed_verifications == 0  # the tool never ran

    harness.say("73301, and move my due date to the 20th")
    assert "valid integer" in server.requests[4].tool_results[-1]["content"]
    assert harness.conversation().verified
    assert_ledger_unchanged(harness)


# --- endpoint failures: the offline engine answers the turn -------------------------------


def test_an_http_500_falls_back_to_the_offline_engine_for_the_turn(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(http_error(500, "upstream exploded"), reply("Anything else?"))
    harness.start("C100", verified=True)
    outcome = harness.say("what's past due?")

    assert "$165.00" in outcome.reply_text  # the offline engine answered from the ledger
    assert len(server.requests) == 1  # the rest of the turn did not retry the endpoint
    events = audit_payloads(harness, "model_fallback")
    assert len(events) == 1
    assert "500" in events[0]["errors"][0] and "upstream exploded" in events[0]["errors"][0]
    assert audit_payloads(harness, "agent_turn")[0]["model"] == "offline-fallback"
    assert tool_results_audited(harness, "get_account_summary")
    assert_ledger_unchanged(harness)

    # The next turn tries the LLM again.
    assert harness.say("thanks").reply_text == "Anything else?"
    assert audit_payloads(harness, "agent_turn")[1]["model"] == server.model
    assert len(harness.audit("model_fallback")) == 1


def test_a_slow_endpoint_times_out_and_the_offline_engine_answers(
    make_harness: HarnessFactory, server: ScriptedOpenAI
) -> None:
    harness = make_harness(timeout=0.5)
    server.script(Forever(reply("This answer comes far too late: $9,999.00.", delay=6)))
    harness.start("C100", verified=True)
    started = time.monotonic()
    outcome = harness.say("what's past due?")
    elapsed = time.monotonic() - started

    assert elapsed < 4.5  # one client timeout, not the endpoint's six seconds
    assert "$165.00" in outcome.reply_text and "$9,999.00" not in outcome.reply_text
    assert len(server.requests) == 1
    events = audit_payloads(harness, "model_fallback")
    assert len(events) == 1 and "Timeout" in events[0]["errors"][0]
    assert audit_payloads(harness, "agent_turn")[0]["model"] == "offline-fallback"
    assert_ledger_unchanged(harness)


def test_a_failure_mid_turn_lets_the_offline_engine_finish_it(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(tool_calls(VERIFY), http_error(503, "overloaded"))
    harness.start("C100")
    outcome = harness.say("what's past due? dob 1988-04-12 zip 73301")

    assert harness.conversation().verified  # the LLM's tool call ran
    assert "$165.00" in outcome.reply_text  # the offline engine finished the turn
    assert len(server.requests) == 2
    assert len(harness.audit("model_fallback")) == 1
    assert_ledger_unchanged(harness)


# --- a model that loops on tool calls --------------------------------------------------------


def test_a_tool_call_loop_ends_with_a_safe_reply(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    server.script(Forever(tool_calls(SUMMARY)))
    harness.start("C100", verified=True)
    outcome = harness.say("what's past due?")

    limit = harness.agent_settings.max_model_calls_per_turn
    assert outcome.reply_text.endswith(harness.templates.render("tool_error"))
    assert "limit" not in outcome.reply_text.lower()  # no framework text for the customer
    assert len(server.requests) == limit
    assert "model_call_limit" in flag_kinds(harness)
    verdicts = [
        p for p in audit_payloads(harness, "guardrail") if p.get("verdict") == "model_call_limit"
    ]
    assert len(verdicts) == 1 and verdicts[0]["limit"] == limit
    assert_ledger_unchanged(harness)

    # The next turn starts with a fresh budget and a history the endpoint accepts.
    server.reset()
    server.script(reply("Anything else I can help with?"))
    assert harness.say("hello?").reply_text == "Anything else I can help with?"
    assert len(server.requests) == 1 and not server.rejected


def test_a_write_loop_is_capped_and_writes_once(
    harness: LLMHarness, server: ScriptedOpenAI
) -> None:
    link = call("create_payment_link", amount="165.00")
    server.script(Forever(tool_calls(link, link, link)))
    harness.start("C100", verified=True)
    outcome = harness.say("send me a payment link for $165")

    ran = [r for r in tool_results_audited(harness, "create_payment_link") if r.startswith("{")]
    blocked = [
        r for r in tool_results_audited(harness, "create_payment_link") if "limit" in r.lower()
    ]
    assert len(ran) == harness.agent_settings.max_tool_calls_per_turn
    assert blocked  # calls beyond the cap were refused, not run
    with Session(harness.db) as session:
        links = list(session.exec(select(PaymentLink)))
    assert [(link.loan_id, link.amount) for link in links] == [("L100", Decimal("165.00"))]
    assert harness.ledger_changes() == {"paymentlink": {"added": 1, "removed": 0, "modified": 0}}
    assert outcome.reply_text.endswith(harness.templates.render("tool_error"))
    assert "model_call_limit" in flag_kinds(harness)


# --- streaming -----------------------------------------------------------------------------


def test_a_streaming_client_works_over_server_sent_events(
    make_harness: HarnessFactory, server: ScriptedOpenAI
) -> None:
    llm = ChatOpenAI(
        model=server.model,
        base_url=server.base_url,
        api_key=API_KEY,
        timeout=5,
        max_retries=0,
        temperature=0,
        streaming=True,
    )
    harness = make_harness(llm=llm)
    server.script(tool_calls(SUMMARY), reply("Your past-due amount is $165.00."))
    harness.start("C100", verified=True)
    outcome = harness.say("what's past due?")

    assert all(request.body.get("stream") is True for request in server.requests)
    assert tool_results_audited(harness, "get_account_summary")
    assert outcome.reply_text.endswith("Your past-due amount is $165.00.")
    assert not harness.audit("model_fallback")
