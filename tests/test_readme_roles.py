"""The README's table of commands says who may use each one; the bot does exactly that.

Every command of the table whose "who" is a role (everyone, registered, executor, supervisor,
admin, owner) is typed, bare, by one person of each standing: someone with no registration, a
registration waiting for approval, a user, an executor, a supervisor, an admin and an owner.
Those below the row's role are refused (told they may not, or to register, or that approval is
pending) and change nothing; those at or above it are not refused. The /help menu of each role
lists the same commands. ("involved" rows depend on the request, and have their own tests.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiogram.methods import SendDocument, SendMessage

from bot.commands import commands_for
from database.enums import Role, UserStatus
from database.seed import seed
from tests import factories
from tests.conftest import OWNER_ID
from tests.test_bot_forged_input import snapshot
from tests.updates import message_update, tg_user

README = Path(__file__).resolve().parents[1] / "README.md"
# who → the lowest standing that may; the standings below, lowest first
STANDINGS = ["nobody", "pending", "user", "executor", "supervisor", "admin", "owner"]
WHO = {
    "everyone": "nobody",
    "registered or waiting": "pending",
    "registered": "user",
    "executor": "executor",
    "supervisor": "supervisor",
    "admin": "admin",
    "owner": "owner",
}
PEOPLE = {
    "nobody": tg_user(7001, "Никто"),
    "pending": tg_user(7002, "Ждущий"),
    "user": tg_user(7003, "Пользователь"),
    "executor": tg_user(7004, "Исполнитель"),
    "supervisor": tg_user(7005, "Старший"),
    "admin": tg_user(7006, "Админ"),
    "owner": tg_user(OWNER_ID, "Ольга"),
}
REFUSALS = (
    "Sorry, you are not allowed to do this.",
    "To use the helpdesk, please register first: send /start.",
    "Your registration is waiting for an administrator's approval.",
)


def readme_commands() -> dict[str, str]:
    """command → who, from the rows of the README's table naming a role."""
    section = README.read_text(encoding="utf-8").split("## Roles and commands")[1]
    section = section.split("\n## ")[0]
    found: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) != 3 or cells[1] not in WHO:
            continue
        for command in re.findall(r"`(/[a-z_]+)", cells[0]):
            assert found.setdefault(command, cells[1]) == cells[1], f"{command}: two rows differ"
    return found


COMMANDS = readme_commands()


def test_the_table_is_read() -> None:
    assert COMMANDS["/backup"] == "owner" and COMMANDS["/queue"] == "executor"
    assert COMMANDS["/start"] == "everyone" and COMMANDS["/activate"] == "admin"
    assert len(COMMANDS) >= 18, COMMANDS


@pytest.fixture
async def people(sessionmaker, tmp_path) -> None:
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(
            session, PEOPLE["pending"].id, status=UserStatus.PENDING, full_name="Ждущий Ж."
        )
        for standing in ("user", "executor", "supervisor", "admin", "owner"):
            await factories.user(
                session, PEOPLE[standing].id, role=Role(standing), full_name=standing.title()
            )
        await session.commit()


@pytest.fixture
def settings(settings, tmp_path: Path):
    return settings.model_copy(
        update={"backup_dir": tmp_path / "backups", "report_dir": tmp_path / "reports"}
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_each_command_is_for_whom_the_readme_says(
    harness, sessionmaker, people, command: str
) -> None:
    lowest = STANDINGS.index(WHO[COMMANDS[command]])
    for rank, standing in enumerate(STANDINGS):
        person = PEOPLE[standing]
        await harness.state(person.id).clear()
        before = await snapshot(sessionmaker) if rank < lowest else None

        await harness.feed(message_update(person, command))

        said = [
            getattr(c, "text", None) or "(a file)"
            for c in harness.bot.calls
            if isinstance(c, SendMessage | SendDocument) and int(c.chat_id) == person.id
        ]
        assert said, (command, standing)
        refused = any(text in REFUSALS for text in said)
        assert refused == (rank < lowest), (command, standing, said)
        if before is not None:
            after = await snapshot(sessionmaker)
            assert {t: rows for t, rows in after.items() if t != "fsm_states"} == {
                t: rows for t, rows in before.items() if t != "fsm_states"
            }, (command, standing)


@pytest.mark.parametrize(
    "role", [Role.USER, Role.EXECUTOR, Role.SUPERVISOR, Role.ADMIN, Role.OWNER]
)
def test_the_menu_of_each_role_is_the_readme_commands_it_may_use(role: Role, i18n) -> None:
    standing = STANDINGS.index(role.value)
    may = {c for c, who in COMMANDS.items() if STANDINGS.index(WHO[who]) <= standing}
    with i18n.context():
        menu = {f"/{command.command}" for command in commands_for(role)}
    assert menu == may
