"""Leaving a dialog that keeps no draft (a reply prompt, /report, registration) by another
command or a main-menu button: the bot says in one line what was not done, the dialog is closed,
and what was asked for happens. Before, the command was answered while the dialog stayed open,
so the next plain text was silently taken as the old dialog's input (a reply sent to a request
the user had moved away from).

Through the real dispatcher (mocked Bot API), on both engines.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from aiogram.fsm.state import StatesGroup

import bot.routers
from bot.keyboards.thread import ThreadReply
from bot.leaving import LEFT, QUICK_REPLY_FORMS, WITH_DRAFTS
from bot.routers.registration import Registration
from bot.routers.reports import ReportDialog
from bot.routers.thread import ThreadDialog
from database.enums import Role
from database.seed import seed
from tests import factories
from tests.conftest import OWNER_ID
from tests.test_bot_registration import NEWCOMER
from tests.test_bot_reports import SUP, fsm, say
from tests.test_bot_reports import world as world  # a fixture, used by name
from tests.test_bot_thread import REQUESTER, TECH, relayed, setup, thread_texts
from tests.updates import callback_update, message_update, tg_user

MY_REQUESTS = "My requests"  # the main-menu button (bot.keyboards.menu) in English


async def test_a_command_at_the_reply_prompt_closes_it_and_the_next_text_is_no_reply(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    assert await harness.state(TECH.id).get_state() == ThreadDialog.text.state

    await harness.feed(message_update(TECH, "/my"))
    replies = harness.replies(TECH.id)
    assert replies[0] == "Reply not sent."
    assert len(replies) >= 2  # and /my answered after it
    assert await harness.state(TECH.id).get_state() is None

    await harness.feed(message_update(TECH, "Перезагрузите ПК"))
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []


async def test_a_menu_button_in_the_report_dialog_closes_it(harness, sessionmaker, world) -> None:
    await say(harness, SUP, "/report")
    assert (await fsm(harness, SUP))[0] == ReportDialog.period.state

    await harness.feed(message_update(SUP, MY_REQUESTS))
    replies = harness.replies(SUP.id)
    assert replies[0] == "Report not built."
    assert len(replies) == 2  # the list of requests follows
    assert (await fsm(harness, SUP))[0] is None


async def test_the_dialogs_own_command_starts_it_afresh_without_a_word(
    harness, sessionmaker, world
) -> None:
    await say(harness, SUP, "/report")
    await harness.feed(message_update(SUP, "/report"))
    replies = harness.replies(SUP.id)
    assert "Report not built." not in replies
    assert "Step 1 of 4: choose the period" in replies[-1]
    assert (await fsm(harness, SUP))[0] == ReportDialog.period.state


async def test_help_during_registration_says_it_is_paused(harness, sessionmaker) -> None:
    await harness.feed(message_update(NEWCOMER, "/start"))
    assert await harness.state(NEWCOMER.id).get_state() == Registration.full_name.state

    await harness.feed(message_update(NEWCOMER, "/help"))
    replies = harness.replies(NEWCOMER.id)
    assert replies[0] == "Registration paused. Send /start to go on."
    assert "Send /start to register" in replies[1]
    assert await harness.state(NEWCOMER.id).get_state() is None


# --- every dialog of bot.leaving.LEFT ----------------------------------------------------------

OWNER = tg_user(OWNER_ID, "Ольга")
ADMIN = tg_user(4100, "Админ")


def _states_groups() -> dict[str, type[StatesGroup]]:
    """Every StatesGroup defined in a module of bot/routers, by class name."""
    found: dict[str, type[StatesGroup]] = {}
    for module in pkgutil.iter_modules(bot.routers.__path__):
        loaded = importlib.import_module(f"bot.routers.{module.name}")
        for name, value in vars(loaded).items():
            if (
                isinstance(value, type)
                and issubclass(value, StatesGroup)
                and value is not StatesGroup
            ):
                found[name] = value
    return found


GROUPS = _states_groups()


def _notice(group: str, i18n) -> str:
    with i18n.context(), i18n.use_locale("en"):
        return str(LEFT[group][1])


def test_every_left_entry_names_a_dialog_of_the_bot() -> None:
    """A renamed dialog would silently lose its notice (and its own commands) to the generic
    one: every key of LEFT, and of the draft dialogs, is a StatesGroup of bot/routers."""
    assert len(GROUPS) >= 20  # the collection itself found the routers' dialogs
    assert sorted(set(LEFT) - set(GROUPS)) == []
    assert sorted(WITH_DRAFTS - set(GROUPS)) == []
    assert any(name.startswith(QUICK_REPLY_FORMS) for name in GROUPS)
    # the notice is looked up by the state's group name, which is the class name
    for name in LEFT:
        state = next(iter(GROUPS[name].__states__))
        assert state.state.split(":", 1)[0] == name


@pytest.fixture
async def admins(sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await session.commit()


# (the dialog, who opens it, the command that opens it)
BY_COMMAND = [
    ("SupportEdit", ADMIN, "/support_edit"),
    ("BranchDialog", ADMIN, "/branches"),
    ("SlaDialog", ADMIN, "/sla"),
    ("CalendarDialog", ADMIN, "/calendar"),
    ("CategoryDialog", ADMIN, "/categories"),
    ("OnboardingDialog", ADMIN, "/onboarding"),
    ("InviteDialog", ADMIN, "/invite"),
    ("RolePicker", ADMIN, "/role"),
    ("ReportDialog", OWNER, "/report"),
    ("Registration", NEWCOMER, "/start"),
]


@pytest.mark.parametrize(("group", "who", "command"), BY_COMMAND, ids=[g for g, *_ in BY_COMMAND])
async def test_another_command_leaves_a_dialog_opened_by_its_command_with_its_notice(
    harness, sessionmaker, admins, i18n, group, who, command
) -> None:
    await harness.feed(message_update(who, command))
    state = await harness.state(who.id).get_state()
    assert state is not None and state.split(":", 1)[0] == group, state
    assert command.removeprefix("/") in LEFT[group][0]  # its own command: not a leaving one

    await harness.feed(message_update(who, "/my"))
    replies = harness.replies(who.id)
    assert replies[0] == _notice(group, i18n)
    assert len(replies) >= 2  # and /my answered after it
    assert await harness.state(who.id).get_state() is None


@pytest.mark.parametrize("group", sorted(LEFT))
async def test_any_step_of_any_dialog_left_by_a_command_says_its_notice(
    harness, sessionmaker, admins, i18n, group
) -> None:
    """The steps a command does not open (a button does: a reason to reject, a catalogue form,
    the statistics' steps): the owner in each step of the dialog types /my."""
    for step in GROUPS[group].__states__:
        await harness.state(OWNER.id).set_state(step)
        await harness.feed(message_update(OWNER, "/my"))
        replies = harness.replies(OWNER.id)
        assert replies and replies[0] == _notice(group, i18n), (step.state, replies)
        assert await harness.state(OWNER.id).get_state() is None, step.state
