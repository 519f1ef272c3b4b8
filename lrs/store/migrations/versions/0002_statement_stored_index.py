"""Index statement.stored_ms, for the since/until filters of GET /statements.

Without it a narrow since/until window (a client polling for what is new) reads the whole
statement table; with it PostgreSQL and SQLite go straight to the window's rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_statement_stored_ms", "statement", ["stored_ms"])


def downgrade() -> None:
    op.drop_index("ix_statement_stored_ms", table_name="statement")
