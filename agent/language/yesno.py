"""Is a customer's message a yes, or a no? One vocabulary, two questions:

- ``starts_affirmative``: the message opens with a plain yes ("yes please", "ok", "sure,
  go ahead"). The offline engine reads an answer to its own question this way, and the
  conversation service an accepted offer of a person; what follows the yes may carry
  more ("yes, and send me a link").
- ``is_affirmative``: the message says yes and nothing in it holds back ("no", "wait",
  "actually", "change ..."). A write needs this, in a turn after its proposal: it is the
  stricter reading, so "yes but change the date" confirms nothing.

``is_negative`` is a no without a yes.
"""

from __future__ import annotations

import re

# The plain yes words a reply may open with ("y" only as a word of its own).
OPENING_YES: tuple[str, ...] = (
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "please",
    "go ahead",
    "y",
)
_OPENING_YES = re.compile(rf"^\s*({'|'.join(OPENING_YES)})\b", re.IGNORECASE)

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


def starts_affirmative(text: str) -> bool:
    """A reply that opens with a yes ("yes please", "ok", "sure, go ahead")."""
    return bool(_OPENING_YES.match(text))


def is_affirmative(text: str) -> bool:
    """A yes with nothing holding it back: what confirms a write."""
    return bool(_YES.search(text)) and not _NO.search(text)


def is_negative(text: str) -> bool:
    """A no without a yes."""
    return bool(_NO.search(text)) and not _YES.search(text)
