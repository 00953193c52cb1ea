"""The output checks for links, phone numbers and amounts in any form (issue #11): what a
reply may carry, and the look-alikes and other spellings that must not get through."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from agent.guardrails.output_checks import (
    check_disclosure_before_verification,
    check_grounding,
    check_links,
    check_phones,
    issued_urls,
    policy_phones,
)
from agent.language.amounts import money_mentions
from agent.language.phones import phone_mentions

LENDER = ("harborcf.example",)
TODAY = date(2026, 3, 10)
PAY_URL = "http://127.0.0.1:8000/pay/Zx9-Qp_4kT2mNw8rLs1vYb3c"
LINK_RESULT = (
    '{"status": "ok", "loan_id": "L100", "amount": "$165.00", '
    f'"url": "{PAY_URL}", "valid_hours": 24}}'
)
SUMMARY_RESULT = (
    '{"status": "ok", "loans": [{"loan_id": "L100", "past_due_amount": "$165.00", '
    '"days_past_due": 23, "next_due_date": "March 15, 2026", "next_due_amount": "$150.00", '
    '"payoff_amount_today": "$2,762.97", "_raw": {"past_due": "165.00"}}]}'
)


def link_details(reply: str, issued: set[str] = frozenset(), emails=()) -> list[str]:
    return [v.detail for v in check_links(reply, LENDER, issued, emails)]


# --- links ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Our help pages are at https://harborcf.example/help.",
        "Sign in at https://www.harborcf.example/login, then choose Payments.",
        "Visit http://pay.harborcf.example/ or harborcf.example for more.",
        "See HTTPS://HARBORCF.EXAMPLE/faq!",
        "Our site is harborcf.example.",
        "Write to help@harborcf.example or mailto:help@harborcf.example",
        "Open https://harborcf.example:443/faq (the FAQ).",
        "The dotted forms e.g. i.e. a.m. p.m. U.S. and $2,762.97 or 15.03.2026 are no links.",
        "Call 1-800-555-0199 or tel:+18005550199.",  # phone links are the phone check's
    ],
)
def test_links_to_the_lenders_own_domains_pass(reply: str) -> None:
    assert link_details(reply) == []


@pytest.mark.parametrize(
    ("reply", "flagged"),
    [
        ("Pay at http://evil.example/pay today.", "http://evil.example/pay"),
        ("Pay at https://evil.example/pay?ref=harborcf.example", None),
        ("Pay at www.evil.example/pay", "www.evil.example/pay"),
        ("Pay at evil.example/pay", "evil.example/pay"),
        ("Our partner site evil.example handles it.", "evil.example"),
        ("Go to https://harborcf.example.evil.com/pay", "https://harborcf.example.evil.com/pay"),
        ("Go to harborcf.example.evil.com/pay", "harborcf.example.evil.com/pay"),
        ("Go to https://evilharborcf.example/pay", "https://evilharborcf.example/pay"),
        ("Go to evil.com/harborcf.example", "evil.com/harborcf.example"),
        ("Go to https://harborcf.example@evil.com/pay", "https://harborcf.example@evil.com/pay"),
        ("Go to https://harborcf.example:x@evil.com", "https://harborcf.example:x@evil.com"),
        ("Go to https://evil.com\\@harborcf.example", "https://evil.com\\@harborcf.example"),
        ("Go to harborcf.example@evil.com", "harborcf.example@evil.com"),
        ("Go to https://h\u0430rborcf.example/pay", "https://h\u0430rborcf.example/pay"),
        ("Go to xn--hrborcf-3fg.example/pay", "xn--hrborcf-3fg.example/pay"),
        ("Go to \u0435vil.\u0440\u0444/pay", "\u0435vil.\u0440\u0444/pay"),
        ("Go to harborcf.example\u3002evil.com", "harborcf.example\u3002evil.com"),
        ("Go to //evil.example/pay", "//evil.example/pay"),
        ("Go to http://10.0.0.7:8080/pay", "http://10.0.0.7:8080/pay"),
        ("Go to 10.0.0.7/pay", "10.0.0.7/pay"),
        ("Go to ftp://harborcf.example/file", "ftp://harborcf.example/file"),
        ("Click javascript:alert(document.cookie)", None),
        ("Open data:text/html;base64,PHNjcmlwdD4=", None),
        ("Write to billing@evil.example", "billing@evil.example"),
        ("Write to mailto:billing@evil.example", "mailto:billing@evil.example"),
        ("[harborcf.example](http://evil.example/pay)", "http://evil.example/pay"),
        ("EVIL.EXAMPLE/PAY is our new site", "EVIL.EXAMPLE/PAY"),
    ],
)
def test_any_other_link_is_caught_however_it_is_dressed(reply: str, flagged: str | None) -> None:
    found = link_details(reply)
    assert len(found) == 1, found
    if flagged is not None:
        assert found == [flagged]


def test_a_link_a_tool_issued_in_this_conversation_passes_and_only_that_one() -> None:
    issued = issued_urls([SUMMARY_RESULT, LINK_RESULT])
    assert issued == {PAY_URL}
    assert link_details(f"Here is your secure payment link: {PAY_URL}.", issued) == []
    assert link_details(f"Here it is: {PAY_URL}", set()) == [PAY_URL]  # another conversation's
    forged = PAY_URL[:-4] + "AAAA"
    assert link_details(f"Here it is: {forged}", issued) == [forged]
    extended = f"{PAY_URL}?next=http://evil.example"
    assert link_details(f"Here it is: {extended}", issued) == [extended]


def test_the_customers_own_email_passes() -> None:
    assert link_details("We have maria@mail.example on file.", emails=["maria@mail.example"]) == []
    assert link_details("We have maria@mail.example on file.") == ["maria@mail.example"]


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "1-900-555-0142",
        "(900) 555-0142",
        "+1 900 555 0142",
        "900.555.0142",
        "900-555-0142",
        "9005550142",
        "1 (900) 555-0142",
        "+1-900-555-0142 ext. 12",
        "555-0142",
        "+44 20 7946 0958",
    ],
)
def test_a_phone_number_not_on_file_is_caught_in_any_form(written: str, policy) -> None:
    found = check_phones(f"Please call {written} today.", policy_phones(policy))
    assert [v.kind for v in found] == ["phone_not_allowed"]
    assert found[0].detail.replace(" ext. 12", "") == written.replace(" ext. 12", "")


@pytest.mark.parametrize(
    "reply",
    [
        "Call us at 1-800-555-0199 (Monday to Friday).",
        "Call us at (800) 555-0199 or +1 800 555 0199 or 800.555.0199.",
        "If you are in crisis, call or text 988.",
        "Your number on file is (734) 555-0191.",
    ],
)
def test_the_policys_numbers_and_the_customers_own_pass(reply: str, policy) -> None:
    assert check_phones(reply, [*policy_phones(policy), "734-555-0191"]) == []


def test_the_policy_numbers_come_from_the_policy_file(policy) -> None:
    numbers = policy_phones(policy)
    assert policy.lender.support_phone in numbers and policy.crisis_line in numbers
    other = policy.model_copy(
        update={"lender": policy.lender.model_copy(update={"support_phone": "1-866-555-0123"})}
    )
    assert check_phones("Call 1-866-555-0123.", policy_phones(other)) == []
    assert [v.kind for v in check_phones("Call 1-800-555-0199.", policy_phones(other))] == [
        "phone_not_allowed"
    ]


def test_a_short_number_never_stands_for_a_longer_one_it_is_not(policy) -> None:
    # "555-0199" is the support line written short; the support line's digits after
    # another area code are not the support line.
    assert check_phones("Call 555-0199.", policy_phones(policy)) == []
    assert len(check_phones("Call 1-900-555-0199.", policy_phones(policy))) == 1
    assert len(check_phones("Call 1-900-555-0191.", ["555-0191"])) == 1


@pytest.mark.parametrize(
    "reply",
    [
        "Your next payment of $150.00 is due March 15, 2026 (in 5 days).",
        "The payoff today is $2,762.97; $1,234,567.00 would be too much.",
        "Dates: 2026-03-10, 03/15/2026, 3/15, 15.03.2026.",
        "Loan L100, LN-4471 and L1234567; ZIP 73301 or 73301-1234.",
        "Between 8:00 a.m. and 8:00 p.m., 12 months, 30 days, the 20th, 24.99% APR, 2026.",
        "Reference 20260310 and 1234567890123.",
        "Pay 12345.67 dollars or $1234567.00.",
    ],
)
def test_dates_amounts_loan_numbers_and_zip_codes_are_not_phone_numbers(reply: str) -> None:
    assert phone_mentions(reply) == ()


# --- amounts in any form ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("$1,234", "1234.00"),
        ("1,234 dollars", "1234.00"),
        ("165 dollars", "165.00"),
        ("USD 165", "165.00"),
        ("165 USD", "165.00"),
        ("165.00", "165.00"),
        ("$165.5", "165.50"),
        ("one hundred dollars", "100.00"),
        ("one hundred and sixty-five dollars", "165.00"),
        ("a hundred sixty five bucks", "165.00"),
        ("one thousand two hundred thirty-four dollars", "1234.00"),
        ("2k", "2000.00"),
    ],
)
def test_amounts_are_read_in_any_form(written: str, value: str) -> None:
    assert [v for _, _, v in money_mentions(f"The amount is {written} today.")] == [Decimal(value)]


@pytest.mark.parametrize(
    "reply",
    [
        "You have 2 payments left over 12 months.",
        "A promise can be up to 14 days ahead; you are 23 days past due.",
        "Your due day would move to the 20th of each month.",
        "Your APR is 24.99% (24.99 percent).",
        "In 2026, we are open 8:00 a.m. to 8:00 p.m.",
        "Call 1-800-555-0199 about loan L100 (ZIP 73301) by 2026-03-24 or 03/24/2026.",
        "Version 1.25.3 of the app, released 15.03.2026.",
    ],
)
def test_counts_days_rates_years_times_and_phones_are_not_amounts(reply: str) -> None:
    assert money_mentions(reply) == []


@pytest.mark.parametrize(
    "reply",
    [
        "You owe 165 dollars.",
        "You owe USD 165.",
        "You owe 165.00 today.",
        "You owe one hundred and sixty-five dollars.",
        "Your payoff is 2,762.97 dollars.",
        "Your next payment is one hundred fifty dollars.",
        "The late fee is fifteen dollars.",
    ],
)
def test_an_amount_from_the_tool_results_passes_in_any_form(reply: str, policy) -> None:
    assert check_grounding(reply, [SUMMARY_RESULT], policy, TODAY) == []


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ("You owe 170 dollars.", "$170.00"),
        ("You owe USD 170.", "$170.00"),
        ("You owe 170.00 today.", "$170.00"),
        ("You owe one hundred and seventy dollars.", "$170.00"),
        ("You owe one hundred dollars.", "$100.00"),
        ("Your payoff is 1,234 dollars.", "$1,234.00"),
        ("Please pay 500 today.", "$500.00"),
    ],
)
def test_an_amount_not_in_the_tool_results_is_caught_in_any_form(
    reply: str, detail: str, policy
) -> None:
    found = check_grounding(reply, [SUMMARY_RESULT], policy, TODAY)
    assert [(v.kind, v.detail) for v in found] == [("amount_not_grounded", detail)]


def test_an_amount_inside_a_link_is_the_links_business(policy) -> None:
    reply = f"Pay here: {PAY_URL}?amount=999.00"
    assert check_grounding(reply, [SUMMARY_RESULT], policy, TODAY) == []


def test_an_amount_in_words_before_verification_is_account_data(policy) -> None:
    found = check_disclosure_before_verification("You owe 165 dollars.", False, policy)
    assert [(v.kind, v.detail) for v in found] == [("account_data_before_verification", "$165.00")]
    assert (
        check_disclosure_before_verification("The late fee is fifteen dollars.", False, policy)
        == []
    )


def test_a_tool_error_echoing_the_models_arguments_is_no_evidence(policy) -> None:
    from langchain_core.messages import ToolMessage

    from agent.engine.middleware import reply_violations
    from agent.tools.context import ConversationContext

    ctx = ConversationContext(
        conversation_id="c1", session=None, policy=policy, now=datetime(2026, 3, 10, tzinfo=UTC)
    )
    echoed = "Error invoking tool with kwargs {'url': 'http://evil.example/pay'}"
    reply = "Pay at http://evil.example/pay"

    def kinds(status: str) -> list[str]:
        history = [ToolMessage(content=echoed, tool_call_id="t1", status=status)]
        return [v.kind for v in reply_violations(ctx, history, reply, None, LENDER)]

    assert kinds("error") == ["link_not_allowed"]
    assert kinds("success") == []  # what a tool answered is evidence
