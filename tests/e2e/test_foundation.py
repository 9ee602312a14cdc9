"""The bot process end to end: start-up, registration and approval, refusals, restarts, outages."""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import func, select

from database.engine import create_engine, create_sessionmaker
from database.enums import Role, UserStatus
from database.models import OutboxMessage, User
from emulator import BotApiEmulator, TgUser
from tests.e2e.conftest import OWNER, ROOT, BotProcess

NEWCOMER = TgUser(5001, "Пётр", "Петров", "petrov")
BRANCH = "Филиал «Север»"


async def query_db(url: str, statement):
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        result = (await session.execute(statement)).all()
    await engine.dispose()
    return result


async def add_user(url: str, tg: TgUser, role: Role) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        session.add(
            User(
                telegram_id=tg.id,
                full_name=f"{tg.last_name} {tg.first_name}",
                role=role,
                status=UserStatus.APPROVED,
            )
        )
        await session.commit()
    await engine.dispose()


async def register_until_branch_list(emu: BotApiEmulator, user: TgUser) -> None:
    await emu.send_message(user, "/start")
    await emu.wait_for_message(user.id, lambda m: "Шаг 1 из 2" in m.text)
    await emu.send_message(user, "Петров Пётр Петрович")
    await emu.wait_for_message(user.id, lambda m: "Шаг 2 из 2" in m.text)


async def press_branch(emu: BotApiEmulator, user: TgUser, name: str) -> None:
    """Page through the branch list until `name` shows, then press it."""
    for _ in range(5):
        message = emu.last_message_to(user.id)
        labels = [text for text, _ in message.buttons]
        if name in labels:
            await emu.press_button(user, message, text=name)
            return
        await emu.press_button(user, message, text="След. ›")
        await emu.wait_for_message(user.id, lambda m: m.edited)
    raise AssertionError(f"{name} not found in the branch list")


async def test_without_token_one_line_names_bot_token(tmp_path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0], err.decode()


async def test_registration_approval_and_menus(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    # Start-up registered the command menus: a default one and the owner's own.
    assert any(scope.startswith("default") for scope, _ in emu.commands), emu.commands
    owner_menu = [c["command"] for c in emu.get_commands({"type": "chat", "chat_id": OWNER.id})]
    assert "invite" in owner_menu

    await register_until_branch_list(emu, NEWCOMER)
    await press_branch(emu, NEWCOMER, BRANCH)
    await emu.wait_for_message(NEWCOMER.id, lambda m: "отправлена администраторам" in m.text)

    # The owner gets the request through the outbox: Approve (then the role), Approve as user,
    # Reject.
    request = await emu.wait_for_message(OWNER.id, lambda m: "Петров Пётр Петрович" in m.text)
    assert BRANCH in request.text
    assert [text for text, _ in request.buttons] == [
        "Одобрить",
        "Одобрить как пользователя",
        "Отклонить",
    ]

    # Until approved the newcomer reaches nothing, and is told why.
    await emu.send_message(NEWCOMER, "/invite")
    await emu.wait_for_message(NEWCOMER.id, lambda m: "ожидает одобрения" in m.text)

    await emu.press_button(OWNER, request, text="Одобрить как пользователя")
    await emu.wait_for_message(OWNER.id, lambda m: "одобрена: " in m.text and m.edited)
    await emu.wait_for_message(NEWCOMER.id, lambda m: "одобрена" in m.text)

    rows = await query_db(database_url, select(User.status).where(User.telegram_id == NEWCOMER.id))
    assert rows == [(UserStatus.APPROVED,)]
    assert not emu.errors, emu.errors


async def test_forged_admin_callback_from_a_plain_user_is_refused(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await register_until_branch_list(emu, NEWCOMER)
    await press_branch(emu, NEWCOMER, BRANCH)
    request = await emu.wait_for_message(OWNER.id, lambda m: "Петров" in m.text)
    approve_data = next(data for text, data in request.buttons if text == "Одобрить")

    intruder = TgUser(5002, "Иван", "Хитров")
    await add_user(database_url, intruder, Role.USER)  # registered, approved, plain user
    await emu.send_message(intruder, "/start")
    await emu.wait_for_message(intruder.id, lambda m: "Хитров" in m.text)
    query_id = await emu.press_button(intruder, None, callback_data=approve_data)
    answer = await emu.wait_for_callback_answer(query_id)
    assert "нет прав" in answer.text and answer.show_alert

    rows = await query_db(database_url, select(User.status).where(User.telegram_id == NEWCOMER.id))
    assert rows == [(UserStatus.PENDING,)]


async def test_dialog_and_updates_survive_sigkill_and_restart(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await register_until_branch_list(emu, NEWCOMER)
    await emu.wait_for_polling()  # the name step is committed and confirmed
    await bot_process.kill()
    # The tap arrives while the bot is down: it waits at the Bot API and is not dropped.
    await press_branch(emu, NEWCOMER, BRANCH)
    assert emu.pending_updates() == 1
    await bot_process.start(emu)

    done = await emu.wait_for_message(NEWCOMER.id, lambda m: "отправлена" in m.text)
    assert "Петров Пётр Петрович" in done.text  # the name typed before the crash
    rows = await query_db(
        database_url, select(User.full_name, User.status).where(User.telegram_id == NEWCOMER.id)
    )
    assert rows == [("Петров Пётр Петрович", UserStatus.PENDING)]


async def test_update_in_flight_at_sigkill_is_applied_once_and_answered(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await register_until_branch_list(emu, NEWCOMER)
    # The answer to the branch tap hangs in Telegram; the bot is killed while it waits. The
    # registration was committed before the call, and Telegram still delivers what it got.
    fault = emu.faults.add(method="editMessageText", kind="delay", delay=5, chat_id=NEWCOMER.id)
    await press_branch(emu, NEWCOMER, BRANCH)
    for _ in range(200):
        if fault.hits:
            break
        await asyncio.sleep(0.05)
    assert fault.hits == 1
    await bot_process.kill()
    emu.faults.clear()

    await bot_process.start(emu)
    await emu.wait_for_message(NEWCOMER.id, lambda m: "отправлена" in m.text, timeout=30)
    await emu.send_message(NEWCOMER, "/start")  # the restarted bot is up and answering
    await emu.wait_for_message(NEWCOMER.id, timeout=30)
    requests = await query_db(
        database_url,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.template == "registration.request"),
    )
    assert requests == [(1,)]  # handled once: the restart did not handle it again


async def test_notification_queued_during_outage_is_delivered(
    emu: BotApiEmulator, bot_process: BotProcess
) -> None:
    outage = emu.faults.add(method="sendMessage", kind="500", times=3, chat_id=OWNER.id)
    await register_until_branch_list(emu, NEWCOMER)
    await press_branch(emu, NEWCOMER, BRANCH)
    request = await emu.wait_for_message(
        OWNER.id, lambda m: "Петров Пётр Петрович" in m.text, timeout=30
    )
    assert outage.hits == 3
    assert request.buttons


async def test_bot_long_polls_any_bot_api_server(emu: BotApiEmulator, bot_process) -> None:
    await emu.send_message(OWNER, "/start")
    greeting = await emu.wait_for_message(OWNER.id)
    assert "Ольга Владимирова" in greeting.text
    assert emu.get_updates_calls > 0
