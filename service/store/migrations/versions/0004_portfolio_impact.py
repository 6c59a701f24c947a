"""portfolio impact: the subject and business of each assessment, impact jobs and their items, the change feed

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from service import businesses

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BACKFILL_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("assessment") as batch:
        batch.add_column(sa.Column("subject", sa.String(200), nullable=True))
        batch.add_column(sa.Column("business", sa.String(200), nullable=True))
    _backfill_business()
    op.create_index("ix_assessment_business", "assessment", ["business"])
    op.create_table(
        "impact_job",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("baseline_version", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("totals", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "impact_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("business", sa.String(200), nullable=False),
        sa.Column("assessment_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("changed", sa.Boolean, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
    )
    op.create_index("ix_impact_item_work", "impact_item", ["job_id", "state", "id"])
    op.create_table(
        "change_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("previous_version", sa.String(40), nullable=False),
        sa.Column("business", sa.String(200), nullable=False),
        sa.Column("assessment_id", sa.String(40), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def _backfill_business() -> None:
    """Assessments recorded before subjects existed are known by their profile's digest (service/businesses.py)."""
    bind = op.get_bind()
    assessment = sa.table("assessment", sa.column("id", sa.String), sa.column("profile", sa.Text),
                          sa.column("business", sa.String))
    while True:
        rows = bind.execute(sa.select(assessment.c.id, assessment.c.profile)
                            .where(assessment.c.business.is_(None)).limit(BACKFILL_BATCH)).all()
        if not rows:
            return
        bind.execute(sa.update(assessment).where(assessment.c.id == sa.bindparam("row_id"))
                     .values(business=sa.bindparam("key")),
                     [{"row_id": r.id, "key": businesses.key(None, r.profile)} for r in rows])


def downgrade() -> None:
    op.drop_table("change_event")
    op.drop_index("ix_impact_item_work", "impact_item")
    op.drop_table("impact_item")
    op.drop_table("impact_job")
    op.drop_index("ix_assessment_business", "assessment")
    with op.batch_alter_table("assessment") as batch:
        batch.drop_column("business")
        batch.drop_column("subject")
