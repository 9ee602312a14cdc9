"""The Bot API emulator, exercised through a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from emulator import BotApiEmulator, EntityParseError, TgUser, parse_html

TOKEN = "123456:TEST"
IVAN = TgUser(1001, "Иван", "Иванов", "ivanov")
PETR = TgUser(1002, "Пётр", "Петров", "petrov")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03" + bytes(range(40))


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


def make_bot(emu: BotApiEmulator, **kwargs: object) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
    return Bot(TOKEN, session=session, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in buttons]]
    )


# ----- identity and transport ---------------------------------------------------------------
async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "helpdesk_bot")


async def test_raw_http_json_query_and_errors(emu: BotApiEmulator) -> None:
    emu.add_user(IVAN)
    async with aiohttp.ClientSession() as http:
        url = f"{emu.url}/bot{TOKEN}"
        async with http.post(f"{url}/SENDMESSAGE", json={"chat_id": IVAN.id, "text": "hi"}) as r:
            body = await r.json()
            assert body["ok"] is True and body["result"]["text"] == "hi"
        async with http.get(f"{url}/getMe") as r:
            assert (await r.json())["result"]["username"] == "helpdesk_bot"
        async with http.post(f"{url}/noSuchMethod") as r:
            assert r.status == 404
            assert await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(f"{emu.url}/botbad-token/getMe") as r:
            assert r.status == 401
    assert emu.messages_to(IVAN.id)[0].text == "hi"


# ----- messages -----------------------------------------------------------------------------
async def test_send_edit_delete_round_trip(emu: BotApiEmulator) -> None:
    emu.add_user(IVAN)
    emu.add_user(PETR)
    bot = make_bot(emu, default=DefaultBotProperties(parse_mode="HTML"))
    try:
        sent = await bot.send_message(
            IVAN.id, "<b>Заявка</b> &lt;42&gt;", reply_markup=keyboard(("Да", "yes"), ("Нет", "no"))
        )
        assert sent.text == "Заявка <42>"
        assert sent.html_text == "<b>Заявка</b> &lt;42&gt;"
        record = emu.messages_to(IVAN.id)[0]
        assert record.message_id == sent.message_id == 1
        assert record.buttons == [("Да", "yes"), ("Нет", "no")]
        assert record.raw_text == "<b>Заявка</b> &lt;42&gt;"

        edited = await bot.edit_message_text(
            "Принято", chat_id=IVAN.id, message_id=1, reply_markup=keyboard(("Ок", "ok"))
        )
        assert edited.text == "Принято" and edited.edit_date is not None
        assert record.text == "Принято" and len(record.edits) == 1
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_text(
                "Принято", chat_id=IVAN.id, message_id=1, reply_markup=keyboard(("Ок", "ok"))
            )
        await bot.edit_message_reply_markup(chat_id=IVAN.id, message_id=1)
        assert record.reply_markup is None and record.buttons == []

        second = await bot.send_message(IVAN.id, "ещё")
        other = await bot.send_message(PETR.id, "привет")
        assert (second.message_id, other.message_id) == (2, 1)  # ids are per chat

        assert await bot.delete_message(IVAN.id, 2)
        assert emu.messages_to(IVAN.id)[1].deleted
        with pytest.raises(TelegramBadRequest, match="message to delete not found"):
            await bot.delete_message(IVAN.id, 2)
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.edit_message_text("x", chat_id=IVAN.id, message_id=99)
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(555, "nobody pressed Start")
    finally:
        await bot.session.close()


async def test_validation_errors_become_bad_request(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    cases = [
        (dict(text="x" * 4097), "message is too long"),
        (dict(text=""), "message text is empty"),
        (dict(text="1 < 2", parse_mode="HTML"), "can't parse entities"),
        (dict(text="Tom & Jerry", parse_mode="HTML"), "can't parse entities"),
        (dict(text="<b>bold", parse_mode="HTML"), "can't parse entities"),
        (dict(text="<br>", parse_mode="HTML"), "can't parse entities"),
        (dict(text="v1.2", parse_mode="MarkdownV2"), "can't parse entities"),
        (dict(text="x", reply_markup=keyboard(("long", "d" * 65))), "BUTTON_DATA_INVALID"),
    ]
    for kwargs, error in cases:
        with pytest.raises(TelegramBadRequest, match=error):
            await bot.send_message(IVAN.id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(IVAN.id, BufferedInputFile(PNG, "p.png"), caption="c" * 1025)
    assert await bot.send_message(IVAN.id, "x" * 4096, reply_markup=keyboard(("ok", "d" * 64)))
    assert len(emu.errors) == len(cases) + 1
    assert emu.errors[0].description == "Bad Request: message is too long"


def test_html_parser_entities_and_errors() -> None:
    text, entities = parse_html(
        '<b>Ж</b> <a href="https://x.y/?a=1&amp;b=2">ссылка</a> '
        '<pre><code class="language-python">x &lt; 1</code></pre> 😀<i>i</i>'
    )
    assert text == "Ж ссылка x < 1 😀i"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "text_link", "url": "https://x.y/?a=1&b=2", "offset": 2, "length": 6},
        {"type": "pre", "language": "python", "offset": 9, "length": 5},
        {"type": "italic", "offset": 17, "length": 1},  # the emoji is 2 UTF-16 units
    ]
    assert parse_html("&#1046;&#x416;&quot;")[0] == 'ЖЖ"'
    assert parse_html('<span class="tg-spoiler">s</span>')[1][0]["type"] == "spoiler"
    for bad in ("<b><i>x</b></i>", "a <= b", "&nbsp;", '<span class="x">s</span>', "x</b>"):
        with pytest.raises(EntityParseError):
            parse_html(bad)


# ----- updates ------------------------------------------------------------------------------
async def test_long_poll_returns_as_soon_as_an_update_arrives(
    emu: BotApiEmulator, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_polling(timeout=2)
    started = time.monotonic()
    await emu.send_message(IVAN, "/start")
    updates = await poll
    assert time.monotonic() - started < 1
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"
    assert updates[0].message.entities is not None
    assert updates[0].message.entities[0].type == "bot_command"
    assert emu.get_updates_calls == 1


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 2


async def test_offset_confirms_and_limit(emu: BotApiEmulator, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        await emu.send_message(IVAN, text)
    first, second, third = await bot.get_updates()
    assert [u.update_id for u in (first, second, third)] == [1, 2, 3]
    assert len(await bot.get_updates(limit=1)) == 1
    assert [u.update_id for u in await bot.get_updates(offset=second.update_id)] == [2, 3]
    assert emu.pending_updates() == 2
    assert len(await bot.get_updates(offset=first.update_id)) == 2  # gone for good
    assert await bot.get_updates(offset=third.update_id + 1) == []
    assert emu.pending_updates() == 0


async def test_a_second_poller_terminates_the_first(emu: BotApiEmulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_polling(timeout=2)
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError):
        await first
    await emu.send_message(IVAN, "hi")
    assert len(await second) == 1


async def test_stop_ends_a_pending_long_poll(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await emu.wait_for_polling(timeout=2)
    started = time.monotonic()
    await emu.stop()
    assert await poll == []
    assert time.monotonic() - started < 2


# ----- files --------------------------------------------------------------------------------
async def test_uploads_download_and_file_id_reuse(
    emu: BotApiEmulator, bot: Bot, tmp_path: object
) -> None:
    emu.add_user(IVAN)
    photo_msg = await bot.send_photo(IVAN.id, BufferedInputFile(PNG, "p.png"), caption="фото")
    assert photo_msg.photo is not None and photo_msg.caption == "фото"
    assert (photo_msg.photo[-1].width, photo_msg.photo[-1].height) == (2, 3)
    payload = "отчёт;1\n".encode() * 100
    doc_msg = await bot.send_document(IVAN.id, BufferedInputFile(payload, "report.csv"))
    assert doc_msg.document is not None
    assert (doc_msg.document.file_name, doc_msg.document.mime_type) == ("report.csv", "text/csv")

    uploads = [(photo_msg.photo[-1].file_id, PNG), (doc_msg.document.file_id, payload)]
    for file_id, expected in uploads:
        file = await bot.get_file(file_id)
        assert file.file_path is not None
        downloaded = await bot.download_file(file.file_path)
        assert downloaded is not None and downloaded.read() == expected

    again = await bot.send_document(IVAN.id, doc_msg.document.file_id)
    assert again.document is not None and again.document.file_id == doc_msg.document.file_id
    records = emu.messages_to(IVAN.id)
    assert [r.kind for r in records] == ["photo", "document", "document"]
    assert records[0].text == "фото" and records[1].document is not None
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(IVAN.id, "no-such-file-id")


async def test_user_files_reach_the_bot(emu: BotApiEmulator, bot: Bot) -> None:
    await emu.send_photo(IVAN, PNG, caption="сломался принтер")
    await emu.send_document(IVAN, b"%PDF-1.4", "act.pdf", caption="акт")
    await emu.send_sticker(IVAN)
    photo_update, doc_update, sticker_update = await bot.get_updates()
    assert photo_update.message and photo_update.message.photo
    assert photo_update.message.caption == "сломался принтер"
    file = await bot.get_file(photo_update.message.photo[-1].file_id)
    assert file.file_path
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == PNG
    assert doc_update.message and doc_update.message.document
    assert doc_update.message.document.mime_type == "application/pdf"
    assert sticker_update.message and sticker_update.message.sticker


# ----- faults -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("400", TelegramBadRequest),
        ("403", TelegramForbiddenError),
        ("429", TelegramRetryAfter),
        ("500", TelegramServerError),
    ],
)
async def test_faults_surface_as_aiogram_errors_then_recover(
    emu: BotApiEmulator, bot: Bot, kind: str, error: type[Exception]
) -> None:
    emu.add_user(IVAN)
    fault = emu.faults.add(method="sendMessage", kind=kind, times=2, retry_after=3)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(error) as caught:
            await bot.send_message(IVAN.id, "hi")
    if kind == "429":
        assert caught.value.retry_after == 3  # type: ignore[attr-defined]
    assert fault.hits == 2 and len(emu.faults) == 0
    assert (await bot.send_message(IVAN.id, "hi")).text == "hi"
    assert [m.text for m in emu.messages_to(IVAN.id)] == ["hi"]


async def test_fault_filters_delay_and_clear(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    emu.add_user(PETR)
    emu.faults.add(method="*", kind="500", times=None, chat_id=PETR.id)
    assert await bot.send_message(IVAN.id, "fine")
    with pytest.raises(TelegramServerError):
        await bot.send_chat_action(PETR.id, "typing")
    with pytest.raises(TelegramServerError):
        await bot.send_message(PETR.id, "fails until cleared")
    emu.faults.clear()
    assert await bot.send_message(PETR.id, "ok now")

    emu.faults.add(method="sendmessage", kind="delay", delay=0.3)
    started = time.monotonic()
    assert await bot.send_message(IVAN.id, "late")
    assert time.monotonic() - started >= 0.3


async def test_bad_request_fault_descriptions(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    await bot.send_message(IVAN.id, "Заявка")
    emu.faults.add("editMessageText", kind="400")
    emu.faults.add(
        "editMessageText", kind="400", description="Bad Request: message can't be edited"
    )
    with pytest.raises(TelegramBadRequest) as not_found:
        await bot.edit_message_text("Принято", chat_id=IVAN.id, message_id=1)
    with pytest.raises(TelegramBadRequest) as cannot:
        await bot.edit_message_text("Принято", chat_id=IVAN.id, message_id=1)
    assert not_found.value.message == "Bad Request: message to edit not found"
    assert cannot.value.message == "Bad Request: message can't be edited"
    assert [(c.error_code, c.description) for c in emu.errors] == [
        (400, "Bad Request: message to edit not found"),
        (400, "Bad Request: message can't be edited"),
    ]
    assert emu.message(IVAN.id, 1).text == "Заявка"  # a failed edit changes nothing
    assert (await bot.edit_message_text("Принято", chat_id=IVAN.id, message_id=1)).text


async def test_description_overrides_other_error_kinds(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    emu.faults.add("sendMessage", kind="403", description="Forbidden: user is deactivated")
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(IVAN.id, "hi")
    with pytest.raises(ValueError, match="no description"):
        emu.faults.add("sendMessage", kind="delay", description="Bad Request: x")
    with pytest.raises(ValueError, match="fault kind"):
        emu.faults.add("sendMessage", kind="404")  # type: ignore[arg-type]


async def test_bad_request_fault_through_the_control_route(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    async with aiohttp.ClientSession(base_url=emu.url) as http:
        rule = {"method": "sendMessage", "kind": 400, "description": "Bad Request: chat not found"}
        async with http.post("/_emu/faults", json=rule) as r:
            added = (await r.json())["result"]
        async with http.post("/_emu/faults", json={"kind": "418"}) as r:
            assert r.status == 400 and "fault kind" in (await r.json())["description"]
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(IVAN.id, "hi")
        async with http.post("/_emu/faults", json={"kind": "400", "times": None}) as r:
            assert (await r.json())["result"]["times"] is None
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.get_me()
        async with http.delete("/_emu/faults") as r:
            assert (await r.json())["result"] is True
    assert (added["kind"], added["times"]) == ("400", 1)
    assert await bot.get_me()


async def test_delay_for_one_chat_leaves_other_chats_answered_at_once(
    emu: BotApiEmulator, bot: Bot
) -> None:
    emu.add_user(IVAN)
    emu.add_user(PETR)
    rule = {"method": "sendMessage", "kind": "delay", "delay": 30, "times": None}
    async with aiohttp.ClientSession(base_url=emu.url) as http:
        async with http.post("/_emu/faults", json={**rule, "chat_id": PETR.id}) as r:
            assert r.status == 200
    [slow] = emu.faults
    delayed = [asyncio.create_task(bot.send_message(PETR.id, f"slow {n}")) for n in range(2)]
    for _ in range(500):  # up to 10 s for both calls to Petr's chat to reach the rule
        if slow.hits == 2:
            break
        await asyncio.sleep(0.02)
    assert slow.hits == 2
    try:
        for n in range(3):
            assert (await bot.send_message(IVAN.id, f"fast {n}")).text == f"fast {n}"
        assert await bot.send_chat_action(PETR.id, "typing")  # only sendMessage is held
        assert not any(task.done() for task in delayed)
    finally:
        for task in delayed:
            task.cancel()
    assert [m.text for m in emu.messages_to(IVAN.id)] == ["fast 0", "fast 1", "fast 2"]
    assert emu.messages_to(PETR.id) == []
    assert list(emu.faults) == [slow] and slow.hits == 2  # in force until cleared


async def test_blocked_user(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    emu.block_user(IVAN.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(IVAN.id, "hi")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_document(IVAN.id, BufferedInputFile(b"x", "x.txt"))
    emu.unblock_user(IVAN.id)
    assert await bot.send_message(IVAN.id, "hi")


# ----- callbacks, commands, waiting ---------------------------------------------------------
async def test_buttons_and_forged_callbacks_reach_the_bot(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    yes_no = keyboard(("Да", "ok:1"), ("Нет", "no:1"))
    await bot.send_message(IVAN.id, "Одобрить?", reply_markup=yes_no)
    record = emu.messages_to(IVAN.id)[0]

    by_text = await emu.press_button(IVAN, record, text="Нет")
    by_index = await emu.press_button(IVAN, record, index=0)
    forged = await emu.press_button(PETR, record, callback_data="admin:drop_db")
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates]
    assert [(q.id, q.data, q.from_user.id) for q in queries if q] == [
        (by_text, "no:1", IVAN.id),
        (by_index, "ok:1", IVAN.id),
        (forged, "admin:drop_db", PETR.id),
    ]
    assert queries[2] and queries[2].message and queries[2].message.message_id == 1

    assert await bot.answer_callback_query(forged, text="Нет доступа", show_alert=True)
    answer = await emu.wait_for_callback_answer(forged, timeout=1)
    assert (answer.text, answer.show_alert) == ("Нет доступа", True)
    assert emu.callback_answers(forged) == [answer]
    assert emu.callback_answers(IVAN.id) == [answer]  # pressed on Ivan's message
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(forged)
    with pytest.raises(LookupError):
        await emu.press_button(IVAN, record, text="Может быть")


@asynccontextmanager
async def emulator_and_bot(**kwargs: object) -> AsyncIterator[tuple[BotApiEmulator, Bot]]:
    async with BotApiEmulator(**kwargs) as emulator:  # type: ignore[arg-type]
        bot = make_bot(emulator)
        try:
            yield emulator, bot
        finally:
            await bot.session.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_callback_query_expires_after_the_ttl() -> None:
    clock = FakeClock()
    async with emulator_and_bot(clock=clock) as (emu, bot):
        assert emu.callback_answer_ttl == 15.0  # Telegram's
        emu.add_user(IVAN)
        await bot.send_message(IVAN.id, "Одобрить?", reply_markup=keyboard(("Да", "ok")))
        record = emu.messages_to(IVAN.id)[0]
        in_time = await emu.press_button(IVAN, record, text="Да")
        late = await emu.press_button(IVAN, record, text="Да")
        clock.now += 14.9
        assert await bot.answer_callback_query(in_time, text="Готово")
        clock.now += 0.2
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.answer_callback_query(late, text="Готово")
        assert caught.value.message == QUERY_TOO_OLD
        assert emu.callback_answers(late) == []
        assert [(c.method, c.error_code) for c in emu.errors] == [("answerCallbackQuery", 400)]


async def test_short_ttl_on_the_real_clock() -> None:
    async with emulator_and_bot(callback_answer_ttl=0.2) as (emu, bot):
        emu.add_user(IVAN)
        await bot.send_message(IVAN.id, "Одобрить?", reply_markup=keyboard(("Да", "ok")))
        record = emu.messages_to(IVAN.id)[0]
        fresh = await emu.press_button(IVAN, record, text="Да")
        stale = await emu.press_button(IVAN, record, text="Да")
        assert await bot.answer_callback_query(fresh)
        await asyncio.sleep(0.5)
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query(stale)


async def test_callback_query_answered_twice_or_unknown(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    await bot.send_message(IVAN.id, "Одобрить?", reply_markup=keyboard(("Да", "ok")))
    query_id = await emu.press_button(IVAN, emu.messages_to(IVAN.id)[0], text="Да")
    assert await bot.answer_callback_query(query_id, text="Готово")
    for bad_id in (query_id, "123456789"):
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.answer_callback_query(bad_id, text="ещё раз")
        assert caught.value.message == QUERY_TOO_OLD
    assert [a.text for a in emu.callback_answers(query_id)] == ["Готово"]


async def test_edits_that_change_nothing_are_refused(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    markup = keyboard(("Взять", "take:1"))
    await bot.send_message(IVAN.id, "<b>Заявка</b>", parse_mode="HTML", reply_markup=markup)
    await bot.send_photo(
        IVAN.id, BufferedInputFile(PNG, "p.png"), caption="Фото", reply_markup=markup
    )
    same_edits = [
        bot.edit_message_text(
            "<b>Заявка</b>", chat_id=IVAN.id, message_id=1, parse_mode="HTML", reply_markup=markup
        ),
        bot.edit_message_caption(
            chat_id=IVAN.id, message_id=2, caption="Фото", reply_markup=markup
        ),
        bot.edit_message_reply_markup(chat_id=IVAN.id, message_id=1, reply_markup=markup),
    ]
    for edit in same_edits:
        with pytest.raises(TelegramBadRequest) as caught:
            await edit
        assert caught.value.message == NOT_MODIFIED
    assert [(e.error_code, e.description) for e in emu.errors] == [(400, NOT_MODIFIED)] * 3
    assert not any(m.edited for m in emu.messages_to(IVAN.id))
    # A different keyboard, or none, is a change.
    assert await bot.edit_message_reply_markup(chat_id=IVAN.id, message_id=1)
    assert await bot.edit_message_caption(chat_id=IVAN.id, message_id=2, caption="Фото")


async def test_editing_a_deleted_or_unknown_message(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    await bot.send_message(IVAN.id, "Заявка", reply_markup=keyboard(("Взять", "take:1")))
    await bot.send_photo(IVAN.id, BufferedInputFile(PNG, "p.png"), caption="Фото")
    assert await bot.delete_messages(IVAN.id, [1, 2])
    edits = [
        bot.edit_message_text("Принято", chat_id=IVAN.id, message_id=1),
        bot.edit_message_caption(chat_id=IVAN.id, message_id=2, caption="Новое"),
        bot.edit_message_reply_markup(chat_id=IVAN.id, message_id=1),
        bot.edit_message_text("Принято", chat_id=IVAN.id, message_id=99),
    ]
    for edit in edits:
        with pytest.raises(TelegramBadRequest) as caught:
            await edit
        assert caught.value.message == "Bad Request: message to edit not found"


async def test_commands_per_scope_and_language(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    await bot.set_my_commands([BotCommand(command="start", description="Начать")])
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")],
        scope=BotCommandScopeChat(chat_id=IVAN.id),
        language_code="en",
    )
    assert emu.get_commands() == [{"command": "start", "description": "Начать"}]
    assert emu.commands[(f"chat:{IVAN.id}", "en")][0]["command"] == "admin"
    chat_scope = BotCommandScopeChat(chat_id=IVAN.id)
    mine = await bot.get_my_commands(scope=chat_scope, language_code="en")
    assert [c.command for c in mine] == ["admin"]
    assert await bot.delete_my_commands(scope=chat_scope, language_code="en")
    assert await bot.get_my_commands(scope=chat_scope, language_code="en") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])
    assert await bot.send_chat_action(IVAN.id, "typing")
    assert [a.action for a in emu.chat_actions(IVAN.id)] == ["typing"]
    assert await bot.delete_webhook() and (await bot.get_webhook_info()).url == ""


async def test_wait_for_message_cursor(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(IVAN)
    await bot.send_message(IVAN.id, "old news")
    await emu.send_message(IVAN, "/start")  # the cursor moves past "old news"
    waiter = asyncio.create_task(emu.wait_for_message(IVAN.id, timeout=2))
    await bot.send_message(IVAN.id, "one")
    await bot.send_message(IVAN.id, "two")
    assert (await waiter).text == "one"
    assert (await emu.wait_for_message(IVAN.id, timeout=1)).text == "two"

    await bot.edit_message_text("two, edited", chat_id=IVAN.id, message_id=3)
    edit = await emu.wait_for_message(IVAN.id, lambda m: "edited" in m.text, timeout=1)
    assert edit.edited and edit.message_id == 3
    with pytest.raises(TimeoutError, match="no matching bot message"):
        await emu.wait_for_message(IVAN.id, timeout=0.2)
    start = emu.cursor
    await bot.send_message(IVAN.id, "three")
    assert (await emu.wait_for_message(IVAN.id, after=start, timeout=1)).text == "three"


async def test_control_endpoints(emu: BotApiEmulator, bot: Bot) -> None:
    user = {"id": IVAN.id, "first_name": IVAN.first_name, "last_name": IVAN.last_name}
    async with aiohttp.ClientSession(base_url=emu.url) as http:
        async with http.post("/_emu/send_message", json={"user": user, "text": "из API"}) as r:
            assert (await r.json())["result"]["text"] == "из API"
        update = (await bot.get_updates())[0]
        assert update.message and update.message.text == "из API"
        await bot.send_message(IVAN.id, "ответ", reply_markup=keyboard(("A", "a")))
        async with http.get("/_emu/events", params={"after": 0, "timeout": 1}) as r:
            events = (await r.json())["result"]["events"]
        assert events[0]["message"]["text"] == "ответ"
        body = {"user": user, "chat_id": IVAN.id, "message_id": 2, "index": 0}
        async with http.post("/_emu/press_button", json=body) as r:
            query_id = (await r.json())["result"]
        async with http.post("/_emu/press_button", json={**body, "message_id": 7}) as r:
            assert r.status == 400
        async with http.post("/_emu/faults", json={"method": "getMe", "kind": "500"}) as r:
            assert r.status == 200
        async with http.get("/_emu/state") as r:
            state = (await r.json())["result"]
    query = (await bot.get_updates(offset=update.update_id + 1))[0].callback_query
    assert query and (query.id, query.data) == (query_id, "a")
    assert state["pending_updates"] == 2  # nothing confirmed yet
    with pytest.raises(TelegramServerError):
        await bot.get_me()
