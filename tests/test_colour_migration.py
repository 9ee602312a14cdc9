"""Migration 0005 on both engines: cartridge colours written as Russian or English names become
their codes; any other name stays as it was."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from database.migrate import alembic_config

REVISION = "0005"

cartridge_types = sa.table(
    "cartridge_types",
    sa.column("id", sa.BigInteger),
    sa.column("model", sa.String),
    sa.column("vendor", sa.String),
    sa.column("colour", sa.String),
    sa.column("low_stock_threshold", sa.Integer),
    sa.column("is_active", sa.Boolean),
)

WRITTEN = {
    "A": "чёрный",
    "B": "black",
    "C": " Чёрный ",
    "D": "ЧЕРНЫЙ",
    "E": "Black",
    "F": "Голубой",
    "G": "cyan",
    "H": "пурпурный",
    "I": "Magenta",
    "J": "желтый",
    "K": "Жёлтый",
    "L": "серебристый",
    "M": "",
}
EXPECTED = {
    "A": "black",
    "B": "black",
    "C": "black",
    "D": "black",
    "E": "black",
    "F": "cyan",
    "G": "cyan",
    "H": "magenta",
    "I": "magenta",
    "J": "yellow",
    "K": "yellow",
    "L": "серебристый",
    "M": "",
}


async def test_colour_names_become_codes(engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision

    def migrate(connection, target: str) -> None:
        config.attributes["connection"] = connection
        if target == "head":
            command.upgrade(config, target)
        else:
            command.downgrade(config, target)

    async with engine.begin() as conn:
        await conn.run_sync(migrate, before)
        await conn.execute(
            cartridge_types.insert(),
            [
                {
                    "model": model,
                    "vendor": "",
                    "colour": colour,
                    "low_stock_threshold": 2,
                    "is_active": True,
                }
                for model, colour in WRITTEN.items()
            ],
        )
    async with engine.begin() as conn:
        await conn.run_sync(migrate, "head")
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(cartridge_types.c.model, cartridge_types.c.colour))
        assert dict(rows.all()) == EXPECTED
