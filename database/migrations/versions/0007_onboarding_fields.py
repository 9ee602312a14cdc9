"""bulk onboarding and per-category auto-replies: e-mail of people, who an invite is for (name,
username, e-mail, categories to serve), a category's auto-reply text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auto_reply_ru", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("auto_reply_en", sa.Text(), nullable=True))
    op.create_table(
        "invite_categories",
        sa.Column("invite_id", _ID, nullable=False),
        sa.Column("category_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_invite_categories_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["invites.id"],
            name=op.f("fk_invite_categories_invite_id_invites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invite_id", "category_id", name=op.f("pk_invite_categories")),
    )


def downgrade() -> None:
    op.drop_table("invite_categories")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("auto_reply_en")
        batch_op.drop_column("auto_reply_ru")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("username")
        batch_op.drop_column("full_name")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
