"""Chinese and Spanish values read by the one set of value readers (issue #13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from agent.language.amounts import extract_amounts
from agent.language.confirmation import Answer, confirmation_of
from agent.language.dates import extract_birth_date, extract_date, extract_day_of_month
from agent.language.localized import canonical, chinese_number, english_dates, local_dates
from agent.language.postal_codes import extract_postal_code

TODAY = date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("下周五还", "zh", date(2026, 12, 11)),
        ("这周五", "zh", date(2026, 12, 4)),
        ("星期日", "zh", date(2026, 12, 6)),
        ("明天", "zh", date(2026, 12, 3)),
        ("后天", "zh", date(2026, 12, 4)),
        ("12月11日还款", "zh", date(2026, 12, 11)),
        ("5月13号", "zh", date(2027, 5, 13)),
        ("el 13 de mayo", "es", date(2027, 5, 13)),
        ("十二月十一号", "zh", date(2026, 12, 11)),
        ("三天后", "zh", date(2026, 12, 5)),
        ("el próximo viernes", "es", date(2026, 12, 4)),
        ("el viernes de la semana que viene", "es", date(2026, 12, 11)),
        ("mañana", "es", date(2026, 12, 3)),
        ("pasado mañana", "es", date(2026, 12, 4)),
        ("el 11 de diciembre", "es", date(2026, 12, 11)),
        ("en 3 días", "es", date(2026, 12, 5)),
        ("el 11/12", "es", date(2026, 12, 11)),  # the day first
    ],
)
def test_dates(text: str, language: str, expected: date) -> None:
    found = extract_date(canonical(text, language), TODAY)
    assert found is not None and found.value == expected


def test_por_la_manana_is_a_time_of_day_not_tomorrow() -> None:
    found = extract_date(canonical("le pago el viernes por la mañana", "es"), TODAY)
    assert found is not None and found.value == date(2026, 12, 4)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的生日是1988年4月12日，邮编73301", "zh"),
        ("出生日期1988/4/12 邮编73301", "zh"),
        ("Nací el 12/04/1988 y mi código postal es 73301", "es"),
        ("12 de abril de 1988, 73301", "es"),
    ],
)
def test_birth_dates_written_the_local_ways_and_postal_codes(text: str, language: str) -> None:
    text = canonical(text, language)
    assert extract_birth_date(text) == date(1988, 4, 12)
    assert extract_postal_code(text) == "73301"


@pytest.mark.parametrize(
    ("text", "language", "amount"),
    [
        ("还150美元", "zh", "150"),
        ("一百六十五块", "zh", "165"),
        ("两千三百元", "zh", "2300"),
        ("$165", "zh", "165"),
        ("puedo pagar 165 dólares", "es", "165"),
        ("150 dolares", "es", "150"),
    ],
)
def test_amounts(text: str, language: str, amount: str) -> None:
    assert extract_amounts(canonical(text, language)) == [Decimal(amount).quantize(Decimal("0.01"))]


def test_days_of_month() -> None:
    assert extract_day_of_month(canonical("把还款日改到每月15号", "zh")) == 15
    assert extract_day_of_month(canonical("cambiar la fecha de pago al día 20", "es")) == 20


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        ("好的", "zh", Answer.YES),
        ("是的，确认", "zh", Answer.YES),
        ("可以", "zh", Answer.YES),
        ("算了", "zh", Answer.NO),
        ("不要", "zh", Answer.NO),
        ("会收费吗？", "zh", Answer.QUESTION),
        ("等一下", "zh", Answer.HEDGED),
        ("Sí", "es", Answer.YES),
        ("sí, de acuerdo", "es", Answer.YES),
        ("claro que sí", "es", Answer.YES),
        ("no", "es", Answer.NO),
        ("mejor no", "es", Answer.NO),
        ("¿Eso tiene algún costo?", "es", Answer.QUESTION),
        ("tal vez", "es", Answer.HEDGED),
        ("si me lo quitan, sí", "es", Answer.CONDITIONAL),
    ],
)
def test_answers_to_a_proposal(text: str, language: str, answer: Answer) -> None:
    assert confirmation_of(text, language=language).answer == answer


def test_a_yes_in_another_language_than_the_conversations_is_not_a_yes() -> None:
    # The proposal was written in English: a write waits for an English yes (or the button).
    assert confirmation_of("好的", language="en").answer == Answer.UNCLEAR
    assert confirmation_of("sí", language="en").answer == Answer.UNCLEAR


def test_chinese_numbers() -> None:
    assert chinese_number("一百五十") == 150
    assert chinese_number("十五") == 15
    assert chinese_number("二〇二六") == 2026
    assert chinese_number("两千三百") == 2300
    assert chinese_number("一万零五百") == 10500
    assert chinese_number("好") is None


def test_english_text_is_left_as_it_is() -> None:
    assert canonical("yes, next friday $150", "en") == "yes, next friday $150"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("于February 15, 2026到期", "zh", "于2026年2月15日到期"),
        ("due March 13, 2026.", "es", "due 13 de marzo de 2026."),
        ("March 13, 2026", "en", "March 13, 2026"),
    ],
)
def test_dates_in_replies_are_written_the_local_way_and_read_back(
    text: str, language: str, expected: str
) -> None:
    written = local_dates(text, language)
    assert written == expected
    assert english_dates(written, language) == text


def test_a_bare_day_in_spanish_is_a_day_of_the_month() -> None:
    assert extract_day_of_month(canonical("el 5", "es")) == 5
    assert extract_day_of_month(canonical("para el 20", "es")) == 20
    found = extract_date(canonical("pago el 15", "es"), TODAY)
    assert found is not None and found.value == date(2026, 12, 15)
