"""Is the customer's message a yes? Writes need one, in a turn after the proposal."""

from __future__ import annotations

import re

_YES = re.compile(
    r"^\s*y\s*[.!]*\s*$|"
    r"\b(ye+s*|yeh|yeah+|yea|yep+|yup+|ya|yah|sure|ok+|okay+|okey|k|kk|alright|all right|please do|"
    r"go ahead|do it|bet|deal|do that|that works|sounds great|sure thing|yes please|yessir|"
    r"ofc|of course|agreed|i agree|i confirm|"
    r"set (it|that|this) up|make (the|that) change|go for it|sounds good|confirm(ed)?|"
    r"correct|that'?s right|right|absolutely|"
    r"definitely|perfect|great|please|si|sí|affirmative|proceed|let'?s do it|works for me)\b"
    r"|👍|✅",
    re.IGNORECASE,
)
_NO = re.compile(
    r"\b(no|nope|nah|don'?t|do not|not|cancel|stop|never ?mind|wait|hold on|wrong|"
    r"incorrect|(?<!make the )(?<!make that )change|instead|actually)\b",
    re.IGNORECASE,
)


def is_affirmative(text: str) -> bool:
    return bool(_YES.search(text)) and not _NO.search(text)


def is_negative(text: str) -> bool:
    return bool(_NO.search(text)) and not _YES.search(text)
