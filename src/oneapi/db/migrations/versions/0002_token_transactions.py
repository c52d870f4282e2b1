"""token_transactions: pending and settled `/api/token/consume` holds (SPEC §5.9, §2.9).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from oneapi.db.schema_sync import ensure_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("One API databases are never downgraded: it would lose columns")
