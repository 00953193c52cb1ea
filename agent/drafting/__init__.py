"""Replies drafted for the human agent who took a conversation over: grounded in the
ledger and the escalation reason, for the agent to edit and send. Not part of the
offline servicing model."""
