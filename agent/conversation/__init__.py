"""Conversations: the handoff state machine, transcript, and the turn service."""
