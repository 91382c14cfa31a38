"""Job leases: which process follows a training job and posts its outcome.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "job_id", name="pk_job_leases"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
