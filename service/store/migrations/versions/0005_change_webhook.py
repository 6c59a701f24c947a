"""change webhook: how far the change feed has been delivered, and the lease of the process delivering it; an impact
job holds a business once (the late-record top-up looks it up by job and business)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ux_impact_item_business", "impact_item", ["job_id", "business"], unique=True)
    op.create_table(
        "webhook_cursor",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("delivered", sa.Integer, nullable=False),
        sa.Column("batch_last", sa.Integer, nullable=True),
        sa.Column("leased_by", sa.String(120), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("last_attempt_at", sa.DateTime, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_delivered_at", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ux_impact_item_business", "impact_item")
    op.drop_table("webhook_cursor")
