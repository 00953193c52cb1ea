import json, pytest
from tests.llm.scripted_openai import call, reply, tool_calls, raw_call, http_error, Forever

CASES = {
 "badjson": [tool_calls(raw_call("get_account_summary", "{not json")), reply("ok then")],
 "badjson_only": [tool_calls(raw_call("get_account_summary", "{not json"))],
 "unknown": [tool_calls(call("delete_everything", loan_id="L100")), reply("I can't do that.")],
 "missing_arg": [tool_calls(call("verify_identity", date_of_birth="1988-04-12")), reply("Please give your ZIP.")],
 "wrong_type": [tool_calls(call("change_due_date", day_of_month={"x":1})), reply("hm")],
 "no_name": [tool_calls(raw_call(None, "{}")), reply("hm")],
 "no_args": [tool_calls(raw_call("get_account_summary", None)), reply("hm")],
 "loop": [Forever(tool_calls(call("get_account_summary")))],
 "loop3": [Forever(tool_calls(call("get_account_summary"), call("get_payment_history"), call("get_account_summary")))],
 "500": [http_error(500)],
 "slow": [reply("late", delay=3)],
 "empty": [reply("")],
}

@pytest.mark.parametrize("case", list(CASES))
def test_explore(make_harness, server, case):
    h = make_harness(timeout=1.0)
    server.script(*CASES[case])
    h.start("C100", verified=True)
    try:
        out = h.say("what's my balance?")
        print("\n==", case, "REPLY:", out.reply_text[110:])
    except Exception as e:
        print("\n==", case, "RAISED", type(e).__name__, e)
    print([ (e.kind, str(e.payload)[:300]) for e in h.audit() if e.kind not in ("conversation_started","customer_message","assistant_message")])
    print("requests", len(server.requests), "remaining", server.remaining, "overrun", server.overrun, [f.kind for f in h.flags()])
