"""Prohibited content in the assistant's own replies (POLICY.md §5).

``check_prohibited`` flags threats, harassment and shaming, false urgency, claims of
arrest / jail / garnishment / lawsuits or other legal action, and legal, tax or
credit-repair advice. It must leave the agent's ordinary policy statements alone
("a payment more than 10 days late gets a $15.00 late fee", "I can connect you with a
person", "If you're thinking about suicide, call or text 988", "I can't give legal
advice"), so every pattern is about the assistant *doing* the prohibited thing, and
sentences that disclaim or negate it are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THREAT = "threat"
HARASSMENT = "harassment"
SHAMING = "shaming"
FALSE_URGENCY = "false_urgency"
LEGAL_THREAT = "legal_threat"
LEGAL_ADVICE = "legal_advice"
TAX_ADVICE = "tax_advice"
CREDIT_REPAIR = "credit_repair"


@dataclass(frozen=True)
class ContentViolation:
    kind: str
    evidence: str


_I = re.IGNORECASE
_WE = r"(?:we|i|harbor|our\s+(?:company|team|legal\s+(?:team|department)|lawyers?|attorneys?))"
_WILL = (
    r"(?:will|'ll|are\s+going\s+to|is\s+going\s+to|am\s+going\s+to|shall|may|might|can|could|"
    r"intend\s+to|plan\s+to)"
)

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    LEGAL_THREAT: [
        re.compile(
            r"\b(?:you\s+(?:will|could|may|might|are\s+going\s+to)\s+(?:be\s+)?|(?:face|facing|risk)\s+)"
            r"(?:be\s+)?(?:arrested|jailed|imprisoned|prosecuted|sued|taken\s+to\s+court|"
            r"locked\s+up|sent\s+to\s+(?:jail|prison)|(?:an?\s+)?arrest|jail|prison|criminal\s+charges|"
            r"a\s+lawsuit|legal\s+action|prosecution|garnishment)\b",
            _I,
        ),
        re.compile(
            _WE + r"\s+" + _WILL + r"\s+(?:\w+\s+){0,2}?(?:sue|take\s+(?:you|legal\s+action)|"
            r"file\s+(?:a\s+)?(?:lawsuit|suit|charges|a\s+claim)|press\s+charges|garnish|seize|repossess|"
            r"have\s+you\s+arrested|call\s+the\s+police|report\s+you\s+to\s+the\s+(?:police|authorities)|"
            r"pursue\s+legal|start\s+legal|begin\s+legal|refer\s+(?:this|your\s+account)\s+to\s+"
            r"(?:our\s+)?(?:attorneys?|lawyers|legal))",
            _I,
        ),
        re.compile(r"\bwe\s+will\s+sue\b|\breport\s+you\s+to\s+the\s+police\b", _I),
        re.compile(r"\b(?:wages?|paycheck|salary)\s+(?:will|can|could|may)\s+be\s+garnished\b", _I),
        re.compile(r"\bgarnish(?:ing|ment\s+of)?\s+(?:your\s+)?(?:wages?|paycheck|salary)\b", _I),
        re.compile(
            r"\b(?:warrant|police|sheriff|authorities)\s+(?:will|may|could)\s+(?:be\s+)?"
            r"(?:issued|come|arrive|contact\s+you|called|notified)\b",
            _I,
        ),
        re.compile(
            r"\bthis\s+is\s+a\s+(?:criminal|legal)\s+matter\b|\b(?:criminal|fraud)\s+charges\b", _I
        ),
    ],
    THREAT: [
        re.compile(
            r"\b(?:or\s+else|you'?ll\s+regret|you\s+will\s+regret|we\s+know\s+where\s+you\s+(?:live|work)|"
            r"we\s+will\s+(?:contact|call|tell|inform)\s+your\s+(?:employer|boss|family|neighbou?rs|friends)|"
            r"(?:tell|inform|notify)\s+your\s+(?:employer|boss|family|neighbou?rs|friends)\s+about\s+your\s+debt|"
            r"make\s+your\s+life\s+(?:difficult|hard|miserable)|consequences\s+will\s+be\s+severe|"
            r"serious\s+consequences)\b",
            _I,
        ),
        re.compile(r"\b(?:ruin|destroy|wreck)\s+your\s+(?:credit|life|reputation)\b", _I),
    ],
    HARASSMENT: [
        re.compile(
            r"\b(?:we\s+will\s+(?:keep|continue\s+to)\s+(?:calling|call|contacting|texting)\s+(?:you\s+)?"
            r"(?:until|day\s+and\s+night|every\s+(?:day|hour))|stop\s+(?:ignoring|dodging|avoiding)\s+us|"
            r"shut\s+up|stop\s+whining|quit\s+complaining|stop\s+making\s+excuses|no\s+more\s+excuses|"
            r"deadbeat|loser|idiot|stupid|pathetic|liar|you\s+people)\b",
            _I,
        ),
    ],
    SHAMING: [
        re.compile(
            r"\b(?:you\s+should\s+(?:be|feel)\s+(?:ashamed|embarrassed|guilty)|shame\s+on\s+you|"
            r"(?:you\s+are|you're|that\s+is|that's|how)\s+(?:so\s+|very\s+|really\s+|being\s+)?"
            r"(?:irresponsible|careless|reckless|lazy|dishonest|a\s+disgrace)|irresponsible|"
            r"you\s+(?:only\s+)?have\s+yourself\s+to\s+blame|your\s+own\s+fault|"
            r"(?:people|borrowers|someone)\s+like\s+you|what\s+kind\s+of\s+person)\b",
            _I,
        ),
    ],
    FALSE_URGENCY: [
        re.compile(
            r"\b(?:act\s+now|final\s+warning|last\s+warning|last\s+chance|final\s+notice|"
            r"immediately\s+or|right\s+now\s+or|today\s+or\s+(?:else|we|you)|before\s+it'?s\s+too\s+late|"
            r"time\s+is\s+running\s+out|urgent\s*[:!]|this\s+is\s+your\s+final|"
            r"within\s+(?:the\s+next\s+)?\d+\s+(?:hours?|minutes?)\s+or|"
            r"(?:must|have\s+to|need\s+to)\s+pay\s+(?:immediately|right\s+now|today)\s+(?:or|to\s+avoid))\b",
            _I,
        ),
    ],
    LEGAL_ADVICE: [
        re.compile(
            r"\byou\s+(?:should|must|need\s+to|ought\s+to|could|might\s+want\s+to|'d\s+better|had\s+better)\s+"
            r"(?:(?:definitely|probably|consider(?:ing)?|seriously\s+consider)\s+)?(?:file|filing|declare|declaring)\s+"
            r"(?:for\s+)?(?:bankruptcy|chapter\s+(?:7|13))\b",
            _I,
        ),
        re.compile(
            r"\b(?:you\s+(?:should|could|can)\s+(?:sue|counter-?sue|ignore\s+(?:the|this)\s+(?:summons|lawsuit|court))|"
            r"(?:the|this)\s+(?:statute\s+of\s+limitations|debt)\s+(?:has|is)\s+(?:expired|time-?barred)|"
            r"you\s+(?:don'?t|do\s+not)\s+(?:legally\s+)?have\s+to\s+pay|(?:legally|under\s+the\s+law),?\s+you\s+"
            r"(?:can|should|must|don'?t|do\s+not)|my\s+legal\s+advice|(?:the|this)\s+(?:contract|loan)\s+is\s+"
            r"(?:void|unenforceable|illegal))\b",
            _I,
        ),
    ],
    TAX_ADVICE: [
        re.compile(
            r"\b(?:(?:is|are|it'?s|will\s+be)\s+(?:fully\s+|partly\s+)?tax[- ]deductible|"
            r"(?:deduct|write\s+off|claim)\s+(?:the\s+|your\s+)?(?:interest|payments?|fees?|loan)\s+"
            r"(?:on|from|against)\s+your\s+(?:taxes|tax\s+return)|you\s+(?:should|can|could)\s+"
            r"(?:deduct|write\s+off)|(?:forgiven|cancelled)\s+debt\s+is\s+(?:not\s+)?taxable|"
            r"tax\s+(?:benefit|break|deduction)\s+(?:for|on)\s+(?:this|your))\b",
            _I,
        ),
    ],
    CREDIT_REPAIR: [
        re.compile(
            r"\b(?:we|i)\s+(?:can|will|could|'ll)\s+(?:\w+\s+)?(?:remove|delete|erase|wipe|clean\s+up|"
            r"take\s+(?:it|this)\s+off|fix|repair|improve|boost|raise)\s+(?:\w+\s+){0,3}?"
            r"(?:from\s+)?(?:your\s+)?(?:credit\s+(?:report|record|history|score|file)|credit|score)\b",
            _I,
        ),
        re.compile(
            r"\b(?:remove|delete|erase)\s+(?:it|this|the\s+\w+(?:\s+\w+)?)\s+from\s+your\s+credit\s+"
            r"(?:report|record|history|file)\b|\bguarantee(?:d)?\s+(?:to\s+)?(?:improve|raise|boost|fix)\s+"
            r"your\s+(?:credit|score)\b|\b(?:dispute|challenge)\s+(?:it|everything|all\s+of\s+it)\s+with\s+"
            r"the\s+(?:credit\s+)?bureaus\s+to\s+(?:remove|get\s+it\s+removed)\b",
            _I,
        ),
    ],
}

# The same prohibitions in Chinese and Spanish replies (issue #13): the assistant saying it
# will have the customer arrested or sued, garnish wages, tell family or employer, or
# pressing with a deadline. A negation before the verb ("不会起诉您", "no lo vamos a
# demandar") is left alone.
_ZH_NOT = r"(?<!不会)(?<!不)(?<!绝不)(?<!不可能)(?<!没有)"
_ES_WE = r"(?:(?<!no )(?:vamos\s+a|podemos|podr[ií]amos|procederemos\s+a|tendremos\s+que)\s+)"
for kind, patterns in {
    LEGAL_THREAT: [
        _ZH_NOT + r"(逮捕|抓起来|坐牢|入狱|起诉您|起诉你|告您|告你|上法庭|冻结您的|冻结你的|"
        r"扣您的工资|扣你的工资|扣押)",
        _ES_WE + r"(demandarl[oa]|arrestarl[oa]|embargar\s+su|meterl[oa]\s+(?:a\s+la\s+)?c[aá]rcel|"
        r"llevarl[oa]\s+a\s+juicio)",
        r"\b(ir[aá]\s+a\s+la\s+c[aá]rcel|ser[aá]\s+arrestad[oa]|embargo\s+de\s+(su\s+)?(salario|sueldo))",
    ],
    THREAT: [
        _ZH_NOT + r"(通知您的(家人|雇主|老板|同事)|告诉您的(家人|雇主|老板)|上门催收|找到您家|"
        r"联系您的家人)",
        _ES_WE + r"(avisar\s+a\s+su\s+(familia|empleador|jefe)|ir\s+a\s+su\s+casa)",
    ],
    FALSE_URGENCY: [
        r"(最后通牒|最后机会|立刻还钱|马上还钱|否则后果自负)",
        r"\b([uú]ltima\s+oportunidad|pague\s+(ya|inmediatamente)\s+o|o\s+atengase\s+a\s+las\s+consecuencias)",
    ],
    SHAMING: [
        r"(老赖|不要脸|丢人|可耻)",
        r"\b(sinverg[uü]enza|irresponsable|moroso\s+profesional)\b",
    ],
}.items():
    PATTERNS[kind] += [re.compile(pattern, _I) for pattern in patterns]

# A sentence that disclaims, negates or merely describes the topic is not a violation:
# "I can't give legal advice", "we will never threaten you", "nothing here is tax advice".
_DISCLAIMER = re.compile(
    r"\b(?:i|we|harbor|nobody|no\s+one|the\s+assistant)\s+(?:can(?:no|')?t|cannot|can\s+not|won'?t|"
    r"will\s+not|will\s+never|never|do\s+not|don'?t|am\s+not\s+able\s+to|are\s+not\s+able\s+to|"
    r"am\s+unable\s+to|are\s+unable\s+to|is\s+not\s+able\s+to)\s+(?:\w+\s+){0,3}?(?:give|provide|"
    r"offer|threaten|sue|arrest|garnish|advise|remove|delete|change|promise|take|report|pressure)\b|"
    r"\byou\s+(?:will\s+not|won'?t|are\s+not\s+going\s+to|cannot|can'?t)\s+(?:be\s+)?(?:arrested|jailed|"
    r"go\s+to\s+(?:jail|prison)|sued|prosecuted)\b|"
    r"\b(?:this|that|it)\s+(?:is\s+not|isn'?t)\s+(?:legal|tax|financial)\s+advice\b|"
    r"\b(?:consult|speak\s+(?:with|to)|talk\s+to|contact|reach\s+out\s+to)\s+(?:a|an|your\s+own|your)\s+"
    r"(?:attorney|lawyer|tax\s+(?:professional|advisor|adviser|preparer)|accountant|"
    r"legal\s+aid|credit\s+counselor|nonprofit)\b",
    _I,
)
# Clauses: a disclaimer covers only its own clause ("I can't give legal advice, but you
# should file for bankruptcy" is still legal advice).
_SENTENCES = re.compile(
    r"(?<=[.!?;])\s+|(?<=[。！？；])|\n+|,?\s+(?=(?:but|however|although|though)\b)", _I
)


def check_prohibited(reply: str) -> list[ContentViolation]:
    """Every prohibited statement found in the assistant's ``reply`` (empty when clean)."""
    violations: list[ContentViolation] = []
    seen: set[tuple[str, str]] = set()
    for sentence in _SENTENCES.split(reply.replace("\u2019", "'")):
        if not sentence.strip() or _DISCLAIMER.search(sentence):
            continue
        for kind, patterns in PATTERNS.items():
            for pattern in patterns:
                match = pattern.search(sentence)
                if match and (kind, match.group()) not in seen:
                    seen.add((kind, match.group()))
                    violations.append(ContentViolation(kind, match.group().strip()))
                    break
    return violations
