"""The records: interactions and their messages, corrections, feedback, jobs, models, settings.

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("corrections", "feedback", "jobs", "models")


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_interactions"),
        sa.UniqueConstraint("tenant", "id", name="uq_interactions_tenant_id"),
    )
    op.create_index(
        "ix_interactions_tenant_conversation_id_seq",
        "interactions",
        ["tenant", "conversation_id", "seq"],
    )
    op.create_table(
        "interaction_messages",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "message_id", name="pk_interaction_messages"),
        sa.ForeignKeyConstraint(
            ["tenant", "interaction_id"],
            ["interactions.tenant", "interactions.id"],
            name="fk_interaction_messages_tenant_interaction_id_interactions",
        ),
    )
    for name in APPEND_ONLY:
        op.create_table(
            name,
            sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
            sa.Column("tenant", sa.String(), nullable=False),
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("record", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
            sa.UniqueConstraint("tenant", "id", name=f"uq_{name}_tenant_id"),
        )
        op.create_index(f"ix_{name}_tenant_seq", name, ["tenant", "seq"])
    op.create_table(
        "active_models",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("model_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_active_models"),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_tenant_settings"),
    )


def downgrade() -> None:
    for name in ("tenant_settings", "active_models", *reversed(APPEND_ONLY)):
        op.drop_table(name)
    op.drop_table("interaction_messages")
    op.drop_table("interactions")
