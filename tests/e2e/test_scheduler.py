"""The scheduler inside the bot process, and `python -m cron` for system-cron users."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from database.engine import create_engine, create_sessionmaker
from database.enums import Role, UserStatus
from database.models import Branch, CartridgeType, Category, SlaNotification, User, utcnow
from emulator import BotApiEmulator, TgUser
from services import orders
from services.actor import Actor
from services.orders import OrderLine
from tests.e2e.conftest import BotProcess, bot_env

STAFF = TgUser(7001, "Анна", "Смирнова")
KEEPER = TgUser(7002, "Иван", "Иванов")


async def overdue_order(url: str) -> str:
    """An order filed two days ago that nobody took: past its accept deadline."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        north = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
        cartridges = await session.scalar(select(Category).where(Category.code == "cartridges"))
        staff = User(
            telegram_id=STAFF.id,
            full_name="Смирнова А.",
            role=Role.USER,
            status=UserStatus.APPROVED,
            branch_id=north.id,
        )
        session.add_all(
            [
                staff,
                User(
                    telegram_id=KEEPER.id,
                    full_name="Иванов И.",
                    role=Role.EXECUTOR,
                    status=UserStatus.APPROVED,
                    categories=[cartridges],
                ),
            ]
        )
        await session.flush()
        cartridge = await session.scalar(
            select(CartridgeType).where(CartridgeType.model == "TK-1170")
        )
        created = await orders.create(
            session,
            Actor.build(STAFF.id, staff, frozenset()),
            client_token="e2e-sla",
            branch_id=north.id,
            lines=[OrderLine(cartridge.id, 1)],
            now=utcnow() - timedelta(days=2),
        )
        await session.commit()
        number = created.request.number
    await engine.dispose()
    return number


@pytest.mark.bot_env(SLA_24_7="true", SLA_SCAN_INTERVAL="5")
async def test_the_bot_reminds_the_storekeeper_of_an_untaken_order(
    emu: BotApiEmulator, database_url: str, bot_process: BotProcess
) -> None:
    emu.add_user(KEEPER)
    number = await overdue_order(database_url)
    reminder = await emu.wait_for_message(
        KEEPER.id, lambda m: "Напоминание" in m.text and number in m.text, timeout=30
    )
    assert [text for text, _ in reminder.buttons] == ["Открыть заявку"]
    await emu.press_button(KEEPER, reminder, text="Открыть заявку")
    card = await emu.wait_for_message(KEEPER.id, lambda m: "Взять в работу" in str(m.buttons))
    assert number in card.text


async def test_cron_command_runs_one_scan(emu: BotApiEmulator, database_url: str, tmp_path) -> None:
    number = await overdue_order(database_url)
    env = {**bot_env(emu, database_url), "SLA_24_7": "true"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cron",
        "sla",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip().splitlines()[-1].startswith("SLA scan:"), out.decode()
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        levels = (await session.execute(select(SlaNotification.level))).scalars().all()
    await engine.dispose()
    assert "reminder" in levels, (number, out.decode())
