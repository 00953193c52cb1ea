"""Chinese and Spanish values, rewritten into the forms the one set of value readers
(``dates``, ``amounts``, ``postal_codes``, ``confirmation``, ``contact``) reads.

``canonical(text, language)`` keeps the message and rewrites only what carries a value:
dates ("下周五" → "next friday", "1988年4月12日" → "1988-04-12", "el 11 de diciembre" →
"december 11", "12/04/1988" → "1988-04-12": Spanish writes the day first), amounts
("150美元", "一百五十块", "150 dólares" → "$150"), answers to a proposal ("好的" → "yes",
"算了" → "no", "¿...?" → a question), and contact words ("短信" → "texts", "no me llamen"
→ "don't call me"). Everything else is left as it is, so a reader finds nothing it
should not. English text is returned unchanged.
"""

from __future__ import annotations

import calendar
import re
import unicodedata

LOCALIZED = ("zh", "es")
_MONTH_NAMES = {n: calendar.month_name[n].lower() for n in range(1, 13)}
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# --- Chinese ---------------------------------------------------------------------------

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_ZH_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def chinese_number(text: str) -> int | None:
    """一百五十 → 150, 十五 → 15, 二〇二六 → 2026; None when it is not a number."""
    if not text or any(ch not in _ZH_DIGITS and ch not in _ZH_UNITS for ch in text):
        return None
    if all(ch in _ZH_DIGITS for ch in text):  # digit by digit: 二〇二六
        return int("".join(str(_ZH_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
            continue
        unit = _ZH_UNITS[ch]
        if unit == 10000:
            total += (section + (digit or 0)) * unit
            section, digit = 0, None
        else:
            section += (1 if digit is None else digit) * unit
            digit = None
    return total + section + (digit or 0)


def _zh_numbers_to_digits(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        word = match.group()
        value = chinese_number(word)
        # A lone 一/两 is an article ("一下", "两个月" stays a count, which is fine as 2).
        if value is None or (len(word) == 1 and word in "一"):
            return word
        return f"{value}"

    return _ZH_NUMBER.sub(replace, text)


_ZH_WEEKDAY_RULES: tuple[tuple[re.Pattern[str], object], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"下(个)?(星期|周|礼拜)([一二三四五六日天])", lambda m: f" next {_weekday(m[3])} "),
        (r"(这|本)(个)?(星期|周|礼拜)([一二三四五六日天])", lambda m: f" this {_weekday(m[4])} "),
        (r"(星期|周|礼拜)([一二三四五六日天])", lambda m: f" {_weekday(m[2])} "),
    )
)
_ZH_RULES: tuple[tuple[re.Pattern[str], object], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # dates of birth and full dates
        (r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?", r" \1-\2-\3 "),
        (r"(\d{4})\s*[./]\s*(\d{1,2})\s*[./]\s*(\d{1,2})", r" \1-\2-\3 "),
        # month and day
        (r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]", lambda m: f" {_month_day(m)} "),
        (r"(\d{1,2})\s*月\s*底", lambda m: f" {_MONTH_NAMES[int(m[1])]} 28 "),
        (r"下(个)?月\s*(\d{1,2})\s*[日号]", r" the \2th of next month "),
        (r"(本|这个)?月底", " end of the month "),
        (r"(?:每月|每个月)?\s*(\d{1,2})\s*[日号]", r" the \1th "),
        # relative days
        (r"大后天", " in 3 days "),
        (r"后天", " in 2 days "),
        (r"明天|明日", " tomorrow "),
        (r"今天|今日", " today "),
        (r"(\d{1,3})\s*天(之?后|以后|内|之内)", r" in \1 days "),
        (r"(\d{1,2})\s*(个)?(星期|周|礼拜)(之?后|以后|内|之内)", r" in \1 weeks "),
        (r"下(个)?(星期|周|礼拜)", " next week "),
        # amounts named by what they are
        (
            r"(逾期|拖欠|欠下|没还|未还|迟交|过期)的?(钱|金额|款项?|部分|那部分|费用)?",
            " the past due amount ",
        ),
        (r"(全部|一次性|提前)?(还清|结清|付清|还完)", " payoff "),
        (r"(下一期|下期|这一期|本期|这期|这个月)的?(还款|月供|账单|款)?", " next payment "),
        # amounts: the lender's currency is the dollar, whatever the customer calls it
        (r"(\d[\d,]*(?:\.\d+)?)\s*(美元|美金|刀|块钱|块|元|dollars?|usd)", r" $\1 "),
        (r"[$＄]\s*(\d)", r" $\1"),
        # contact channels and what is asked of them
        (r"短信|简讯", " texts "),
        (r"电子邮件|邮件|电邮|email", " emails "),
        (r"打电话|来电|电话", " calls "),
        (r"(不要|别|不用|请勿|停止)(再)?(给我)?(发|打)?", " don't "),
        (r"只(在)?", " only "),
    )
)
# Answers to a proposal: read only in a short reply ("是" is also "is" in a sentence).
_ZH_ANSWER_RULES: tuple[tuple[re.Pattern[str], object], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(吗|呢)\s*[?？]?\s*$", " ? "),
        (r"[?？]", " ? "),
        (r"如果|要是|只要", " if "),
        (r"但是|不过|可是", " but "),
        (r"也许|可能|不确定|不一定|再想想|考虑一下", " maybe "),
        (r"等一下|等等|稍等|先别", " wait "),
        (r"算了|取消|不行|不对|不同意|不要了|不是|不", " no "),
        (r"是的|是|好的|好吧|好|可以|行|确认|同意|对的|对|没问题|嗯嗯|嗯|就这样|没错", " yes "),
    )
)


def _month_day(match: re.Match[str]) -> str:
    month = int(match[1])
    return f"{_MONTH_NAMES[month]} {int(match[2])}" if 1 <= month <= 12 else match.group()


def _weekday(character: str) -> str:
    return _EN_WEEKDAYS[_ZH_WEEKDAY[character]]


_SHORT_REPLY_HAN = 12


def _canonical_zh(text: str) -> str:
    short = len(re.findall(r"[\u3400-\u9fff]", text)) <= _SHORT_REPLY_HAN
    for pattern, replacement in _ZH_WEEKDAY_RULES:
        text = pattern.sub(replacement, text)  # type: ignore[arg-type]
    text = _zh_numbers_to_digits(text)
    for pattern, replacement in (*_ZH_RULES, *(_ZH_ANSWER_RULES if short else ())):
        text = pattern.sub(replacement, text)  # type: ignore[arg-type]
    # A boundary between Chinese and Latin letters or digits ("邮编73301", "贷款L100").
    text = re.sub(
        r"(?<=[\u3000-\u9fff])(?=[A-Za-z0-9$])|(?<=[A-Za-z0-9])(?=[\u3000-\u9fff])", " ", text
    )
    return text


# --- Spanish ---------------------------------------------------------------------------

_ES_MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
}
_ES_WEEKDAYS = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
}
_ES_MONTH_RE = "|".join(_ES_MONTHS)
_ES_WEEKDAY_RE = "|".join(_ES_WEEKDAYS)
_ES_NUMBERS = {
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "quince": 15,
    "veinte": 20,
    "treinta": 30,
}
_ES_COUNT_RE = "|".join(sorted(_ES_NUMBERS, key=len, reverse=True))


def _es_weekday(name: str) -> str:
    return _EN_WEEKDAYS[_ES_WEEKDAYS[name]]


def _es_date(match: re.Match[str], *, with_year: bool) -> str:
    day, month = int(match["day"]), _ES_MONTHS[match["month"]]
    if with_year:
        return f" {int(match['year']):04d}-{month:02d}-{day:02d} "
    return f" {_MONTH_NAMES[month]} {day} "


def _es_count(word: str) -> str:
    return str(_ES_NUMBERS.get(word, word))


_ES_RULES: tuple[tuple[re.Pattern[str], object], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        # full dates: the day comes first
        (
            rf"\b(?P<day>\d{{1,2}})\s+de\s+(?P<month>{_ES_MONTH_RE})\s+(?:de(l)?\s+)?"
            rf"(?P<year>\d{{4}})\b",
            lambda m: _es_date(m, with_year=True),
        ),
        (
            r"\b(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4})\b",
            lambda m: f" {int(m['year']):04d}-{int(m['month']):02d}-{int(m['day']):02d} ",
        ),
        (
            rf"\b(?:el\s+)?(?P<day>\d{{1,2}})\s+de\s+(?P<month>{_ES_MONTH_RE})\b",
            lambda m: _es_date(m, with_year=False),
        ),
        (
            r"\b(?P<day>\d{1,2})/(?P<month>\d{1,2})\b(?!/)",
            lambda m: (
                f" {_MONTH_NAMES[int(m['month'])]} {int(m['day'])} "
                if 1 <= int(m["month"]) <= 12
                else m.group()
            ),
        ),
        (
            r"\b(?:el\s+)?d[ií]a\s+(\d{1,2})\s+del?\s+(?:pr[oó]ximo|siguiente)\s+mes\b",
            r" the \1th of next month ",
        ),
        (
            r"\b(?:el\s+)?(\d{1,2})\s+del?\s+(?:pr[oó]ximo|siguiente)\s+mes\b",
            r" the \1th of next month ",
        ),
        (r"\b(?:el\s+)?d[ií]a\s+(\d{1,2})\b", r" the \1th "),
        # "el 5", "para el 20": a day of the month (not "el 5%", "el 5 de marzo", an amount)
        (r"\bel\s+(\d{1,2})(?![\d.,:/%]|\s*(?:de\b|d[oó]lares|dolares|usd|pesos))", r" the \1th "),
        (r"\b(?:a\s+)?fin(?:al)?(?:es)?\s+de(?:l)?\s+mes\b", " end of the month "),
        # relative days ("mañana" is also "morning": "por la mañana" is not a date)
        (r"\b(?:por|en|de)\s+la\s+ma[nñ]ana\b", " in the morning "),
        (r"\bpasado\s+ma[nñ]ana\b", " in 2 days "),
        (r"\bma[nñ]ana\b", " tomorrow "),
        (r"\bhoy\b", " today "),
        (
            rf"\b(?:en|dentro\s+de)\s+(\d{{1,3}}|{_ES_COUNT_RE})\s+d[ií]as\b",
            lambda m: f" in {_es_count(m[1].lower())} days ",
        ),
        (
            rf"\b(?:en|dentro\s+de)\s+(\d{{1,2}}|{_ES_COUNT_RE})\s+semanas?\b",
            lambda m: f" in {_es_count(m[1].lower())} weeks ",
        ),
        (
            rf"\b(?:el\s+)?({_ES_WEEKDAY_RE})\s+de\s+la\s+(?:pr[oó]xima\s+semana|semana\s+que\s+viene)\b",
            lambda m: f" next {_es_weekday(m[1].lower())} ",
        ),
        (
            rf"\b(?:el\s+)?(?:pr[oó]ximo|este|esta)\s+({_ES_WEEKDAY_RE})\b",
            lambda m: f" {_es_weekday(m[1].lower())} ",
        ),
        (
            rf"\b(?:el\s+)?({_ES_WEEKDAY_RE})(?:\s+que\s+viene|\s+pr[oó]ximo)?\b",
            lambda m: f" {_es_weekday(m[1].lower())} ",
        ),
        (r"\b(?:la\s+)?(?:pr[oó]xima\s+semana|semana\s+que\s+viene)\b", " next week "),
        # amounts named by what they are
        (
            r"\b(lo\s+(vencido|atrasado|que\s+debo\s+atrasado)|(el\s+)?(saldo|monto|pago)\s+"
            r"(vencido|atrasado|pendiente\s+vencido)|los\s+pagos\s+atrasados|lo\s+que\s+tengo\s+"
            r"(vencido|atrasado))\b",
            " the past due amount ",
        ),
        (
            r"\b(liquidar|saldar|pagar\s+todo|pagar\s+el\s+total|cancelar\s+el\s+pr[eé]stamo|"
            r"el\s+total\s+del\s+pr[eé]stamo|todo\s+lo\s+que\s+debo)\b",
            " payoff ",
        ),
        (
            r"\b((la\s+)?pr[oó]xima\s+(cuota|mensualidad)|(el\s+)?pr[oó]ximo\s+pago|"
            r"(la\s+)?cuota\s+de\s+este\s+mes|(el\s+)?pago\s+(mensual|de\s+este\s+mes))\b",
            " next payment ",
        ),
        # amounts
        (r"(\d[\d,]*(?:\.\d+)?)\s*(?:d[oó]lares|dolares|d[oó]lar|usd|pesos)\b", r" $\1 "),
        # contact channels
        (r"\bmensajes?\s+de\s+texto\b|\bsms\b|\btextos?\b", " texts "),
        (r"\bcorreos?(\s+electr[oó]nicos?)?\b|\bemails?\b|\be-mails?\b", " emails "),
        (r"\bllamadas?\b|\bllamen\b|\bllamar(me)?\b|\bllamen(me)?\b", " calls "),
        (r"\bno\s+me\b", " don't "),
        (r"\bsolo\b|\bsólo\b|\bsolamente\b|\búnicamente\b", " only "),
        (r"\by\b", " and "),
        # answers to a proposal
        (r"¿", " "),
        (r"\bsi\s+(?=\w+\s+\w+)", " if "),  # "si puedo pagar..." (an unaccented "si" + clause)
        (r"\bpero\b", " but "),
        (r"\b(tal\s+vez|quiz[aá]s?|a\s+lo\s+mejor|no\s+estoy\s+segur[oa]|no\s+s[eé])\b", " maybe "),
        (r"\b(espera|esp[eé]rame|todav[ií]a\s+no|a[uú]n\s+no|ahorita\s+no)\b", " wait "),
        (r"\b(cancela(lo)?|mejor\s+no|no\s+gracias|no\s+quiero|nada)\b", " no "),
        (
            r"\b(s[ií]+|claro(\s+que\s+s[ií])?|de\s+acuerdo|vale|dale|sale|confirmo|"
            r"est[aá]\s+bien|adelante|por\s+supuesto|correcto|eso\s+es|perfecto|h[aá]galo|"
            r"hazlo|ok(ey)?)\b",
            " yes ",
        ),
    )
)


def _canonical_es(text: str) -> str:
    folded = "".join(
        ch
        for ch in unicodedata.normalize("NFD", text)
        if unicodedata.category(ch) != "Mn" or ch == "\u0303"  # keep ñ
    )
    folded = unicodedata.normalize("NFC", folded)
    for pattern, replacement in _ES_RULES:
        folded = pattern.sub(replacement, folded)  # type: ignore[arg-type]
    return folded


def canonical(text: str, language: str) -> str:
    """``text`` with its Chinese or Spanish values rewritten for the value readers."""
    if language not in LOCALIZED or not text:
        return text
    text = unicodedata.normalize("NFKC", text)  # full-width digits and punctuation
    rewritten = _canonical_zh(text) if language == "zh" else _canonical_es(text)
    return " ".join(rewritten.split())


# --- dates in replies ------------------------------------------------------------------

_ES_MONTH_NAMES = {n: name for name, n in _ES_MONTHS.items() if name != "setiembre"}
# Not \b: in Chinese a date sits between ideographs, which are word characters too.
_ENGLISH_DATE = re.compile(
    r"(?<![A-Za-z])(?P<month>" + "|".join(m.capitalize() for m in _MONTH_NAMES.values()) + r")"
    r" (?P<day>\d{1,2}), (?P<year>\d{4})(?!\d)"
)
_LOCAL_DATE = {
    "zh": re.compile(r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日"),
    "es": re.compile(
        r"\b(?P<day>\d{1,2}) de (?P<month>" + "|".join(_ES_MONTH_NAMES.values()) + r")"
        r" de (?P<year>\d{4})\b"
    ),
}
_ENGLISH_MONTHS = {name.capitalize(): n for n, name in _MONTH_NAMES.items()}


def local_dates(text: str, language: str) -> str:
    """English dates of the lender's format ("March 13, 2026") written the language's
    way: 2026年3月13日, 13 de marzo de 2026."""
    if language not in LOCALIZED:
        return text

    def replace(m: re.Match[str]) -> str:
        month, day, year = _ENGLISH_MONTHS[m["month"]], int(m["day"]), m["year"]
        if language == "zh":
            return f"{year}年{month}月{day}日"
        return f"{day} de {_ES_MONTH_NAMES[month]} de {year}"

    return _ENGLISH_DATE.sub(replace, text)


def english_dates(text: str, language: str) -> str:
    """The reverse of :func:`local_dates`, for checks that read the lender's format."""
    if language not in LOCALIZED:
        return text

    def replace(m: re.Match[str]) -> str:
        month = m["month"]
        number = int(month) if month.isdigit() else _ES_MONTHS[month]
        if not 1 <= number <= 12:
            return m.group()
        return f"{_MONTH_NAMES[number].capitalize()} {int(m['day'])}, {m['year']}"

    return _LOCAL_DATE[language].sub(replace, text)
