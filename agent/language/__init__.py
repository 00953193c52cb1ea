"""What customer text means as values: one definition each of spelling and slang
normalisation (``normalize``, ``typos``), what a reply to a proposal answers
(``confirmation``: the one rule for a yes), amounts (``amounts``),
dates, months and weekdays (``dates``), numbers written as words (``number_words``),
phone numbers (``phones``), loan numbers (``loan_numbers``), ZIP codes
(``postal_codes``) and contact preferences (``contact``).

Used by the guardrails, the tools, the ledger's lookups and the engine; it imports
nothing above ``agent/policy`` (tests/test_dependencies.py checks that).
"""
