"""login throttle: failed staff logins counted per (address, account), address and account

Revision ID: 7f8b729a9376
Revises: eb79a300dbea
Create Date: 2026-12-01 05:38:26.271736
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import agent.db.types

revision: str = "7f8b729a9376"
down_revision: str | None = "eb79a300dbea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loginthrottle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", agent.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", agent.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", agent.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("loginthrottle")
