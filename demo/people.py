"""The demo organisation's people: one of each role, and a newcomer who is not registered."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Branch, Category, User, utcnow
from emulator import TgUser


@dataclass(frozen=True)
class DemoPerson:
    tg: TgUser
    role: Role | None  # None: not registered yet
    branch: str = ""
    categories: tuple[str, ...] = ()


NEWCOMER = DemoPerson(TgUser(1004, "Пётр", "Петров", "petrov"), None)
OWNER = DemoPerson(TgUser(1000, "Ольга", "Владимирова", "vladimirova"), None)
PEOPLE = [
    NEWCOMER,
    OWNER,
    DemoPerson(
        TgUser(1001, "Иван", "Иванов", "ivanov"), Role.EXECUTOR, "Склад №1", ("cartridges",)
    ),
    DemoPerson(
        TgUser(1002, "Сергей", "Техников", "tehnikov"),
        Role.EXECUTOR,
        "Центральный офис",
        ("repair", "maintenance", "it", "other"),
    ),
    DemoPerson(TgUser(1003, "Анна", "Смирнова", "smirnova"), Role.USER, "Филиал «Север»"),
]


async def add_people(session: AsyncSession) -> None:
    """Registered demo people (idempotent); the owner and the newcomer register in the bot."""
    for person in PEOPLE:
        if person.role is None:
            continue
        if await session.scalar(select(User.id).where(User.telegram_id == person.tg.id)):
            continue
        branch_id = await session.scalar(select(Branch.id).where(Branch.name == person.branch))
        categories = (
            (await session.execute(select(Category).where(Category.code.in_(person.categories))))
            .scalars()
            .all()
        )
        session.add(
            User(
                telegram_id=person.tg.id,
                username=person.tg.username,
                full_name=f"{person.tg.last_name} {person.tg.first_name}",
                role=person.role,
                status=UserStatus.APPROVED,
                branch_id=branch_id,
                approved_at=utcnow(),
                categories=list(categories),
            )
        )
