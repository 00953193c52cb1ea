"""Append-only, hash-chained audit log of every step of every conversation."""
