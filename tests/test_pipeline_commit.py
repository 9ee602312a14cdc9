"""Decide, commit, then talk to Telegram: a Bot API failure after a change never undoes it.

The real dispatcher and order dialog on both engines; the mocked Bot API answers the calls
that matter the way Telegram fails (400 "query is too old", "message to edit not found",
5xx, 403).
"""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from sqlalchemy import select

from bot.pipeline import telegram_calls
from database.enums import Role
from database.models import OutboxMessage
from database.repositories import org as org_repo
from database.session_context import current_session
from tests import factories
from tests.test_bot_orders import USER, button, fsm, requests_in_db, to_summary
from tests.test_bot_orders import org as org  # a fixture, used by name
from tests.updates import callback_update, message_update, tg_user

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


KEEPER = tg_user(3800, "Кладовщик")


async def _add_storekeeper(sessionmaker) -> None:
    async with sessionmaker() as session:
        cartridges = await org_repo.category_by_code(session, "cartridges")
        row = await factories.user(session, KEEPER.id, role=Role.EXECUTOR, full_name="Складов С.")
        await session.refresh(row, attribute_names=["categories"])
        row.categories = [cartridges]
        await session.commit()


async def _queued_for(sessionmaker, chat_id: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage.template).where(OutboxMessage.chat_id == chat_id)
        )
        return [template for (template,) in rows]


async def test_a_confirm_answered_too_late_still_files_the_order(harness, sessionmaker, org):
    await _add_storekeeper(sessionmaker)
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")
    harness.bot.fail_next(AnswerCallbackQuery, TOO_OLD)

    await harness.feed(callback_update(USER, confirm))  # no exception reaches the caller

    [request] = await requests_in_db(sessionmaker)
    assert f"Order {request.number} is filed." in harness.last_reply(USER.id).text
    assert harness.bot.calls_of(AnswerCallbackQuery), "the answer was attempted"
    assert await fsm(harness, USER) == (None, {})
    assert "request.new" in await _queued_for(sessionmaker, KEEPER.id)


async def test_a_summary_gone_from_the_chat_comes_back_as_a_new_message(harness, sessionmaker, org):
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")
    harness.bot.fail_next(EditMessageText, "Bad Request: message to edit not found")

    await harness.feed(callback_update(USER, confirm))

    [request] = await requests_in_db(sessionmaker)
    [sent] = harness.bot.calls_of(SendMessage)
    assert f"Order {request.number} is filed." in sent.text
    assert sent.reply_markup is not None  # the card keeps its buttons


@pytest.mark.parametrize("failure", ["server error", "timeout"])
async def test_a_telegram_outage_after_the_change_keeps_the_change(
    harness, sessionmaker, org, monkeypatch, failure
):
    monkeypatch.setattr(telegram_calls, "TRANSIENT_PAUSE", 0)
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")
    for _ in range(telegram_calls.TRANSIENT_TRIES):
        if failure == "timeout":
            harness.bot.network_error_next(EditMessageText)
        else:
            harness.bot.fail_next(EditMessageText, "Bad Gateway", error_code=502)

    with pytest.raises(TelegramNetworkError if failure == "timeout" else TelegramServerError):
        await harness.feed(callback_update(USER, confirm))

    assert len(harness.bot.calls_of(EditMessageText)) == telegram_calls.TRANSIENT_TRIES
    [request] = await requests_in_db(sessionmaker)
    assert request.number.startswith("К-")
    assert await fsm(harness, USER) == (None, {})
    # Pressed again once Telegram is back: the same order, shown, not a second one.
    await harness.feed(callback_update(USER, confirm))
    assert f"Order {request.number} is filed." in harness.last_reply(USER.id).text
    assert len(await requests_in_db(sessionmaker)) == 1


async def test_a_user_who_blocked_the_bot_still_gets_their_dialog_step_saved(harness):
    newcomer = tg_user(3900, "Пётр")
    harness.bot.fail_next(SendMessage, "Forbidden: bot was blocked by the user", error_code=403)
    with pytest.raises(TelegramForbiddenError):
        await harness.feed(message_update(newcomer, "/start"))
    assert await harness.state(newcomer.id).get_state() is not None


async def test_no_transaction_is_open_while_the_bot_waits_on_telegram(harness, sessionmaker, org):
    """Every Bot API call of a whole order dialog finds the update's session committed."""
    open_during_call: list[str] = []

    async def probe(make_request, bot, method):
        session = current_session.get()
        if session is not None and session.in_transaction():
            open_during_call.append(type(method).__name__)
        return await make_request(bot, method)

    harness.bot.session.middleware(probe)  # inside CommitBeforeCall: sees what the call sees
    await to_summary(harness, USER, org)
    await harness.feed(callback_update(USER, button(harness, USER, "Confirm")))

    assert len(await requests_in_db(sessionmaker)) == 1
    assert len(harness.bot.calls) > 0
    assert open_during_call == []
