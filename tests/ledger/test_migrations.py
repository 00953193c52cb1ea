"""Alembic migrations produce exactly the schema of the models, on SQLite and PostgreSQL."""

import uuid
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from agent.db.engine import import_all_models
from agent.db.migrate import alembic_config


def _diff(engine) -> list:
    import_all_models()
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_sqlite_migration_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "head")
    assert _diff(create_engine(url)) == []


def test_postgres_migration_matches_models(postgres_available: str) -> None:
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_available)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(postgres_available, connect_args={"options": f"-csearch_path={schema}"})
    try:
        config = alembic_config(postgres_available)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        diff = [d for d in _diff(engine) if "alembic_version" not in str(d)]
        assert diff == []
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
