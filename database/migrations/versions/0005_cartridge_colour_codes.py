"""cartridge colours stored as codes: Russian and English names become black, cyan, magenta,
yellow

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The names of each code as of this revision (services.colours may grow later; a migration
# keeps its own copy). Compared with case folded, spaces collapsed and ё read as е: in Python,
# since SQLite's lower() knows ASCII only.
NAMES = {
    "black": ("black", "чёрный"),
    "cyan": ("cyan", "голубой"),
    "magenta": ("magenta", "пурпурный"),
    "yellow": ("yellow", "жёлтый"),
}
CODE_BY_KEY = {name.replace("ё", "е"): code for code, names in NAMES.items() for name in names}

cartridge_types = sa.table(
    "cartridge_types", sa.column("id", sa.BigInteger), sa.column("colour", sa.String)
)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold().replace("ё", "е")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(cartridge_types.c.id, cartridge_types.c.colour)).all()
    for type_id, colour in rows:
        code = CODE_BY_KEY.get(_key(colour or ""))
        if code is not None and code != colour:
            connection.execute(
                cartridge_types.update().where(cartridge_types.c.id == type_id).values(colour=code)
            )


def downgrade() -> None:
    # The names the codes replaced are not kept; the codes read well in older code too.
    pass
