"""The LLM endpoint misbehaving under a real server: it times out, answers 5xx, stalls or
dies mid-stream, or returns output nothing can run (invalid JSON, an unknown tool, bad
arguments), every time it is asked. The customer gets an answer within the configured
timeout plus a margin (the offline engine's, when the endpoint failed), nothing the
broken model said reaches them, and supervisors see the incident as a flag on the
conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.kit import ChatClient, Server
from tests.llm.scripted_openai import (
    Forever,
    ScriptedOpenAI,
    Step,
    call,
    http_error,
    raw_call,
    reply,
    tool_calls,
)

pytestmark = pytest.mark.slow

LLM_TIMEOUT_SECONDS = 3.0
# The bound is the configured timeout (one failed call: the rest of the turn goes straight
# to the offline engine) plus a margin for the offline turn on a busy machine. The broken
# endpoint's own delays are a minute, so an answer within the bound means the timeout held.
MARGIN_SECONDS = 6.0
NEVER_SHOWN = "$9,999.00"
STALLED = f"Let me check that for you. Your past-due amount is {NEVER_SHOWN} today."

FAULTS: dict[str, tuple[Step, str]] = {
    # fault: (what the endpoint answers to every call, the flag supervisors see)
    "timeout": (reply(f"Far too late: {NEVER_SHOWN}.", delay=60), "llm_fallback"),
    "http_503": (http_error(503, "scripted: overloaded"), "llm_fallback"),
    "stall_mid_stream": (reply(STALLED, token_delay=60), "llm_fallback"),
    "dies_mid_stream": (reply(STALLED, break_after_tokens=8), "llm_fallback"),
    "invalid_json": (tool_calls(raw_call("get_account_summary", "{oops")), "invalid_tool_call"),
    "unknown_tool": (tool_calls(call("transfer_funds", amount="500")), "model_call_limit"),
    "bad_arguments": (
        tool_calls(call("change_due_date", day_of_month={"day": 20}, confirm=True)),
        "model_call_limit",
    ),
}
ENDPOINT_FAILURES = {"timeout", "http_503", "stall_mid_stream", "dies_mid_stream"}


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedOpenAI) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("llm-faults"),
        {
            "LOAN_AGENT_LLM_PROVIDER": "openai",
            "LOAN_AGENT_LLM_BASE_URL": scripted.base_url,
            "LOAN_AGENT_LLM_MODEL": scripted.model,
            "LOAN_AGENT_LLM_API_KEY": "sk-faults",
            "LOAN_AGENT_LLM_MAX_RETRIES": "0",
            "LOAN_AGENT_LLM_TIMEOUT_SECONDS": str(LLM_TIMEOUT_SECONDS),
        },
    )
    try:
        yield server.start()
    finally:
        server.stop()
        scripted.reset()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_endpoint_is_answered_in_bounded_time_and_flagged(
    fault: str, server: Server, scripted: ScriptedOpenAI, tmp_path: Path
) -> None:
    step, flag = FAULTS[fault]
    scripted.reset()
    scripted.script(Forever(step))
    conversation_id, elapsed, answer, frames = asyncio.run(_ask(server))

    assert elapsed <= LLM_TIMEOUT_SECONDS + MARGIN_SECONDS, (fault, elapsed)
    assert NEVER_SHOWN not in answer
    assert not any(NEVER_SHOWN in str(f.get("text", "")) for f in frames if f["type"] == "draft")
    assert scripted.requests  # the endpoint was asked
    if fault in ENDPOINT_FAILURES:
        # The offline engine answered from the ledger; the endpoint was asked only once.
        assert "L100" in answer and "$" in answer, answer
        assert len(scripted.requests) == 1
    scripted.reset()  # releases the endpoint's held answers

    supervisor = server.staff("supervisor")
    detail = supervisor.detail(conversation_id)
    assert detail["conversation"]["flagged"] is True
    assert flag in [f["kind"] for f in detail["flags"]], detail["flags"]
    listed = supervisor.get("/api/supervisor/flags")["flags"]
    assert any(f["conversation_id"] == conversation_id and f["kind"] == flag for f in listed)


async def _ask(server: Server) -> tuple[str, float, str, list[dict[str, Any]]]:
    client = await ChatClient.open(server.ws_url, token=server.customer_token("C100"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.message("q1", "What is my past-due amount?")
    answer = await client.turn_done("q1")
    assert answer["type"] == "ack", answer
    seq = int(answer["seq"])
    await client.wait(lambda: client.replies_to(seq), what="the answer")
    elapsed = loop.time() - started
    text = client.replies_to(seq)[0]["content"]
    await client.close()
    return client.conversation_id, elapsed, text, client.frames
