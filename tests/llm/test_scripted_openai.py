"""The scripted server itself: the checks the LLM-path tests rely on must really fire."""

from __future__ import annotations

from typing import Any

import httpx

from tests.llm.scripted_openai import ScriptedOpenAI, call, protocol_errors, reply, tool_calls

USER = {"role": "user", "content": "hi"}
CALL = {
    "id": "call_a",
    "type": "function",
    "function": {"name": "get_account_summary", "arguments": "{}"},
}


def post(server: ScriptedOpenAI, messages: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/chat/completions",
        timeout=5,
        json={"model": server.model, "messages": messages},
    )


def test_a_tool_call_without_its_result_is_rejected_like_the_real_api(
    server: ScriptedOpenAI,
) -> None:
    server.script(reply("never sent"))
    dangling = [USER, {"role": "assistant", "content": None, "tool_calls": [CALL]}, USER]
    response = post(server, dangling)

    assert response.status_code == 400
    assert "not followed by tool messages" in response.json()["error"]["message"]
    assert server.rejected and server.remaining == 1  # the script was not consumed
    answered = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_a", "content": "{}"},
    ]
    assert protocol_errors(answered) == []
    orphan = [USER, {"role": "tool", "tool_call_id": "call_zz", "content": "{}"}]
    assert protocol_errors(orphan)


def test_the_script_is_answered_in_order_then_overruns(server: ScriptedOpenAI) -> None:
    server.script(reply("one"), reply("two"))
    first, second, third = (post(server, [USER]) for _ in range(3))

    assert first.json()["choices"][0]["message"]["content"] == "one"
    assert second.json()["choices"][0]["message"]["content"] == "two"
    assert third.status_code == 500 and server.overrun == 1
    assert [r.answered_with for r in server.requests] == ["Completion", "Completion", "overrun"]


def test_tool_calls_are_sent_in_the_openai_shape(server: ScriptedOpenAI) -> None:
    server.script(
        tool_calls(call("verify_identity", date_of_birth="1988-04-12", postal_code="73301"))
    )
    body = post(server, [USER]).json()

    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["id"].startswith("call_")
    assert tool_call["function"]["name"] == "verify_identity"
    assert tool_call["function"]["arguments"] == (
        '{"date_of_birth": "1988-04-12", "postal_code": "73301"}'
    )
