"""initial schema: rule-set versions, activations, decision log, audit log

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ruleset_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(40), nullable=False, unique=True, index=True),
        sa.Column("digest", sa.String(80), nullable=False, unique=True, index=True),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("rule_count", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "ruleset_activation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String(40), nullable=False, index=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("previous_version", sa.String(40), nullable=True),
        sa.Column("activated_at", sa.DateTime, nullable=False),
        sa.Column("activated_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
    )
    op.create_table(
        "assessment",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ruleset_version", sa.String(40), nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("from_version", sa.String(40), nullable=True),
        sa.Column("to_version", sa.String(40), nullable=True),
        sa.Column("digest", sa.String(80), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_event", "assessment", "ruleset_activation", "ruleset_version"):
        op.drop_table(table)
