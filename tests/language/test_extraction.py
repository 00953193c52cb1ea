"""What customer text means as values (agent/language): dates relative to a fixed today,
birth dates, ZIP codes, amounts, days of month, loan numbers, phones, channels and
contact hours, and the spelling normalisation the offline engine reads them after."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from agent.language.amounts import extract_amount_keyword, extract_amounts
from agent.language.contact import extract_channels, extract_contact_hours
from agent.language.dates import extract_birth_date, extract_date, extract_day_of_month
from agent.language.loan_numbers import first_loan_number
from agent.language.normalize import correct_word, normalize
from agent.language.number_words import words_to_number
from agent.language.phones import extract_phone
from agent.language.postal_codes import extract_postal_code
from agent.language.typos import edit_distance

TODAY = date(2026, 3, 10)  # a Tuesday


# --- payment dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can pay this Friday", date(2026, 3, 13)),
        ("on friday", date(2026, 3, 13)),
        ("by Fri", date(2026, 3, 13)),
        ("Friday the 13th", date(2026, 3, 13)),
        ("I'll pay on the 20th", date(2026, 3, 20)),
        ("the 20th", date(2026, 3, 20)),
        ("20th", date(2026, 3, 20)),
        ("on the 5th", date(2026, 4, 5)),  # the 5th of this month has passed
        ("the 10th", date(2026, 3, 10)),  # today counts
        ("on the nineteenth", date(2026, 3, 19)),
        ("March 20", date(2026, 3, 20)),
        ("march 20th", date(2026, 3, 20)),
        ("Mar. 20", date(2026, 3, 20)),
        ("20 March", date(2026, 3, 20)),
        ("the 20th of March", date(2026, 3, 20)),
        ("May 22", date(2026, 5, 22)),
        ("March 2", date(2027, 3, 2)),  # the next March 2
        ("3/20", date(2026, 3, 20)),
        ("5/22", date(2026, 5, 22)),
        ("3/18/2026", date(2026, 3, 18)),
        ("3/18/26", date(2026, 3, 18)),
        ("2026-03-18", date(2026, 3, 18)),
        ("March 24, 2026", date(2026, 3, 24)),
        ("tomorrow", date(2026, 3, 11)),
        ("tmrw", date(2026, 3, 11)),
        ("the day after tomorrow", date(2026, 3, 12)),
        ("in 5 days", date(2026, 3, 15)),
        ("in five days", date(2026, 3, 15)),
        ("in a week", date(2026, 3, 17)),
        ("in two weeks", date(2026, 3, 24)),
        ("next week", date(2026, 3, 16)),  # the Monday of next week
        ("Monday", date(2026, 3, 16)),
        ("this weekend", date(2026, 3, 14)),
        ("next Friday", date(2026, 3, 20)),
        ("end of the month", date(2026, 3, 31)),
        ("the 5th of next month", date(2026, 4, 5)),
        ("the 15th of next month", date(2026, 4, 15)),
        ("I promise to pay later today", TODAY),
        ("I can pay tonight", TODAY),
    ],
)
def test_payment_dates(text: str, expected: date) -> None:
    found = extract_date(text, TODAY)
    assert found is not None, text
    assert found.value == expected


@pytest.mark.parametrize(
    "text",
    [
        "what's my balance",
        "how much do I owe today",
        "I want to pay $165",
        "send me a link for 20 dollars",
        "how much is overdue",
    ],
)
def test_no_payment_date(text: str) -> None:
    assert extract_date(text, TODAY) is None


def test_relative_dates_follow_today() -> None:
    friday = extract_date("this friday", date(2026, 3, 13))
    saturday = extract_date("on friday", date(2026, 3, 14))
    assert friday is not None and friday.value == date(2026, 3, 13)  # today is Friday
    assert saturday is not None and saturday.value == date(2026, 3, 20)
    december = extract_date("in 3 weeks", date(2026, 12, 20))
    assert december is not None and december.value == date(2027, 1, 10)
    month_end = extract_date("end of the month", date(2026, 2, 3))
    assert month_end is not None and month_end.value == date(2026, 2, 28)


def test_explicit_year_is_reported() -> None:
    with_year = extract_date("3/18/2026", TODAY)
    without = extract_date("3/18", TODAY)
    assert with_year is not None and with_year.explicit_year
    assert without is not None and not without.explicit_year


# --- birth dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1988-04-12",
        "dob 1988-04-12",
        "1988/04/12",
        "04/12/1988",
        "4/12/1988",
        "4/12/88",
        "04-12-1988",
        "4.12.1988",
        "April 12, 1988",
        "april 12 1988",
        "Apr 12 1988",
        "Apr. 12th, 1988",
        "12 April 1988",
        "12th of April 1988",
        "born on the 12th of April, 1988",
        "04121988",
        "19880412",
        "my birthday is april 12th 88",
        "April 12th '88",
        "april twelfth 1988",
        "the twelfth of april, 1988",
    ],
)
def test_birth_dates(text: str) -> None:
    assert extract_birth_date(text) == date(1988, 4, 12)


def test_birth_date_day_first_when_month_first_is_impossible() -> None:
    assert extract_birth_date("25/12/1990") == date(1990, 12, 25)


@pytest.mark.parametrize("text", ["73301", "my zip is 73301", "I owe $165", "call me at 5"])
def test_no_birth_date(text: str) -> None:
    assert extract_birth_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "dob: 27-Aug-1979  zip: 48104-2210",
        "27 Aug 1979",
        "27-aug-79",
        "27/Aug/1979",
        "Aug-27-1979",
        "I was born in 1979, on August 27th",
        "I was born in 1979, on August 27th. zip code 48104",
        "born in 1979 on the 27th of August",
        "1979-Aug-27",
        "1979, aug 27",
    ],
)
def test_birth_dates_with_month_abbreviations_and_the_year_first(text: str) -> None:
    assert extract_birth_date(text) == date(1979, 8, 27)


@pytest.mark.parametrize(
    "text",
    [
        "zip code 48104",
        "I was born in 1979 and can pay on march 5th",  # the year is not the payment's
        "born in 1979. On March 5th I can pay",
    ],
)
def test_no_birth_date_from_a_zip_or_a_later_date(text: str) -> None:
    assert extract_birth_date(text) is None


def test_two_digit_years() -> None:
    assert extract_birth_date("1/5/01") == date(2001, 1, 5)
    assert extract_birth_date("1/5/75") == date(1975, 1, 5)


# --- ZIP codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("73301", "73301"),
        ("zip 73301", "73301"),
        ("my zip code is 73301", "73301"),
        ("ZIP: 02139", "02139"),
        ("postal code 08540", "08540"),
        ("73301-1234", "73301"),
        ("1988-04-12, zip 73301", "73301"),
        ("dob 04/12/1988 73301", "73301"),
        ("04121988 73301", "73301"),
        ("April 12, 1988 and 73301", "73301"),
        ("my phone is (512) 555-0100 and zip 73301", "73301"),
        ("512-555-0100 73301", "73301"),
        ("jan 5 1990. zip is 08540. what's the payoff?", "08540"),
        ("card 4111 1111 1111 1111, zip 73301", "73301"),
    ],
)
def test_postal_codes(text: str, expected: str) -> None:
    assert extract_postal_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I can pay $12345",
        "$12,345.00",
        "my loan number is HC-20417",
        "1988-04-12",
        "04/12/1988",
        "call me at 512-555-0100",
        "5125550100",
        "12345.67",
        "4111111111111111",
        "in 2 weeks",
    ],
)
def test_not_postal_codes(text: str) -> None:
    assert extract_postal_code(text) is None


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can pay $165 on Friday", [Decimal("165.00")]),
        ("$1,234.56", [Decimal("1234.56")]),
        ("$ 80", [Decimal("80.00")]),
        ("$82.5", [Decimal("82.50")]),
        ("75 dollars", [Decimal("75.00")]),
        ("165 bucks", [Decimal("165.00")]),
        ("100 USD", [Decimal("100.00")]),
        ("pay $100 now and $65 friday", [Decimal("100.00"), Decimal("65.00")]),
        ("I'll send 165 on 3/20", [Decimal("165")]),
        ("I'm gonna pay you 120 on monday", [Decimal("120")]),
        ("I can cover 90 next week", [Decimal("90")]),
    ],
)
def test_amounts(text: str, expected: list[Decimal]) -> None:
    assert extract_amounts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pay on the 20th",
        "pay in 5 days",
        "pay 3/20",
        "my zip is 73301",
        "what's my balance",
        "pay at 5 pm",
    ],
)
def test_no_amounts(text: str) -> None:
    assert extract_amounts(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send a link for the past due amount", "past_due"),
        ("what I'm behind", "past_due"),
        ("to get caught up", "past_due"),
        ("the full balance", "payoff"),
        ("pay it all off", "payoff"),
        ("my next installment", "next_due"),
        ("this month's bill", "next_due"),
        ("my monthly payment", "next_due"),
        ("hello", None),
    ],
)
def test_amount_keywords(text: str, expected: str | None) -> None:
    assert extract_amount_keyword(text) == expected


# --- days of the month ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("change my due date to the 20th", 20),
        ("the 1st", 1),
        ("the 2nd of each month", 2),
        ("23rd", 23),
        ("the fifth", 5),
        ("twenty-first", 21),
        ("twenty eighth", 28),
        ("move it to 15", 15),
        ("make it 12", 12),
        ("12", 12),
        ("the 29th", 29),  # out of range: the tool explains the rule
    ],
)
def test_day_of_month(text: str, expected: int) -> None:
    assert extract_day_of_month(text) == expected


@pytest.mark.parametrize("text", ["change my due date", "move it to 15 dollars", "in 5 days"])
def test_no_day_of_month(text: str) -> None:
    assert extract_day_of_month(text) is None


# --- loan numbers and phones ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my loan number is L100", "L100"),
        ("loan # hc-20417", "HC-20417"),
        ("loan id: AB123456", "AB123456"),
        ("l100", "L100"),
    ],
)
def test_loan_numbers(text: str, expected: str) -> None:
    # One rule for loan numbers (agent/language/loan_numbers.py), used by the engine too.
    assert first_loan_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(512) 555-0100", "5125550100"),
        ("512.555.0100", "5125550100"),
        ("+1 512 555 0100", "5125550100"),
        ("5125550100", "5125550100"),
        ("call 555-0100", "5550100"),
    ],
)
def test_phones(text: str, expected: str) -> None:
    assert extract_phone(text) == expected


# --- contact channels and hours -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stop texting me", ["sms"]),
        ("no more text messages", ["sms"]),
        ("unsubscribe me from emails", ["email"]),
        ("no e-mails", ["email"]),
        ("stop the robocalls", ["calls"]),
        ("no calls or texts", ["sms", "calls"]),
    ],
)
def test_channels(text: str, expected: list[str]) -> None:
    assert extract_channels(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("only call me between 9am and 5pm", "09:00-17:00"),
        ("call between 9 and 5", "09:00-17:00"),
        ("call me 9-5", "09:00-17:00"),
        ("you can call me between 6 and 8 pm", "18:00-20:00"),
        ("please contact me only from 10:00 to 16:00", "10:00-16:00"),
        ("contact me from 9:30 am to 4:30 pm", "09:30-16:30"),
        ("I prefer to be contacted in the mornings, like 8 to 11", "08:00-11:00"),
        ("text me 1 to 4", "13:00-16:00"),
        ("only call me after 6pm", "18:00-21:00"),
        ("please don't call me before noon", "08:00-12:00"),
        ("call me only in the mornings", "08:00-12:00"),
        ("evenings only please", "17:00-20:00"),
        ("afternoons are best, call me then", "12:00-17:00"),
    ],
)
def test_contact_hours(text: str, expected: str) -> None:
    assert extract_contact_hours(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "stop calling me",
        "I can pay $5 to $10",
        "I'll pay on the 9th to the 15th",
        "good morning",
    ],
)
def test_no_contact_hours(text: str) -> None:
    assert extract_contact_hours(text) is None


# --- spelling and slang -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wat is my balanse", "what is my balance"),
        ("how much is ovedue on my acount", "how much is overdue on my account"),
        ("can i get a defferal on my paymnet", "can i get a deferral on my payment"),
        ("i cn pay 165 on fridy", "i can pay 165 on friday"),
        ("plz waive teh late fe", "please waive the late fee"),
        ("pls stop txting me", "please stop texting me"),
        ("snd me a pymnt link", "send me a payment link"),
        ("let me talk to ur superviser", "let me talk to your supervisor"),
        ("chnage my due date", "change my due date"),
    ],
)
def test_normalize_fixes_typos_and_slang(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hi, Linh here. born july 4th 2001",
        "my loan number is L100",
        "I mailed a check",
        "another creditor sued me",
        "dob 1988-04-12 zip 73301",
        "I emailed you yesterday",
    ],
)
def test_normalize_leaves_correct_text_alone(text: str) -> None:
    assert normalize(text) == text


def test_ambiguous_typos_are_left_alone() -> None:
    assert correct_word("xqzzv") == "xqzzv"
    assert edit_distance("paymnet", "payment") == 1  # a transposition counts once
    assert edit_distance("abc", "abcdef", limit=3) == 3


# --- probe findings (today = Wednesday 2026-04-22); raw and normalised text alike ----------

PROBE_TODAY = date(2026, 4, 22)


def _both_forms(text: str) -> list[str]:
    """The customer's text and what the engine sees after ``normalize``."""
    return list(dict.fromkeys((text, normalize(text))))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a named day wins over "after work" / "tonight"
        ("gonna send 200 bucks tmrw after work", date(2026, 4, 23)),
        ("i can pay tomorrow night", date(2026, 4, 23)),
        ("i'll pay friday after work", date(2026, 4, 24)),
        ("i can pay after work", PROBE_TODAY),
        ("I can pay tonight", PROBE_TODAY),
        # spans counted from today, now, tomorrow or a weekday
        ("i can do 200 a week from today", date(2026, 4, 29)),
        ("a week from now", date(2026, 4, 29)),
        ("a week from tomorrow", date(2026, 4, 30)),
        ("two weeks from today", date(2026, 5, 6)),
        ("10 days from now", date(2026, 5, 2)),
        ("a week from friday", date(2026, 5, 1)),
        ("in a week", date(2026, 4, 29)),
        ("in 2 weeks", date(2026, 5, 6)),
        ("in 2 wks", date(2026, 5, 6)),
        ("in a couple weeks", date(2026, 5, 6)),
        ("in 10 days", date(2026, 5, 2)),
        ("what if i pay what im behind in 2 wks", date(2026, 5, 6)),
        # the end of a month
        ("I'll get the past due paid off by the end of the month", date(2026, 4, 30)),
        ("end of this month", date(2026, 4, 30)),
        ("the last day of the month", date(2026, 4, 30)),
        ("end of next month", date(2026, 5, 31)),
        ("the last day of next month", date(2026, 5, 31)),
        ("the beginning of next month", date(2026, 5, 1)),
        # spelled days
        ("i will pay two hundred dollars on april twenty ninth", date(2026, 4, 29)),
        ("april twenty-ninth", date(2026, 4, 29)),
        ("april the twenty ninth", date(2026, 4, 29)),
        ("on april twenty nine", date(2026, 4, 29)),
        ("the twenty-ninth", date(2026, 4, 29)),
        ("I can do the twenty ninth", date(2026, 4, 29)),
        ("the twenty-ninth of april", date(2026, 4, 29)),
        ("the first of next month", date(2026, 5, 1)),
        ("on may first", date(2026, 5, 1)),
        ("may twenty-ninth", date(2026, 5, 29)),
        ("june thirtieth", date(2026, 6, 30)),
        ("april 29th", date(2026, 4, 29)),
        ("29th of april", date(2026, 4, 29)),
        # digits
        ("Can I commit to paying $200 on 4/30?", date(2026, 4, 30)),
        ("i can pay 200 on the 28th", date(2026, 4, 28)),
    ],
)
def test_probe_payment_dates(text: str, expected: date) -> None:
    for form in _both_forms(text):
        found = extract_date(form, PROBE_TODAY)
        assert found is not None, form
        assert found.value == expected, form


@pytest.mark.parametrize(
    "text",
    [
        "I can pay $200",
        "200 bucks",
        "1,000",
        "pay 1,000",
        "call me at 9am",
        "i can do 9am",
        "i can pay 20 may be more",  # "may" the verb
        "i may first pay 50",
        "the first one",  # picks a loan, not a day
        "the second loan",
        "first of all, what do i owe",
        "april twenty five dollars",
    ],
)
def test_probe_no_payment_date(text: str) -> None:
    for form in _both_forms(text):
        assert extract_date(form, PROBE_TODAY) is None, form


def test_pay_amount_next_month_is_not_a_day() -> None:
    found = extract_date("i can pay 20 next month", PROBE_TODAY)
    assert found is not None and found.value == date(2026, 5, 22)  # not May 20th


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # number words with money context or as what is paid
        ("a hundred and fifty", ["150"]),
        ("ok a hundred and fifty then", ["150"]),
        ("two hundred dollars", ["200"]),
        ("seventy five dollars", ["75"]),
        ("seventy-five bucks", ["75"]),
        ("i can do one fifty on friday", ["150"]),
        ("pay twelve fifty", ["1250"]),
        ("a grand", ["1000"]),
        ("i can send two grand", ["2000"]),
        ("fifteen hundred dollars", ["1500"]),
        ("i can pay fifteen hundred", ["1500"]),
        ("link for seventy five dollars", ["75"]),
        ("i can do a hundred and fifty on the 28th", ["150"]),
        ("i will pay two hundred dollars on april twenty ninth", ["200"]),
        ("pay two hundred and twenty five", ["225"]),
        ("pay one hundred twenty five dollars", ["125"]),
        ("i can pay twenty five on the fifth", ["25"]),
        # bare numbers paid
        ("link for 3542.71 please", ["3542.71"]),
        ("payment link for 1,000", ["1000"]),
        ("pay 200 tomorrow", ["200"]),
        ("i can do 200 a week from today", ["200"]),
        ("gonna send 200 bucks tmrw after work", ["200.00"]),
        ("Can I commit to paying $200 on 4/30?", ["200.00"]),
        ("i can pay like 150 on friday", ["150"]),
        ("send 2k", ["2000.00"]),
        ("my zip is 73301 and i can pay 200", ["200"]),
        ("loan LB1, pay 300", ["300"]),
        ("pay $100 now and $65 friday", ["100.00", "65.00"]),
    ],
)
def test_probe_amounts(text: str, expected: list[str]) -> None:
    for form in _both_forms(text):
        assert extract_amounts(form) == [Decimal(x) for x in expected], form


@pytest.mark.parametrize(
    "text",
    [
        # number words that count something else
        "pay on the fifth",
        "i want to pay one loan off",
        "can i pay both, i have two loans",
        "i can pay one of them",
        "can i pay in a week",
        "give me ten days",
        "i can pay ten days late",
        "i can pay five",  # too small to read as money without a currency word
        # dates, days, years, times, counts, identifiers
        "pay 4/30",
        "pay the 28th",
        "pay april 29",
        "i'll pay 2026-05-01",
        "i'll pay on 5/1/2026",
        "my zip is 73301",
        "pay zip 73301",
        "pay 512-555-0100",
        "my loan number is L100",
        "pay L100",
        "pay LB1",
        "i can do 9am",
        "i can do 10 to 2pm",
        "call between 9 and 5",
        "pay at 10:30",
        "pay in 10 days",
        "pay in 2 weeks",
        "make 12 payments",
        "i could borrow from my 401k",
        "I'll get the past due paid off by the end of the month",
        "what if i pay what im behind in 2 wks",
    ],
)
def test_probe_no_amounts(text: str) -> None:
    for form in _both_forms(text):
        assert extract_amounts(form) == [], form


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("a hundred and fifty", 150),
        ("one fifty", 150),
        ("two twenty five", 225),
        ("seventy-five", 75),
        ("fifteen hundred", 1500),
        ("a grand", 1000),
        ("one thousand five hundred", 1500),
        ("a thousand and fifty", 1050),
        ("a", None),
        ("hundred", None),
        ("five twenty twenty", None),
        ("fifty and five", None),
    ],
)
def test_words_to_number(phrase: str, expected: int | None) -> None:
    assert words_to_number(phrase) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("only reach out between 9 and noon please", "09:00-12:00"),
        ("only call between 9am and midday", "09:00-12:00"),
        ("call me between 9 and 12pm", "09:00-12:00"),
        ("call me between noon and 5", "12:00-17:00"),
        ("only text me after noon", "12:00-21:00"),
        ("please don't call me before midday", "08:00-12:00"),
        ("call between 6pm and midnight", "18:00-23:59"),
    ],
)
def test_probe_contact_hours(text: str, expected: str) -> None:
    for form in _both_forms(text):
        assert extract_contact_hours(form) == expected, form


def test_no_contact_hours_after_midnight() -> None:
    assert extract_contact_hours("no calls after midnight") is None
