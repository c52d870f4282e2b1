"""payment_orders and stripe_webhook_events: the fork's Stripe top-ups (SPEC §2.9).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from oneapi.db.schema_sync import ensure_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("One API databases are never downgraded: it would lose columns")
