"""Prompt-injection detection for customer text (and for retrieved or pasted text).

Deterministic: patterns per attack family, matched against the text after
normalisation (Unicode NFKC, zero-width characters removed, look-alike letters folded)
and against decoded variants (leetspeak, base64, hex, rot13, URL-encoding, reversed
text, letters spaced apart). A match found only in a decoded variant is reported as the
family ``encoded_payload``.

This is a signal for the conversation layer (refuse, log, keep the turn away from the
model). It authorises nothing: the tools refuse other customers' loans by themselves.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from agent.language.dates import MONTH_NAMES, WEEKDAY_NAMES
from agent.language.loan_numbers import canonical, loan_numbers_in

INSTRUCTION_OVERRIDE = "instruction_override"
ROLE_PLAY = "role_play"
FAKE_SYSTEM_TEXT = "fake_system_text"
ENCODED_PAYLOAD = "encoded_payload"
PROMPT_EXTRACTION = "prompt_extraction"
OTHER_CUSTOMER_DATA = "other_customer_data"
TOOL_MANIPULATION = "tool_manipulation"

# When several families match, the verdict names the first in this order (the most
# specific); the evidence lists every match.
FAMILY_ORDER = (
    FAKE_SYSTEM_TEXT,
    TOOL_MANIPULATION,
    INSTRUCTION_OVERRIDE,
    PROMPT_EXTRACTION,
    ROLE_PLAY,
    OTHER_CUSTOMER_DATA,
)


@dataclass(frozen=True)
class InjectionVerdict:
    is_attack: bool
    family: str | None = None
    evidence: list[str] = field(default_factory=list)
    # Loan numbers that are not the verified customer's (their own or unknown, alike).
    foreign_loans: list[str] = field(default_factory=list)

    @property
    def only_foreign_loans(self) -> bool:
        """Nothing but a loan number that is not the customer's: a typo as often as a
        probe, answered like an unknown loan rather than as an attack."""
        return (
            self.family == OTHER_CUSTOMER_DATA
            and len(self.evidence) == 1
            and bool(self.foreign_loans)
        )


_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE

# Capitalised words that start a phrase but are not a person's name.
_NOT_A_NAME = (
    r"(?!(?:My|Our|The|This|That|Your|His|Her|Their|Harbor|Mom|Mum|Dad|Mother|Father|Wife|"
    r"Husband|Son|Daughter|Today|"
    + "|".join((*WEEKDAY_NAMES, *MONTH_NAMES))
    + r"|What|Where|When|How|Can|Could|Is|I|It|Please|Check|Show|Tell|Give|Whose|Everyone|"
    r"Someone|Somebody|Anyone|Customer|Borrower|Other|Another)\b)"
)

_SECRET_ADJ = (
    r"(?:original\s+|initial\s+|hidden\s+|secret\s+|internal\s+|system\s+|underlying\s+|"
    r"confidential\s+|private\s+|developer\s+|starting\s+)"
)

_OVERRIDE_VERB = (
    r"\b(?:ignore|ignoring|disregard|forget|override|overrule|bypass|circumvent|abandon|discard|"
    r"drop|dismiss|neglect|skip|set\s+aside|throw\s+out|erase|delete|wipe|reset|unlearn|"
    r"stop\s+following|don'?t\s+follow|do\s+not\s+follow)\s+"
)
_QUALIFIER = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|old|existing|current|"
    r"system|developer|default|safety|built[- ]in|hidden|given|programmed|internal|company|"
    r"harbor)"
)
_PRIOR = (
    r"(?:all\s+|any\s+|every\s+|the\s+|your\s+|my\s+|these\s+|those\s+|of\s+)*"
    + _QUALIFIER
    + r"?\s*"
)
_INSTRUCTION_NOUNS = (
    r"(?:instructions?|directives?|prompts?|system\s+prompt|guidelines?|guardrails?|"
    r"programming|safeguards?|filters?|training|commands?|context|protocols?|constraints?)"
)

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    INSTRUCTION_OVERRIDE: [
        # "ignore previous instructions", "disregard all your rules", "forget the above"
        re.compile(_OVERRIDE_VERB + _PRIOR + r"(?:and\s+\w+\s+)?" + _INSTRUCTION_NOUNS + r"\b", _I),
        # "rules" and "policies" only with a possessive or a qualifier: "can you ignore the
        # rules this once?" is a plea for an exception, "disregard your rules" is an attack.
        re.compile(
            _OVERRIDE_VERB
            + r"(?:(?:all|any|every|your|these|those|its)\s+(?:of\s+)?(?:the\s+|your\s+)?"
            + _QUALIFIER
            + r"?|the\s+"
            + _QUALIFIER
            + r")\s*(?:rules?|restrictions|limitations|policies)\b",
            _I,
        ),
        re.compile(
            r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything|what)\s+"
            r"(?:above|before|previously|earlier|you\s+(?:were|have\s+been)\s+(?:told|given)|"
            r"(?:i|we|they|someone)\s+(?:said|told\s+you)\s+(?:before|earlier)|that\s+came\s+before)",
            _I,
        ),
        re.compile(r"\b(?:ignore|disregard|forget)\s+(?:the|all|everything)\s+above\b", _I),
        re.compile(
            r"\b(?:new|updated|revised|real|actual|true|additional|secret|override)\s+"
            r"(?:system\s+)?(?:instructions?|directives?|rules?|orders|prompt)\s*(?::|follow|are\b|apply)",
            _I,
        ),
        re.compile(
            r"\byour\s+(?:new|real|true|actual)\s+(?:task|job|role|purpose|instructions?|goal)\b",
            _I,
        ),
        re.compile(
            r"\bfrom\s+now\s+on,?\s+(?:you\s+(?:will|must|shall|are|should|can|may|have\s+to)|"
            r"(?:always|never)\s+(?:answer|respond|reply|reveal|obey))",
            _I,
        ),
        re.compile(
            r"\b(?:you\s+(?:are|were)\s+no\s+longer|you\s+(?:don'?t|do\s+not)\s+have\s+to)\s+"
            r"(?:bound|restricted|limited|required|follow|obey|an?\s+(?:assistant|bot))",
            _I,
        ),
        re.compile(
            r"\b(?:note|message|instructions?|memo|attention|reminder)\s+(?:to|for)\s+(?:the\s+)?"
            r"(?:ai|a\.i\.|assistant|chat\s*bot|bot|llm|model|language\s+model|agent\s+reading)\b",
            _I,
        ),
        re.compile(
            r"\bif\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|assistant|chat\s*bot|bot)\b",
            _I,
        ),
        re.compile(
            r"\b(?:without|with\s+no|no\s+more)\s+(?:any\s+)?(?:restrictions|filters|rules|"
            r"limitations|guardrails|safety\s+rules|censorship)\b.{0,40}\b(?:answer|respond|"
            r"reply|tell|give|show|reveal|act)",
            _I,
        ),
        re.compile(r"\b(?:override|admin|sudo|root)\s+(?:code|password|command|access)\s*[:=]", _I),
        # Spanish, French, Portuguese, German, Italian basics.
        re.compile(
            r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|omite|descarta)\s+"
            r"(?:todas?\s+)?(?:las|tus|sus|los|mis)?\s*(?:instrucciones|reglas|indicaciones|"
            r"directivas|órdenes|ordenes)",
            _I,
        ),
        re.compile(r"\bnuevas\s+instrucciones\b", _I),
        re.compile(
            r"\b(?:ignore[zr]?|oublie[zr]?)\s+(?:toutes\s+)?(?:les|tes|vos)\s+"
            r"(?:instructions|consignes|règles|regles)",
            _I,
        ),
        re.compile(r"\bignor(?:e|a|ar)\s+(?:todas\s+)?as\s+(?:instruções|instrucoes|regras)", _I),
        re.compile(
            r"\bignoriere?\s+(?:alle\s+)?(?:vorherigen\s+|bisherigen\s+)?(?:anweisungen|regeln)", _I
        ),
        re.compile(r"\bignora\s+(?:tutte\s+)?le\s+(?:istruzioni|regole)\s+precedenti", _I),
    ],
    ROLE_PLAY: [
        re.compile(
            r"\byou(?:'re|\s+are)\s+now\s+(?:an?\s+|the\s+|in\s+|no\s+longer\b|"
            r"dan\b|free\b|unrestricted|unfiltered|jailbroken|called|named|going\s+to\s+(?:act|be|play)|"
            r"operating|acting|playing|evil|uncensored|allowed)",
            _I,
        ),
        re.compile(
            r"(?<!\bi\s)(?<!\bwe\s)(?<!\bthey\s)\bpretend\s+(?:to\s+be|you(?:'re|\s+are)|that\s+you|you\s+have|you\s+can|"
            r"i(?:'m|\s+am)\s+(?:the|an?|your)\s+(?:admin|developer|owner|employee|agent|supervisor))",
            _I,
        ),
        re.compile(
            r"\bact\s+(?:as\s+(?:if|though|an?\s+(?:unrestricted|unfiltered|evil|different|new|"
            r"ai|admin|developer|system|hacker|jailbroken|uncensored)|the\s+(?:admin|developer|system|"
            r"database|backend|root|operator)|dan\b|root\b|admin\b|sudo\b|my\s+(?:grandma|grandmother))|"
            r"like\s+(?:you\s+have\s+no|an?\s+unrestricted|dan\b))",
            _I,
        ),
        re.compile(r"\b(?:role[- ]?play|roleplay)\s+(?:as|that|a\s+scenario|with\s+me)\b", _I),
        re.compile(r"\blet'?s\s+(?:play\s+a\s+game|pretend|role[- ]?play)\b", _I),
        re.compile(r"\b(?:stay|remain)\s+in\s+character\b", _I),
        re.compile(
            r"\bsimulate\s+(?:an?\s+)?(?:unrestricted|unfiltered|different|evil|developer|admin)",
            _I,
        ),
        re.compile(r"\bdo\s+anything\s+now\b|\bjail\s*break(?:ing|en)?\b|\bjailbroken\b", _I),
        re.compile(r"\bDAN\b"),
        re.compile(
            r"\b(?:developer|dev|admin|administrator|god|debug|maintenance|sudo|root|"
            r"unrestricted|unfiltered|evil|diagnostic|superuser|override|jailbreak)\s+mode\b",
            _I,
        ),
        re.compile(
            r"\bi(?:'m|\s+am)\s+(?:the|your|one\s+of\s+(?:the|your)|this\s+(?:bot|system)'s)\s+"
            r"(?:system\s+|lead\s+|chief\s+|head\s+)?(?:admin|administrator|developer|engineer|"
            r"programmer|creator|owner|operator|sysadmin|super\s*user|maker)s?\b",
            _I,
        ),
        re.compile(
            r"\bi(?:'m|\s+am)\s+(?:an?\s+)?(?:admin|administrator|developer|engineer|programmer|"
            r"employee|staff\s+member|supervisor|manager|agent|auditor|tester|rep(?:resentative)?)\s+"
            r"(?:at|for|with|from|of)\s+(?:harbor|this\s+(?:company|bank|lender|bot|system|chat\s*bot)|"
            r"the\s+company|your\s+(?:company|team|system))",
            _I,
        ),
        re.compile(
            r"\b(?:this\s+is|it'?s)\s+(?:the\s+|your\s+)?(?:system\s+)?(?:admin|administrator|"
            r"developer|sysadmin|root\s+user)\b(?!\s+(?:fee|team\s+of))|\b(?:admin|administrator|"
            r"developer|sysadmin)\s+here\b",
            _I,
        ),
        re.compile(
            r"\b(?:i(?:'m|\s+am)|this\s+is)\s+(?:calling\s+|writing\s+)?(?:from\s+)?"
            r"(?:harbor(?:'s)?\s+)?(?:the\s+)?(?:it|tech|security|support|engineering|dev|fraud|"
            r"compliance|qa)\s+(?:team|department|desk|staff|dept)\b.{0,80}"
            r"\b(?:need|must|require|authori[sz]ed?|override|access|test|audit|give|show|disable)",
            _I,
        ),
        re.compile(
            r"\b(?:i\s+have|with)\s+(?:admin|administrator|root|developer|supervisor|elevated|"
            r"full|special|level\s+\d)\s+(?:access|privileges?|rights|clearance|permissions?)\b",
            _I,
        ),
        re.compile(
            r"\b(?:i(?:'m|\s+am)\s+)?(?:authori[sz]ed|cleared|permitted)\s+(?:by\s+harbor\s+)?"
            r"to\s+(?:see|view|access|read|override|bypass)\b",
            _I,
        ),
    ],
    FAKE_SYSTEM_TEXT: [
        re.compile(
            r"^\s*[\[\(<]?\s*(?:system|sys|developer|admin|assistant|tool)\s*[\]\)>]?\s*:", _IM
        ),
        re.compile(
            r"\b(?:system|admin|developer|operator)\s+(?:message|prompt|note|notice|override|"
            r"instruction|update|command)s?\s*[:\]]",
            _I,
        ),
        re.compile(
            r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\s*\|>",
            _I,
        ),
        re.compile(r"\[/?\s*(?:INST|SYS|SYSTEM|ADMIN)\s*\]|<</?SYS>>", _I),
        re.compile(
            r"^\s*#{2,}\s*(?:system|instruction|new\s+instruction|admin|developer)s?\b", _IM
        ),
        re.compile(r"</?\s*(?:system|sys|instructions?|admin|developer)(?:\s[^>]*)?>", _I),
        re.compile(
            r"[\"']role[\"']\s*:\s*[\"'](?:system|developer|assistant|tool|function)[\"']", _I
        ),
        re.compile(
            r"\b(?:begin|start|end)\s+(?:of\s+)?(?:the\s+)?(?:system|admin|developer|hidden)\s+"
            r"(?:prompt|message|instructions?)\b",
            _I,
        ),
        re.compile(r"\bend\s+of\s+(?:user|customer)\s+(?:input|message|text)\b", _I),
    ],
    PROMPT_EXTRACTION: [
        re.compile(
            r"\b(?:repeat|print|show|reveal|display|output|tell|give|share|leak|dump|spell\s+out|"
            r"write(?:\s+out)?|copy|paste|list|recite|summari[sz]e|describe|expose|send|read|type)\b"
            r"(?:\s+me|\s+us)?(?:\s+back)?(?:\s+(?:all|exactly|verbatim|word\s+for\s+word))?\s+"
            r"(?:of\s+)?(?:(?:your|its)\s+(?:" + _SECRET_ADJ + r"|full\s+|entire\s+|complete\s+|"
            r"exact\s+|first\s+)*|the\s+(?:full\s+|entire\s+|complete\s+|exact\s+)?(?:"
            + _SECRET_ADJ
            + r")+)(?:system\s+prompt|prompt|instructions|system\s+message|"
            r"configuration|config|directives|rules\s+you\s+(?:were|have\s+been)\s+given|"
            r"guidelines\s+you\s+(?:were|have\s+been)\s+given|context\s+window|pre-?prompt|"
            r"meta[- ]?prompt|programming|(?:hidden|secret|internal)\s+rules)",
            _I,
        ),
        re.compile(
            r"\bwhat\s+(?:are|were|is)\s+your\s+(?:exact\s+|original\s+|initial\s+|hidden\s+|"
            r"secret\s+|internal\s+|system\s+)*(?:instructions|system\s+prompt|prompt|directives|"
            r"programming)\b",
            _I,
        ),
        re.compile(
            r"\b(?:print|repeat|show|output|copy|paste|tell\s+me|what\s+(?:is|was))\s+(?:me\s+)?"
            r"(?:back\s+)?(?:the\s+|all\s+(?:of\s+)?the\s+|all\s+)?(?:text|words|messages?|content|"
            r"instructions|everything|all)\s+(?:written\s+|that\s+(?:is|was|came)\s+|"
            r"you\s+(?:see|saw|received|were\s+given)\s+)?(?:above|before\s+(?:this|my|the|your)\s+(?:first\s+)?"
            r"(?:message|conversation|question))\b",
            _I,
        ),
        re.compile(
            r"\b(?:beginning|start)\s+of\s+(?:this|the|our)\s+(?:conversation|chat|session|prompt)\b"
            r".{0,40}\b(?:verbatim|word\s+for\s+word|exactly|repeat|print)",
            _I,
        ),
        re.compile(
            r"\b(?:your|the)\s+(?:system\s+prompt|initial\s+prompt|hidden\s+instructions|pre-?prompt)\b",
            _I,
        ),
        re.compile(
            r"\bhow\s+(?:were\s+you|are\s+you|have\s+you\s+been)\s+(?:programmed|prompted|instructed)\b",
            _I,
        ),
        re.compile(
            r"\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+(?:told|instructed|programmed)\s+to\b", _I
        ),
        re.compile(
            r"\b(?:instructions|prompt|rules|guidelines|directives)\s+(?:that\s+)?(?:you\s+were|"
            r"you'?ve\s+been|you\s+have\s+been|you\s+got)\s+(?:given|told)\b",
            _I,
        ),
    ],
    OTHER_CUSTOMER_DATA: [
        re.compile(
            r"\b(?:(?:another|other|a\s+different|any(?:\s+other)?)\s+(?:customer|person|borrower|user|"
            r"client|member|people|individual)(?:'s|s'|s)?|(?:some|any|every)(?:one|body)\s+else'?s?|"
            r"every(?:one|body)'s|other\s+people'?s?|(?:a\s+)?stranger'?s?)\s+"
            r"(?:accounts?|loans?|balances?|details|data|info(?:rmation)?|records?|payments?|"
            r"addresses|phone\s+numbers?|dates?\s+of\s+birth|ssns?|profiles?|files?|names?)\b",
            _I,
        ),
        re.compile(
            r"\b(?:list|show|give|dump|export|send|tell|display|print|pull|get|see|access|download|"
            r"read|retrieve|fetch|look\s+up|search|share|reveal)\b(?:\s+\w+){0,3}?\s+"
            r"(?:all|every|the\s+other|other)\s+(?:the\s+|of\s+the\s+|your\s+)?"
            r"(?:customers|borrowers|users|clients|members|people(?:'s)?|customer\s+(?:accounts|records|"
            r"loans|data|names))\b",
            _I,
        ),
        re.compile(
            r"\b(?:names|balances|details|data|list|records|emails|phone\s+numbers|addresses|loans|"
            r"accounts)\s+(?:of|for)\s+(?:all\s+(?:of\s+)?(?:the\s+)?(?:other\s+)?|every|other|your\s+other)\s*"
            r"(?:the\s+)?"
            r"(?:customers|borrowers|users|clients|members|people)\b",
            _I,
        ),
        re.compile(
            r"\b(?:customer|client|borrower|user)\s+(?:list|database|db|table|records)\b", _I
        ),
        re.compile(
            r"\b(?:look\s+up|lookup|pull\s+up|check|access|find|search\s+(?:for\s+)?|open|view|see)\s+"
            r"(?:\w+\s+){0,2}?(?:another|a\s+different|other|some\s+other)\s+"
            r"(?:customer|borrower|client|user|person|member|account)",
            _I,
        ),
        re.compile(
            r"\b(?:account|loan|balance|details|info(?:rmation)?|records?|payments?|data|file|"
            r"profile)\s+(?:of|for|belonging\s+to|owned\s+by|under)\s+(?:mr\.?\s+|mrs\.?\s+|ms\.?\s+)?"
            + _NOT_A_NAME
            + r"[A-Z][a-z]+\s+[A-Z][a-z]+"
        ),
        re.compile(
            r"\b" + _NOT_A_NAME + r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?'s\s+(?:account|loan|balance|"
            r"payments?|details|info|due\s+date|payoff|address|phone|file|date\s+of\s+birth)\b"
        ),
        re.compile(
            r"\b(?:look\s+up|lookup|pull\s+up|find|search\s+(?:for)?|check|access|open|query)\s+"
            r"(?:the\s+)?(?:customer|borrower|user|account|loan|client)s?\s+"
            r"(?:named|called|with\s+(?:the\s+)?name|belonging\s+to)\b",
            _I,
        ),
        re.compile(
            r"(?<!my\s)\b(?:customer|client|borrower)\s*(?:_|\s)?(?:id|number|#)\s*[:=#]?\s*C\d{2,}\b",
            _I,
        ),
        re.compile(
            r"\b(?:switch|change)\s+(?:to|me\s+to)\s+(?:another|a\s+different|the\s+other)\s+"
            r"(?:customer|account|user)",
            _I,
        ),
    ],
    TOOL_MANIPULATION: [
        re.compile(
            r"\b(?:call|invoke|run|execute|trigger|use|fire)\s+(?:the\s+|your\s+)?"
            r"(?:[a-z]+_[a-z_]+\s+)?(?:tool|function|api|endpoint|method|command)s?\b"
            r"(?:\s+[a-z]+_[a-z_]+)?.{0,60}\b(?:with|using|passing|for|where|on)\b",
            _I,
        ),
        re.compile(r"\b(?:call|invoke|run|execute)\s+[a-z]+_[a-z_]+\s*\(", _I),
        re.compile(
            r"\b(?:customer_id|customerid|loan_id|loanid|user_id|account_id|is_verified|verified|"
            r"verification_status|verification|authenticated|is_admin|role|session_id|"
            r"auth_level|bypass_auth)\s*(?:=|:=|==|:)\s*['\"]?\s*(?:true|yes|1|C\d+|L\d+|admin|"
            r"verified|passed|ok|\w*\d)",
            _I,
        ),
        re.compile(
            r"\bset\s+(?:my\s+|the\s+)?(?:verification|verified|is_verified|auth\w*|status|role|"
            r"customer[_ ]id|session)\s+(?:status\s+)?(?:to|=|as)\s+"
            r"(?:true|verified|passed|yes|admin|C\d+)",
            _I,
        ),
        re.compile(
            r"\b(?:mark|flag|treat|consider|record|log)\s+(?:me|this\s+(?:session|chat|user|account))\s+"
            r"as\s+(?:already\s+)?(?:verified|authenticated|authori[sz]ed|an?\s+admin)\b",
            _I,
        ),
        re.compile(
            r"\b(?:skip|bypass|disable|turn\s+off|circumvent|get\s+around|override)\s+(?:the\s+|your\s+)?"
            r"(?:identity\s+)?(?:verification|authentication|id\s+check|security\s+checks?)\b",
            _I,
        ),
        re.compile(
            r"[\"'](?:tool_calls?|function_call|tool_name|tool|function|arguments|args)[\"']\s*:",
            _I,
        ),
        re.compile(
            r"\b(?:get|make|create|set|send|update|cancel|waive|record|lookup|fetch|list)_"
            r"[a-z_]+\s*\(.*?(?:customer|loan|id|verified)",
            _I,
        ),
        re.compile(r"\bfunctions\.[a-z_]+|\btool_?call\b|<\s*tool_call\s*>", _I),
        re.compile(r"\b(?:customer_id|loan_id|user_id|account_id|is_verified|session_id)\b", _I),
    ],
}

# Indirect phrasings: social engineering, false prior agreements, authority claims, and
# questions that fish for other customers without naming a loan.
_MORE: dict[str, list[re.Pattern[str]]] = {
    INSTRUCTION_OVERRIDE: [
        re.compile(
            _OVERRIDE_VERB + r"(?:the\s+|your\s+|all\s+)?(?:policy|policies|rules|instructions|"
            r"restrictions|guidelines|limitations)\s+(?:(?:that\s+)?you\s+(?:were|have\s+been|got)\s+"
            r"(?:given|told)|(?:in|of|from)\s+your\s+(?:prompt|instructions|programming|system|rules))",
            _I,
        ),
        re.compile(
            r"\b(?:previous|prior|earlier|old|original|your)\s+(?:instructions|rules|directives|"
            r"guidelines)\s+(?:are|were|have\s+been)\s+(?:now\s+)?(?:void|cancell?ed|revoked|obsolete|"
            r"replaced|overridden|no\s+longer\s+(?:valid|apply|in\s+effect)|a\s+test)\b",
            _I,
        ),
        re.compile(r"\bnew\s+(?:policy|rules?)\s*:", _I),
        re.compile(
            r"\b(?:earlier|before|last\s+time|already|previously)\s+(?:in\s+this\s+(?:chat|conversation)"
            r"\s+)?you\s+(?:already\s+)?(?:agreed|confirmed|said|promised|approved|allowed|decided)\b"
            r".{0,60}\b(?:exception|access|allowed|permission|see|share|show|family|household|other)\b",
            _I,
        ),
        re.compile(
            r"\b(?:assistants?|bots?|chatbots?|you)\s+(?:are|is)\s+(?:now\s+)?(?:permitted|allowed|"
            r"authori[sz]ed)\s+to\s+(?:share|show|reveal|disclose|give)\b",
            _I,
        ),
    ],
    ROLE_PLAY: [
        re.compile(
            r"\b(?:imagine|suppose|assume)\s+(?:that\s+)?you(?:'re|\s+are|\s+were)\b.{0,60}\b(?:without|"
            r"with\s+no|free\s+of)\s+(?:any\s+)?(?:restrictions|rules|limits|filters|guidelines)\b|"
            r"\byourself\s+(?:without|with\s+no)\s+(?:any\s+)?(?:restrictions|rules|limits|filters)\b",
            _I,
        ),
        re.compile(
            r"\bthis\s+is\s+your\s+(?:supervisor|manager|boss|developer|creator|admin|administrator|"
            r"owner|operator|programmer)\b|\b(?:compliance|audit|fraud|it|security|legal|support|"
            r"engineering|dev|qa)\s+(?:team|department|dept)\s+here\b",
            _I,
        ),
        re.compile(
            r"\b(?:giving|granting|grant|give)\s+you\s+(?:my\s+|full\s+|special\s+)?(?:permission|access|"
            r"clearance|authori[sz]ation)\s+to\b|\byou\s+(?:are|'re)\s+(?:legally\s+)?(?:required|"
            r"obligated|obliged|authori[sz]ed|allowed|permitted)\s+to\s+(?:show|give|share|disclose|"
            r"reveal|provide|answer)",
            _I,
        ),
    ],
    FAKE_SYSTEM_TEXT: [
        re.compile(r"\bsystem\s+override\b|\bsystem\s+(?:notice|alert|update)\s*:", _I),
    ],
    PROMPT_EXTRACTION: [
        re.compile(
            r"\bwhat\s+(?:instructions|rules|guidelines|directives)\s+(?:were|have)\s+you\s+"
            r"(?:been\s+)?(?:given|told)|\byour\s+(?:system\s+(?:message|prompt|instructions)|"
            r"instructions|prompt)\s+(?:say|says|said|tell|tells|contain|contains)\b",
            _I,
        ),
    ],
    OTHER_CUSTOMER_DATA: [
        re.compile(
            r"\b(?:show|list|give|dump|export|display|print)\s+(?:me\s+)?all\s+(?:the\s+)?(?:accounts|"
            r"loans|records|balances)\b(?!\s+(?:on|in|under|for|of)\s+(?:my|mine))",
            _I,
        ),
        re.compile(
            r"\b(?:all|every)\s+(?:the\s+)?(?:loans|accounts|customers|records|borrowers)\s+in\s+"
            r"(?:the|your)\s+(?:system|database|records)\b|\bexample\s+(?:account|customer|record|loan)"
            r"\s+from\s+(?:your|the)\s+(?:system|database|records)\b|\bany\s+customer\s+(?:is\s+fine|"
            r"will\s+do|works)\b",
            _I,
        ),
        re.compile(
            r"\b(?:record|records|file|details|account|data)\s+of\s+(?:a|any|another|some|one)\s+"
            r"(?:customer|borrower|client|user)\b|\b(?:which|what|how\s+many)\s+(?:other\s+)?"
            r"(?:customers|borrowers|people|users|clients)\s+(?:have|has|owe|are|with)\b",
            _I,
        ),
        re.compile(
            r"\b(?:look\s+up|lookup|find|search\s+for|pull\s+up|check)\s+(?:the\s+|a\s+)?(?:customer|"
            r"account|borrower|loan|person)s?\s+(?:with|whose|that\s+has)\s+(?:the\s+)?(?:phone|number|"
            r"email|name|address|zip|ssn|date\s+of\s+birth)",
            _I,
        ),
        re.compile(r"\b(?:loan|account)s?\s+(?:under|in)\s+(?:the\s+)?name\s+(?:of\s+)?[A-Z]"),
        re.compile(r"\b(?:customer|borrower|client|person)\s+(?:named|called)\s+[A-Z][a-z]+"),
        re.compile(
            r"\b(?:his|her|their)\s+(?:real|actual)\s+(?:numbers|data|balance|account|records|details)\b",
            _I,
        ),
        re.compile(
            r"\b(?:for|on|of)\s+(?:customer|client|borrower)\s+C\d{2,}\b|\b"
            + _NOT_A_NAME
            + r"[A-Z][a-z]+\s+[A-Z][a-z]+(?:'s)?\s+(?:has|owes|next|late|past|loan|account|"
            r"balance|phone|number)\b"
        ),
        re.compile(
            r"\b(?:do\s+you\s+have|is\s+on\s+file|on\s+file)\s+for\s+"
            + _NOT_A_NAME
            + r"[A-Z][a-z]+\s+[A-Z]"
        ),
    ],
    TOOL_MANIPULATION: [
        re.compile(
            r"\b(?:verify|log|sign|authenticate|treat)\s+me\s+(?:in\s+)?as\s+(?:him|her|them|"
            r"someone\s+else|another\s+(?:customer|person|user)|the\s+(?:customer|owner|borrower)\s+"
            r"(?:with|of|on|who))\b|\b(?:verification|authentication)\s+(?:covers|includes|applies\s+to|"
            r"extends\s+to|carries\s+over)\b|\blog\s+me\s+in\s+as\b",
            _I,
        ),
    ],
}
for _family, _patterns in _MORE.items():
    PATTERNS[_family].extend(_patterns)

# Letters spaced apart or glued together: matched after removing everything but letters.
_SQUASHED_PHRASES = (
    "ignoreallpreviousinstructions",
    "ignorepreviousinstructions",
    "ignoreallinstructions",
    "ignoreyourinstructions",
    "disregardpreviousinstructions",
    "disregardallinstructions",
    "revealyoursystemprompt",
    "printyoursystemprompt",
    "repeatyoursystemprompt",
    "showmeyoursystemprompt",
    "developermodeenabled",
    "enabledevelopermode",
)

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ո": "n", "А": "A", "Е": "E",
        "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "Ѕ": "S", "М": "M",
        "Н": "H", "К": "K", "В": "B",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l", "+": "t", "8": "b"})  # fmt: skip
_LEET_TOKEN = re.compile(r"\S*[A-Za-z]\S*")
_BASE64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX_RUN = re.compile(r"(?:\b0x)?(?:[0-9a-fA-F]{2}[\s:,\\x]{0,3}){10,}")
_SPACED_LETTERS = re.compile(r"(?:\b\w ){4,}\w\b")
_URL_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def normalize(text: str) -> str:
    """NFKC, no zero-width characters, Cyrillic look-alikes folded, quotes unified."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    text = text.translate(_HOMOGLYPHS)
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def _deleet(text: str) -> str:
    def fold(match: re.Match[str]) -> str:
        token = match.group()
        if any(c.isdigit() or c in "@$!|+" for c in token) and sum(c.isalpha() for c in token) >= 2:
            return token.translate(_LEET)
        return token

    return _LEET_TOKEN.sub(fold, text)


def _printable_ratio(data: str) -> float:
    return sum(c.isprintable() or c in "\n\t" for c in data) / max(len(data), 1)


def _decode_base64(token: str) -> str | None:
    if not any(c.isdigit() or c.isupper() for c in token) or (token.isalpha() and token.islower()):
        return None
    padded = token + "=" * (-len(token) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = decoder(padded).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if len(decoded) >= 8 and _printable_ratio(decoded) > 0.95 and " " in decoded:
            return decoded
    return None


def _decode_hex(run: str) -> str | None:
    cleaned = re.sub(r"0x|\\x|[\s:,]", "", run)
    if len(cleaned) % 2:
        cleaned = cleaned[:-1]
    try:
        decoded = bytes.fromhex(cleaned).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if _printable_ratio(decoded) > 0.95 and " " in decoded else None


def decoded_variants(text: str) -> list[tuple[str, str]]:
    """(how, decoded text) for every hidden form of ``text`` worth checking."""
    variants: list[tuple[str, str]] = []
    deleet = _deleet(text)
    if deleet != text:
        variants.append(("leetspeak", deleet))
    for token in _BASE64_TOKEN.findall(text):
        decoded = _decode_base64(token)
        if decoded:
            variants.append(("base64", decoded))
    for run in _HEX_RUN.findall(text):
        decoded = _decode_hex(run)
        if decoded:
            variants.append(("hex", decoded))
    if len(_URL_ESCAPE.findall(text)) >= 3:
        variants.append(("url-encoding", unquote(text)))
    if _SPACED_LETTERS.search(text):
        words = re.split(r"\s{2,}", text)
        variants.append(("spaced letters", " ".join(w.replace(" ", "") for w in words)))
    variants.append(("rot13", codecs.decode(text, "rot13")))
    variants.append(("reversed", text[::-1]))
    return variants


def _matches(text: str, families: Iterable[str] = FAMILY_ORDER) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for family in families:
        for pattern in PATTERNS[family]:
            match = pattern.search(text)
            if match:
                found.append((family, match.group().strip()[:80]))
                break
    return found


def _foreign_loans(text: str, known_loans: Iterable[str]) -> list[str]:
    known = {canonical(k) for k in known_loans}
    return [x for x in loan_numbers_in(text, known_loans) if canonical(x) not in known]


def detect_injection(text: str, *, known_loans: Iterable[str] | None = None) -> InjectionVerdict:
    """Whether ``text`` tries to change the assistant's rules, role, or whom it acts for.

    ``known_loans`` (the verified customer's loan numbers) lets a mention of any other
    loan number count as a request for another customer's data; without it a loan
    number alone is never an attack (customers type their own).
    """
    clean = normalize(text)
    evidence: list[str] = []
    families: list[str] = []

    for family, snippet in _matches(clean):
        families.append(family)
        evidence.append(f"{family}: {snippet!r}")
    if families and clean != text and not _matches(text):
        # Only visible once invisible characters and look-alike letters are undone.
        return InjectionVerdict(
            True,
            ENCODED_PAYLOAD,
            [f"{ENCODED_PAYLOAD} (unicode obfuscation → {e})" for e in evidence],
        )

    foreign: list[str] = []
    if known_loans is not None:
        foreign = _foreign_loans(clean, known_loans)
        if foreign:
            families.append(OTHER_CUSTOMER_DATA)
            evidence.append(f"{OTHER_CUSTOMER_DATA}: loan number(s) not the customer's: {foreign}")

    if families:
        family = next(f for f in FAMILY_ORDER if f in families)
        return InjectionVerdict(True, family, evidence, foreign)

    # Nothing in clear text: look for the same attacks hidden in an encoding.
    hidden = _hidden_attacks(clean)
    if hidden:
        return InjectionVerdict(True, ENCODED_PAYLOAD, hidden)
    return InjectionVerdict(False, None, [])


_HIDDEN_FAMILIES = (
    FAKE_SYSTEM_TEXT,
    TOOL_MANIPULATION,
    INSTRUCTION_OVERRIDE,
    PROMPT_EXTRACTION,
    ROLE_PLAY,
    OTHER_CUSTOMER_DATA,
)


def _hidden_attacks(clean: str) -> list[str]:
    hits: list[str] = []
    for how, decoded in decoded_variants(clean):
        families = (
            _HIDDEN_FAMILIES if how in ("base64", "hex", "url-encoding") else _HIDDEN_FAMILIES[:5]
        )
        for family, snippet in _matches(normalize(decoded), families):
            hits.append(f"{ENCODED_PAYLOAD} ({how} → {family}): {snippet!r}")
    squashed = re.sub(r"[^a-z]", "", _deleet(clean).lower())
    hits.extend(
        f"{ENCODED_PAYLOAD} (letters spaced or glued): {phrase!r}"
        for phrase in _SQUASHED_PHRASES
        if phrase in squashed
    )
    return hits
