"""index of an order's lines by request

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_request_items_request", "request_items", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_items_request", table_name="request_items")
