"""The loan ledger: customers, loans and every servicing record, in SQLModel.

It knows nothing of conversations, models or prompts.
"""
