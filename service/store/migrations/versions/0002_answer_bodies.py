"""answer bodies stored once: assessment.body_sha refers to assessment_body; response becomes optional

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_body",
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("template", sa.Text, nullable=False),
    )
    with op.batch_alter_table("assessment") as batch:
        batch.add_column(sa.Column("body_sha", sa.String(64), nullable=True))
        batch.alter_column("response", existing_type=sa.Text, nullable=True)


def downgrade() -> None:
    op.execute("UPDATE assessment SET response = '' WHERE response IS NULL")
    with op.batch_alter_table("assessment") as batch:
        batch.alter_column("response", existing_type=sa.Text, nullable=False)
        batch.drop_column("body_sha")
    op.drop_table("assessment_body")
