"""invites can be revoked: when and by whom

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", database.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "revoked_by_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invites_revoked_by_id_users"),
            "users",
            ["revoked_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invites_revoked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("revoked_by_id")
        batch_op.drop_column("revoked_at")
