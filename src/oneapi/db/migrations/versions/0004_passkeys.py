"""passkey_credentials: the fork's WebAuthn sign-in credentials (SPEC §1.3 passkey routes).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from oneapi.db.schema_sync import ensure_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("One API databases are never downgraded: it would lose columns")
