"""Leaving a dialog that keeps no draft (a reply prompt, /report, registration) by another
command or a main-menu button: the bot says in one line what was not done, the dialog is closed,
and what was asked for happens. Before, the command was answered while the dialog stayed open,
so the next plain text was silently taken as the old dialog's input (a reply sent to a request
the user had moved away from).

Through the real dispatcher (mocked Bot API), on both engines.
"""

from __future__ import annotations

from bot.keyboards.thread import ThreadReply
from bot.routers.registration import Registration
from bot.routers.reports import ReportDialog
from bot.routers.thread import ThreadDialog
from tests.test_bot_registration import NEWCOMER
from tests.test_bot_reports import SUP, fsm, say
from tests.test_bot_reports import world as world  # a fixture, used by name
from tests.test_bot_thread import REQUESTER, TECH, relayed, setup, thread_texts
from tests.updates import callback_update, message_update

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
