"""The organisation the admin-screen tests start from: `tests.test_bot_requests.setup_org` (the
seed, a requester, a storekeeper, a technician, a supervisor) plus an admin, and their ids. The
`admin_org` fixture in conftest.py gives it to a test."""

from __future__ import annotations

from sqlalchemy import select

from database.enums import Role, UserStatus
from database.models import Category, User
from database.repositories import users as users_repo
from services.actor import Actor
from tests.test_bot_requests import KEEPER, REQUESTER, SUPERVISOR, TECHNICIAN, setup_org
from tests.updates import tg_user

ADMIN = tg_user(5000, "Админ")


async def setup_org_and_admin(sessionmaker) -> dict[str, int]:
    """Ids: those of `setup_org`, the people by role ("admin", "keeper", "technician",
    "supervisor", "requester") and every category by its code."""
    ids = await setup_org(sessionmaker)
    async with sessionmaker() as session:
        admin = User(
            telegram_id=ADMIN.id,
            full_name="Админов А.",
            role=Role.ADMIN,
            status=UserStatus.APPROVED,
        )
        session.add(admin)
        await session.flush()
        people = {
            name: (await users_repo.by_telegram_id(session, who.id)).id
            for name, who in (
                ("keeper", KEEPER),
                ("technician", TECHNICIAN),
                ("supervisor", SUPERVISOR),
                ("requester", REQUESTER),
            )
        }
        codes = {c.code: c.id for c in await session.scalars(select(Category))}
        await session.commit()
        return {**ids, "admin": admin.id, **people, **codes}


async def admin_actor(session, telegram_id: int = ADMIN.id) -> Actor:
    user = await users_repo.by_telegram_id(session, telegram_id)
    return Actor.build(telegram_id, user, frozenset())
