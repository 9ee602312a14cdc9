"""The migrated schema matches the models and keeps its promises on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from database.enums import Role
from database.models import Branch, User


async def test_datetimes_come_back_as_aware_utc(session) -> None:
    session.add(User(telegram_id=10**12, full_name="Иванов Иван", role=Role.USER))
    await session.commit()
    user = (await session.execute(select(User))).scalar_one()
    await session.refresh(user)
    assert user.registered_at.tzinfo is not None
    assert abs((datetime.now(UTC) - user.registered_at).total_seconds()) < 60


async def test_foreign_keys_are_enforced(session) -> None:
    session.add(User(telegram_id=1, full_name="x", branch_id=999_999))
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_telegram_id_is_unique(session) -> None:
    session.add(Branch(name="Филиал"))
    session.add_all([User(telegram_id=5, full_name="a"), User(telegram_id=5, full_name="b")])
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_migrations_match_the_models(engine) -> None:
    """A model change without its migration fails here, on both engines."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from database.models import Base

    def diff(connection) -> list:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_migrations_downgrade_and_upgrade_again(engine) -> None:
    from alembic import command

    from database.migrate import alembic_config

    def cycle(connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        await conn.run_sync(cycle)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: c.dialect.get_table_names(c))
    assert {"users", "requests", "outbox", "fsm_states"} <= set(tables)
