"""Database plumbing shared by the ledger, conversations and audit: engine, column types."""

from agent.db.engine import create_db_engine, create_schema, session_factory

__all__ = ["create_db_engine", "create_schema", "session_factory"]
