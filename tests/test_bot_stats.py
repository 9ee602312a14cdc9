"""/stats through the real dispatcher (mocked Bot API), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import PhotoSize

from bot.keyboards.common import DialogNav
from bot.keyboards.stats import StatsPeriod
from bot.routers.stats import StatsDialog, duration
from bot.screens import utf16_len
from database.enums import RequestStatus, Role
from database.models import RequestItem
from database.repositories import users as users_repo
from emulator.validation import CALLBACK_DATA_LIMIT, formatted_text
from services.periods import local_today
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(4100, "Админ")
KEEPER = tg_user(4101, "Кладовщик")
USER = tg_user(4102, "Иван")
PHOTO = [PhotoSize(file_id="photo", file_unique_id="u-photo", width=90, height=68)]
BRANCH = "<b>Склад & Co</b>"
S = RequestStatus


def check_sent(harness) -> None:
    """Everything the bot sent is valid for Telegram: HTML, 4096 characters, 64-byte data."""
    for call in harness.bot.calls:
        if isinstance(call, SendMessage | EditMessageText):
            formatted_text(call.text, "html", None)
            for _, data in buttons(call):
                assert data is not None and len(data.encode()) <= CALLBACK_DATA_LIMIT, data


async def say(harness, user, text: str | None = None, **fields) -> str:
    await harness.feed(message_update(user, text, **fields))
    check_sent(harness)
    return harness.last_reply(user.id).text


async def press(harness, user, data) -> str:
    await harness.feed(callback_update(user, data if isinstance(data, str) else data.pack()))
    check_sent(harness)
    assert harness.bot.calls_of(AnswerCallbackQuery), "the button press was not answered"
    replies = harness.replies(user.id)
    return replies[-1] if replies else ""


def midnight(harness, days_ago: int = 0) -> datetime:
    """Local midnight `days_ago` days before today, in UTC."""
    tz = harness.settings.tz
    day = local_today(tz) - timedelta(days=days_ago)
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


@pytest.fixture
async def world(harness, sessionmaker) -> None:
    """An admin, a storekeeper (cartridges) and a plain user. Requests of the last 7 days:
    one filed today (new, overdue), one 2 days ago (new), one 5 days ago in the escaped branch
    (accepted after 2 h 15 min, issued after 3 d 4 h: 6 cartridges), one of IT 3 days ago."""
    async with sessionmaker() as session:
        cartridges = await factories.category(session, "cartridges", kind="order")
        it = await factories.category(session, "it")
        north = await factories.branch(session, "Север")
        odd = await factories.branch(session, BRANCH)
        author = await factories.user(session, USER.id, branch_row=north)
        await factories.user(session, ADMIN.id, role=Role.ADMIN)
        keeper = await factories.user(session, KEEPER.id, role=Role.EXECUTOR)
        await users_repo.set_categories(session, keeper, [cartridges])
        black = await factories.cartridge_type(session)
        today = midnight(harness) + timedelta(seconds=1)
        await factories.request_row(
            session, category_row=cartridges, author=author, branch_row=north,
            created_at=today, accept_due_at=today,
        )  # fmt: skip
        await factories.request_row(
            session, category_row=cartridges, author=author, branch_row=north,
            created_at=midnight(harness, 2) + timedelta(hours=10),
        )  # fmt: skip
        filed = midnight(harness, 5) + timedelta(hours=9)
        await factories.request_row(
            session, category_row=cartridges, author=author, branch_row=odd, status=S.DONE,
            assignee_id=keeper.id, created_at=filed,
            accepted_at=filed + timedelta(hours=2, minutes=15),
            done_at=filed + timedelta(days=3, hours=4),
            items=[RequestItem(cartridge_type_id=black.id, quantity=6, issued_quantity=6)],
        )  # fmt: skip
        await factories.request_row(
            session, category_row=it, author=author, branch_row=north, status=S.REJECTED,
            created_at=midnight(harness, 3) + timedelta(hours=12),
        )  # fmt: skip
        await session.commit()


async def test_stats_shows_the_last_seven_days(harness, world) -> None:
    text = await say(harness, ADMIN, "/stats")
    today = local_today(harness.settings.tz)
    label = f"{(today - timedelta(days=6)):%d.%m.%Y}–{today:%d.%m.%Y}"
    assert f"7 days: {label}" in text
    assert "All requests." in text
    assert "Open: 3 (new 2, issued / resolved 1)" in text
    assert "By priority: normal 3" in text
    assert "Overdue: 1" in text
    assert "Filed in the period: 4" in text
    assert "By status: new 2, issued / resolved 1, rejected 1" in text
    assert "  • Север — 3" in text
    assert "  • &lt;b&gt;Склад &amp; Co&lt;/b&gt; — 1" in text  # shown literally
    assert "  • cartridges — 3" in text and "  • it — 1" in text
    assert "Accepted: 1; time to accept: average 2 h 15 min, 90% within 2 h 15 min" in text
    assert "Resolved or issued: 1; time to resolve: average 3 d 4 h, 90% within 3 d 4 h" in text
    assert "Cartridges issued, top branches:\n  • &lt;b&gt;Склад &amp; Co&lt;/b&gt; — 6" in text
    assert "My numbers" not in text  # the admin handles no request
    labels = [label for label, _ in buttons(harness.last_reply(ADMIN.id))]
    assert labels == ["Today", "• 7 days", "30 days", "This month", "Custom dates"]


async def test_stats_in_russian_say_the_90th_percentile_one_way(
    harness, sessionmaker, world
) -> None:
    """Seen: «90% — в пределах 1 мин» next to «90% — за 3 мин»; and «не более 1098 дн.»."""
    async with sessionmaker() as session:
        (await users_repo.by_telegram_id(session, ADMIN.id)).language = "ru"
        await session.commit()
    text = await say(harness, ADMIN, "/stats")
    assert "Принято: 1; время до принятия: в среднем 2 ч 15 мин, 90% — не дольше 2 ч 15 мин" in text
    assert "Решено или выдано: 1; время решения: в среднем 3 д 4 ч, 90% — не дольше 3 д 4 ч" in text
    await press(harness, ADMIN, StatsPeriod(period="custom"))
    text = await say(harness, ADMIN, "31.02.2026")
    assert "всего не более 1098 дней." in text


async def test_executor_sees_their_share_and_own_numbers(harness, world) -> None:
    text = await say(harness, KEEPER, "/stats")
    assert "Requests of your categories and branches." in text
    assert "Filed in the period: 3" in text  # not the IT ticket
    assert "it —" not in text
    assert "My numbers" in text
    assert "Taken: 1; resolved or issued: 1" in text
    assert "Open now: 1; overdue now: 0" in text
    assert "Average time to resolve: 3 d 4 h" in text


async def test_period_buttons_edit_the_message(harness, world) -> None:
    await say(harness, ADMIN, "/stats")
    text = await press(harness, ADMIN, StatsPeriod(period="today"))
    edits = harness.bot.calls_of(EditMessageText)
    assert len(edits) == 1 and not harness.bot.calls_of(SendMessage)
    assert f"Today: {local_today(harness.settings.tz):%d.%m.%Y}" in text
    assert "Filed in the period: 1" in text
    assert "Overdue: 1" in text  # "now" does not depend on the period
    assert "• Today" in [label for label, _ in buttons(edits[0])]

    text = await press(harness, ADMIN, StatsPeriod(period="30d"))
    assert "30 days:" in text and "Filed in the period: 4" in text


async def test_custom_dates_with_bad_input_then_good(harness, world) -> None:
    await say(harness, ADMIN, "/stats")
    prompt = await press(harness, ADMIN, StatsPeriod(period="custom"))
    assert "DD.MM.YYYY - DD.MM.YYYY" in prompt
    assert harness.bot.calls_of(SendMessage), "the prompt is a new message"
    assert buttons(harness.last_reply(ADMIN.id)) == [("Cancel", DialogNav(action="cancel").pack())]
    assert await harness.state(ADMIN.id).get_state() == StatsDialog.dates.state

    hint = "I could not read this period."
    for bad in ("31.02.2026", "01.01.2020 - 01.01.2026", "вчера"):
        assert hint in await say(harness, ADMIN, bad), bad
    assert "Please send the dates as a text message." in await say(harness, ADMIN, photo=PHOTO)
    assert await harness.state(ADMIN.id).get_state() == StatsDialog.dates.state

    start = local_today(harness.settings.tz) - timedelta(days=3)
    text = await say(harness, ADMIN, f"{start:%d.%m.%Y} - {start + timedelta(days=3):%d.%m.%Y}")
    assert harness.bot.calls_of(SendMessage) and not harness.bot.calls_of(EditMessageText)
    assert f"<b>Statistics</b>, {start:%d.%m.%Y}–" in text
    assert "Filed in the period: 3" in text  # today, 2 and 3 days ago
    assert await harness.state(ADMIN.id).get_state() is None

    await press(harness, ADMIN, StatsPeriod(period="custom"))
    text = await say(harness, ADMIN, f"{start:%d.%m.%Y}")  # one day
    assert "Filed in the period: 1" in text  # the IT ticket


async def test_custom_dates_cancel(harness, world) -> None:
    await press(harness, ADMIN, StatsPeriod(period="custom"))
    text = await press(harness, ADMIN, DialogNav(action="cancel"))
    assert text.startswith("Cancelled.")
    assert await harness.state(ADMIN.id).get_state() is None


@pytest.mark.parametrize("data", ["stp:forever", "stp:", "stp:7d:extra", "stp"])
async def test_forged_period_buttons_are_answered_harmlessly(harness, world, data) -> None:
    await press(harness, ADMIN, data)
    answer = harness.callback_answer()
    assert answer.show_alert and "no longer valid" in answer.text
    assert not harness.bot.calls_of(EditMessageText)
    assert await harness.state(ADMIN.id).get_state() is None


async def test_plain_user_is_refused(harness, world) -> None:
    assert await say(harness, USER, "/stats") == "Sorry, you are not allowed to do this."
    for period in ("7d", "custom"):
        await press(harness, USER, StatsPeriod(period=period))
        answer = harness.callback_answer()
        assert answer.text == "Sorry, you are not allowed to do this."
        assert not harness.bot.calls_of(EditMessageText | SendMessage)
    assert await harness.state(USER.id).get_state() is None


async def test_many_long_branch_names_stay_under_the_limit(harness, world, sessionmaker) -> None:
    async with sessionmaker() as session:
        cartridges = await factories.category(session, "toner", kind="order")
        author = await factories.user(session, 4200)
        black = await factories.cartridge_type(session)
        filed = midnight(harness, 1) + timedelta(hours=9)
        for n in range(40):
            branch = await factories.branch(session, f"{n:02d} " + "Ж&<" * 65)
            await factories.request_row(
                session, category_row=cartridges, author=author, branch_row=branch,
                status=S.DONE, created_at=filed, accepted_at=filed, done_at=filed,
                items=[RequestItem(cartridge_type_id=black.id, quantity=9, issued_quantity=9)],
            )  # fmt: skip
        await session.commit()
    text = await say(harness, ADMIN, "/stats")
    assert utf16_len(text) < 4096
    assert "Filed in the period: 44" in text
    assert "Other branches — 32" in text  # 44 filed, 12 in the top ten (Север 3, then 9 × 1)
    assert text.count("…") == 9 + 5  # the cut long names of the top ten and the top five


def test_durations_read_naturally(i18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        shown = [
            duration(timedelta(hours=2, minutes=15)),
            duration(timedelta(days=3, hours=4, minutes=10)),
            duration(timedelta(days=2)),
            duration(timedelta(hours=1)),
            duration(timedelta(seconds=20)),
            duration(None),
        ]
    assert shown == ["2 h 15 min", "3 d 4 h", "2 d", "1 h", "0 min", "—"]
