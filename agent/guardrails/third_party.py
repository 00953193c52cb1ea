"""Third parties: someone who says the loan or account they ask about is another person's.

POLICY.md §2: nothing about the debt is disclosed to a third party (spouse, parent,
friend, employer, ...); the assistant asks that the account holder contact the lender.

The account holder talking *about* family ("my husband lost his job and I can't pay")
is not a third party. A third party is recognised by what they say about whose the
loan is or for whom they speak: "I'm Maria's husband", "checking for my mom",
"my daughter's loan", "on behalf of my client", "the loan is in my wife's name".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# relation word -> normalised relation
RELATIONS: dict[str, str] = {
    "husband": "spouse",
    "wife": "spouse",
    "spouse": "spouse",
    "hubby": "spouse",
    "ex-husband": "spouse",
    "ex-wife": "spouse",
    "ex": "spouse",
    "partner": "partner",
    "boyfriend": "partner",
    "girlfriend": "partner",
    "fiance": "partner",
    "fiancé": "partner",
    "fiancee": "partner",
    "fiancée": "partner",
    "mother": "parent",
    "mom": "parent",
    "mum": "parent",
    "mommy": "parent",
    "mama": "parent",
    "father": "parent",
    "dad": "parent",
    "daddy": "parent",
    "papa": "parent",
    "parent": "parent",
    "parents": "parent",
    "stepmother": "parent",
    "stepfather": "parent",
    "stepmom": "parent",
    "stepdad": "parent",
    "son": "child",
    "daughter": "child",
    "child": "child",
    "kid": "child",
    "stepson": "child",
    "stepdaughter": "child",
    "brother": "sibling",
    "sister": "sibling",
    "sibling": "sibling",
    "grandmother": "relative",
    "grandma": "relative",
    "granny": "relative",
    "grandfather": "relative",
    "grandpa": "relative",
    "grandson": "relative",
    "granddaughter": "relative",
    "aunt": "relative",
    "uncle": "relative",
    "cousin": "relative",
    "nephew": "relative",
    "niece": "relative",
    "in-law": "relative",
    "mother-in-law": "relative",
    "father-in-law": "relative",
    "son-in-law": "relative",
    "daughter-in-law": "relative",
    "friend": "friend",
    "buddy": "friend",
    "neighbor": "friend",
    "neighbour": "friend",
    "coworker": "friend",
    "co-worker": "friend",
    "colleague": "friend",
    "roommate": "roommate",
    "housemate": "roommate",
    "flatmate": "roommate",
    "tenant": "roommate",
    "landlord": "roommate",
    "employer": "employer",
    "boss": "employer",
    "employee": "employer",
    "manager": "employer",
    "client": "representative",
    "customer": "representative",
    "caregiver": "representative",
    "carer": "representative",
    "guardian": "representative",
    "conservator": "representative",
    "power of attorney": "representative",
    "poa": "representative",
    "attorney": "representative",
    "lawyer": "representative",
    "accountant": "representative",
    "financial advisor": "representative",
    "social worker": "representative",
    "case worker": "representative",
    "executor": "representative",
}

_REL = (
    r"(?P<rel>"
    + "|".join(sorted((re.escape(k) for k in RELATIONS), key=len, reverse=True))
    + r")s?"
)
_DEBT = (
    r"(?:loan|account|acct|balance|debt|bill|payments?|payoff|due\s+date|installments?|"
    r"statements?|late\s+fees?|file|past[- ]due|amount\s+due)"
)
_PERSON = r"(?:my|our|a|the)\s+(?:elderly\s+|late\s+|ex[- ]|step|future\s+|(?:\w+\s+)?)?"
_NAME = r"(?!(?:My|The|This|His|Her|Their|Our|I|It)\b)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"

_PATTERNS: list[re.Pattern[str]] = [
    # "my wife's loan", "my mom's account", "my son's payment"
    re.compile(
        r"\b(?:my|our)\s+(?:elderly\s+|late\s+|ex[- ]|step)?"
        + _REL
        + r"'s\s+(?:\w+\s+)?"
        + _DEBT
        + r"\b",
        re.I,
    ),
    # "the loan is in my wife's name", "it's under my dad's name"
    re.compile(r"\b(?:in|under)\s+(?:my|our)\s+" + _REL + r"'s\s+name\b", re.I),
    # "I'm Maria's husband", "I am her daughter", "this is his wife"
    re.compile(
        r"\b(?:i(?:'m|\s+am)|this\s+is|it'?s)\s+(?:(?:his|her|their)|" + _NAME + r"'s)\s+"
        r"(?:elderly\s+|ex[- ]|step)?" + _REL + r"\b(?!\s+(?:lost|is|was|has|had|and|got))",
        re.I,
    ),
    # "I am the husband of Maria Lopez", "I'm the daughter of the account holder"
    re.compile(
        r"\b(?:i(?:'m|\s+am)|this\s+is)\s+(?:the|a)\s+"
        + _REL
        + r"\s+of\s+(?:the\s+)?(?:"
        + _NAME
        + r"|account\s+holder|borrower|customer)",
        re.I,
    ),
    # "calling on behalf of my mother", "writing on behalf of my client"
    re.compile(
        r"\bon\s+(?:behalf\s+of|(?:his|her|their)\s+behalf)\s+(?!(?:my\s*self|me|myself|harbor|you|your|the\s+(?:lender|bank|company))\b)",
        re.I,
    ),
    # "checking for my mom", "asking about my son", "calling for my husband"
    re.compile(
        r"\b(?:calling|asking|checking|inquiring|enquiring|writing|messaging|texting|contacting\s+you|"
        r"reaching\s+out|chatting|here|looking|contacting|speaking)\s+(?:in\s+)?(?:for|about|regarding)\s+"
        + _PERSON
        + _REL
        + r"\b",
        re.I,
    ),
    # "my mom has a loan with you", "my husband took out a loan here"
    re.compile(
        r"\b(?:my|our)\s+(?:elderly\s+|late\s+|ex[- ]|step)?" + _REL + r"\s+(?:has|had|took\s+out|"
        r"got|opened|owes|signed\s+for)\s+(?:a|an|the|this)\s+(?:loan|account)\s+"
        r"(?:with\s+(?:you|harbor|your\s+company)|here|from\s+(?:you|harbor))",
        re.I,
    ),
    # "my wife wants to know her balance", "my dad asked me to check his payoff"
    re.compile(
        r"\b(?:my|our)\s+" + _REL + r"\s+(?:wants?|asked|needs?|would\s+like|told)\s+(?:me\s+)?"
        r"(?:to\s+)?(?:know|check|find\s+out|see|get|ask)\s+(?:\w+\s+){0,3}?(?:his|her|their)\s+"
        + _DEBT,
        re.I,
    ),
    # "what is his balance", "when is her payment due" with a relation named nearby
    re.compile(
        r"\b(?:what|when|how\s+much)(?:\s+is|'s|\s+are)\s+(?:his|her|their)\s+(?:\w+\s+)?"
        + _DEBT
        + r"\b",
        re.I,
    ),
    # "I'm his power of attorney", "I am her caregiver and handle her bills"
    re.compile(
        r"\bi(?:'m|\s+am)\s+(?:his|her|their|the\s+borrower's|the\s+account\s+holder's)\s+"
        r"(?:legal\s+)?(?:power\s+of\s+attorney|poa|guardian|conservator|caregiver|carer|"
        r"representative|attorney|lawyer|accountant|executor|financial\s+advisor|social\s+worker)\b",
        re.I,
    ),
    # "calling from his employer", "this is her employer/HR"
    re.compile(
        r"\b(?:calling|writing|this\s+is|i'?m|i\s+am)\s+(?:from\s+)?(?:his|her|their|the\s+borrower's)\s+"
        r"(?:employer|boss|hr|human\s+resources|workplace|company)\b",
        re.I,
    ),
    # "this is HR at Acme", "I'm from payroll at Acme Corp" (speaking for an employer)
    re.compile(
        r"\b(?:this\s+is|i'?m|i\s+am|calling\s+from|writing\s+from)\s+(?:from\s+)?(?:the\s+)?"
        r"(?:hr|human\s+resources|payroll)\s+(?:department\s+)?(?:at|from|of|for)\b",
        re.I,
    ),
    # "our employee Maria Lopez", "one of our employees"
    re.compile(r"\b(?:our|an?)\s+employees?\s+(?:named\s+)?" + _NAME, re.I),
    # "my roommate Maria asked me to set up a promise", "my friend Ana wants me to pay"
    re.compile(
        r"\b(?:my|our)\s+" + _REL + r"\s+(?:" + _NAME + r"\s+)?(?:asked|wants|needs|told)\s+"
        r"me\s+to\s+(?:\w+\s+){0,3}?(?:set\s+up|make|check|pay|arrange|change|ask|find)\b",
        re.I,
    ),
    # "my buddy Dwayne is behind on his loan", "my sister is late on her payments"
    re.compile(
        r"\b(?:my|our)\s+" + _REL + r"\s+(?:" + _NAME + r"\s+)?(?:is|was|has\s+been|'s|got)\s+"
        r"(?:\w+\s+){0,2}?(?:behind|late|past\s+due|struggling)\s+(?:on|with)\s+(?:his|her|their)\s+"
        + _DEBT,
        re.I,
    ),
    # "asked me to cover it", "wants me to take care of his payment"
    re.compile(
        r"\b(?:my|our)\s+" + _REL + r"\b.{0,80}?\b(?:asked|wants|needs|told|begged)\s+me\s+to\s+"
        r"(?:cover|pay|handle|take\s+care\s+of|send|settle|deal\s+with)\b",
        re.I,
    ),
    # "he gave me his details", "she gave me her date of birth and zip"
    re.compile(
        r"\b(?:he|she|they)\s+(?:gave|sent|told|texted)\s+me\s+(?:his|her|their)\s+"
        r"(?:details|info|information|dob|date\s+of\s+birth|birthday|zip|postal\s+code|"
        r"login|password|account\s+(?:number|details|info)|loan\s+number)\b",
        re.I,
    ),
    # "how much do I need to send for him", "can I pay it for her"
    re.compile(
        r"\b(?:pay|send|cover|settle)\s+(?:\w+\s+){0,3}?(?:for|on\s+behalf\s+of)\s+(?:him|her|them)\b",
        re.I,
    ),
    # "the account holder is my mother", "the borrower is my son"
    re.compile(
        r"\b(?:the\s+)?(?:account\s+holder|borrower|loan\s+holder)\s+is\s+my\s+" + _REL + r"\b",
        re.I,
    ),
]


@dataclass(frozen=True)
class ThirdPartyVerdict:
    is_third_party: bool
    relation: str | None = None
    evidence: list[str] = field(default_factory=list)


def _relation_of(match: re.Match[str]) -> str | None:
    word = match.groupdict().get("rel")
    if not word:
        return None
    return RELATIONS.get(word.lower().rstrip("s"), RELATIONS.get(word.lower()))


def detect_third_party(text: str) -> ThirdPartyVerdict:
    """Whether the writer speaks for, or asks about, a loan they say is someone else's."""
    text = text.replace("\u2019", "'")
    evidence: list[str] = []
    relation: str | None = None
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            evidence.append(match.group().strip())
            relation = relation or _relation_of(match)
    if not evidence:
        return ThirdPartyVerdict(False)
    if relation is None:
        # "on behalf of X": the relation, if any, is the word after it.
        tail = re.search(r"behalf\s+of\s+(?:my|our|a|the)?\s*" + _REL, text, re.I)
        relation = _relation_of(tail) if tail else "other"
    return ThirdPartyVerdict(True, relation, evidence)
