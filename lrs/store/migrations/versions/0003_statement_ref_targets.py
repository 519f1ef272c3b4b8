"""Index what each StatementRef targets (kind "targets"), so that statements stored before
their target inherit its filter keys once it arrives (Communication 2.1.3).

Statements stored before this revision get their row here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_POSTGRESQL = """
INSERT INTO statement_index (kind, value, seq)
SELECT 'targets', lower(body::jsonb #>> '{object,id}'), seq FROM statement
WHERE body::jsonb #>> '{object,objectType}' = 'StatementRef'
  AND body::jsonb #>> '{object,id}' IS NOT NULL
ON CONFLICT DO NOTHING
"""
_SQLITE = """
INSERT OR IGNORE INTO statement_index (kind, value, seq)
SELECT 'targets', lower(json_extract(body, '$.object.id')), seq FROM statement
WHERE json_extract(body, '$.object.objectType') = 'StatementRef'
  AND json_extract(body, '$.object.id') IS NOT NULL
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(_POSTGRESQL if postgresql else _SQLITE)


def downgrade() -> None:
    op.execute("DELETE FROM statement_index WHERE kind = 'targets'")
