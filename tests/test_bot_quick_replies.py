"""Quick replies through the real dispatcher (mocked Bot API), both engines: the admin list and
"Add" and "Edit" dialogs, and picking one under the Reply prompt of a request (a preview first,
posted on Send, its text changed for the one answer on Edit text)."""

from __future__ import annotations

import pytest
from aiogram.types import PhotoSize
from sqlalchemy import select

from bot.keyboards.common import DialogNav
from bot.keyboards.quick_replies import (
    ALL_CATEGORIES,
    QuickCategory,
    QuickDelete,
    QuickEdit,
    QuickListPage,
    QuickStep,
)
from bot.keyboards.quick_reply_send import QuickSendAct
from bot.keyboards.thread import ThreadCancel, ThreadQuickReply, ThreadReply
from bot.routers.quick_replies import QuickReplyAdd, QuickReplyEdit
from bot.routers.quick_reply_send import QuickAnswer
from bot.routers.thread import ThreadDialog
from bot.screens import TEXT_LIMIT, utf16_len
from database.enums import Priority, Role
from database.models import (
    AuditLog,
    Category,
    OutboxMessage,
    QuickReply,
    Request,
    RequestMessage,
)
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from database.seed import seed
from services import quick_replies, tickets, workflow
from services.actor import Actor
from services.workflow import Action
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(2000, "Админ")
REQUESTER = tg_user(3000, "Пётр")
TECH = tg_user(4003, "Тех")
TECH2 = tg_user(4005, "Тех2")

BACK = DialogNav(action="back").pack()
CANCEL = DialogNav(action="cancel").pack()
REFUSED = "Sorry, you are not allowed to do this."


@pytest.fixture
async def world(sessionmaker) -> dict[str, int]:
    """An admin, a requester, two IT executors; an IT ticket of the requester taken by TECH.
    Returns ids: the request's, and the categories' by code."""
    async with sessionmaker() as session:
        await seed(session)
        it = await org_repo.category_by_code(session, "it")
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        requester = await factories.user(session, REQUESTER.id, full_name="Петров П.")
        techs = []
        for tg, name in ((TECH, "Техников Т."), (TECH2, "Второй В.")):
            row = await factories.user(session, tg.id, role=Role.EXECUTOR, full_name=name)
            await users_repo.set_categories(session, row, [it])
            techs.append(row)
        created = await tickets.create(
            session,
            Actor.build(REQUESTER.id, requester, frozenset()),
            client_token="tok",
            category_id=it.id,
            priority=Priority.NORMAL,
            subject="Почта",
            description="Не работает",
        )
        rid = created.request.id
        await workflow.apply(session, Actor.build(TECH.id, techs[0], frozenset()), rid, Action.TAKE)
        await session.commit()
        codes = {c.code: c.id for c in await session.scalars(select(Category))}
        return {"request": rid, **codes}


async def add_reply(sessionmaker, title: str, category_id: int | None, text: str = "") -> int:
    async with sessionmaker() as session:
        admin = await users_repo.by_telegram_id(session, ADMIN.id)
        reply = await quick_replies.add(
            session,
            Actor.build(ADMIN.id, admin, frozenset()),
            title=title,
            text=text or f"Text of {title}",
            category_id=category_id,
        )
        await session.commit()
        return reply.id


async def active_replies(sessionmaker) -> list[QuickReply]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(QuickReply).where(QuickReply.is_active.is_(True)).order_by(QuickReply.id)
        )
        return list(rows)


async def thread_texts(sessionmaker, rid: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(RequestMessage.text)
            .where(RequestMessage.request_id == rid)
            .order_by(RequestMessage.id)
        )
        return list(rows)


async def relayed(sessionmaker, chat_id: int) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.template == "request.message")
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def state_of(harness, user) -> str | None:
    return await harness.state(user.id).get_state()


def button(call, label: str) -> str:
    """The callback data of the button with this label."""
    [data] = [d for text, d in buttons(call) if text == label]
    return data


def preview_buttons(call) -> dict[str, str]:
    """The preview's buttons by label; they all name the same preview."""
    found = dict(buttons(call))
    assert list(found) == ["Send", "Edit text", "Cancel"], found
    assert len({QuickSendAct.unpack(d).token for d in found.values()}) == 1
    return found


# --- administration -----------------------------------------------------------------------------


async def test_admin_adds_one_through_the_dialog(harness, sessionmaker, world) -> None:
    await harness.feed(message_update(ADMIN, "/quick"))
    assert "There are no quick replies yet" in harness.last_reply(ADMIN.id).text
    assert buttons(harness.last_reply(ADMIN.id)) == [
        ("Add quick reply", QuickStep(action="add").pack())
    ]

    await harness.feed(callback_update(ADMIN, QuickStep(action="add").pack()))
    screen = harness.last_reply(ADMIN.id)
    assert "Step 1 of 3" in screen.text
    assert buttons(screen) == [
        ("All categories", QuickCategory(category_id=ALL_CATEGORIES).pack()),
        ("Equipment repair", QuickCategory(category_id=world["repair"]).pack()),
        ("Maintenance", QuickCategory(category_id=world["maintenance"]).pack()),
        ("IT help", QuickCategory(category_id=world["it"]).pack()),
        ("Other", QuickCategory(category_id=world["other"]).pack()),
        ("« Back", BACK),
        ("Cancel", CANCEL),
    ]
    # a forged category id is not offered
    await harness.feed(callback_update(ADMIN, QuickCategory(category_id=999_999).pack()))
    assert harness.callback_answer().text == REFUSED
    assert await state_of(harness, ADMIN) == QuickReplyAdd.category.state

    await harness.feed(callback_update(ADMIN, QuickCategory(category_id=world["it"]).pack()))
    assert "Step 2 of 3" in harness.last_reply(ADMIN.id).text
    # bad input: a photo, then a title that is too long; the step is asked again
    photo = [PhotoSize(file_id="ph", file_unique_id="u", width=10, height=10)]
    await harness.feed(message_update(ADMIN, None, photo=photo))
    reply = harness.last_reply(ADMIN.id).text
    assert "Please send the title as a text message." in reply and "Step 2 of 3" in reply
    await harness.feed(message_update(ADMIN, "x" * 101))
    assert "at most 100 characters" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == QuickReplyAdd.title.state

    await harness.feed(message_update(ADMIN, "Reboot <the> PC"))
    assert "Step 3 of 3" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "   "))
    assert "Please send a non-empty text." in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == QuickReplyAdd.text.state

    # Back keeps the title: it is shown and can be kept
    await harness.feed(callback_update(ADMIN, BACK))
    screen = harness.last_reply(ADMIN.id)
    assert "Step 2 of 3" in screen.text and "Now: Reboot &lt;the&gt; PC" in screen.text
    assert ("Keep it", QuickStep(action="keep").pack()) in buttons(screen)
    await harness.feed(callback_update(ADMIN, BACK))
    screen = harness.last_reply(ADMIN.id)
    assert ("• IT help", QuickCategory(category_id=world["it"]).pack()) in buttons(screen)
    await harness.feed(callback_update(ADMIN, QuickCategory(category_id=world["it"]).pack()))
    await harness.feed(callback_update(ADMIN, QuickStep(action="keep").pack()))
    assert "Step 3 of 3" in harness.last_reply(ADMIN.id).text

    await harness.feed(message_update(ADMIN, "Please reboot the PC.\nThen write back."))
    summary = harness.last_reply(ADMIN.id)
    assert "Category: IT help" in summary.text and "Title: Reboot &lt;the&gt; PC" in summary.text
    assert "Please reboot the PC.\nThen write back." in summary.text
    assert buttons(summary)[0] == ("Save", QuickStep(action="save").pack())
    assert await active_replies(sessionmaker) == []

    await harness.feed(callback_update(ADMIN, QuickStep(action="save").pack()))
    listed = harness.last_reply(ADMIN.id).text
    assert "Quick reply <b>Reboot &lt;the&gt; PC</b> saved." in listed
    assert "Quick replies: 1, page 1 of 1." in listed and "(IT help)" in listed
    assert await state_of(harness, ADMIN) is None
    [row] = await active_replies(sessionmaker)
    assert (row.title, row.category_id) == ("Reboot <the> PC", world["it"])
    assert row.text == "Please reboot the PC.\nThen write back."
    # a second tap on Save finds nothing to save
    await harness.feed(callback_update(ADMIN, QuickStep(action="save").pack()))
    assert harness.callback_answer().show_alert
    assert len(await active_replies(sessionmaker)) == 1


async def test_back_on_the_first_step_returns_to_the_list(harness, sessionmaker, world) -> None:
    await add_reply(sessionmaker, "General", None)
    await harness.feed(callback_update(ADMIN, QuickStep(action="add").pack()))
    await harness.feed(callback_update(ADMIN, BACK))
    assert "Quick replies: 1, page 1 of 1." in harness.last_reply(ADMIN.id).text
    assert "(All categories)" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) is None


async def test_admin_screen_has_the_quick_replies_button(harness, sessionmaker, world) -> None:
    await harness.feed(message_update(ADMIN, "/admin"))
    assert ("Quick replies", QuickListPage(page=0).pack()) in buttons(harness.last_reply(ADMIN.id))
    await add_reply(sessionmaker, "General", None)
    await harness.feed(callback_update(ADMIN, QuickListPage(page=0).pack()))
    assert "Quick replies: 1, page 1 of 1." in harness.last_reply(ADMIN.id).text


async def test_list_pages_and_delete_asks_first(harness, sessionmaker, world) -> None:
    ids = [await add_reply(sessionmaker, f"Reply {n}", world["it"]) for n in range(10)]
    await harness.feed(message_update(ADMIN, "/quick"))
    first = harness.last_reply(ADMIN.id)
    assert "Quick replies: 10, page 1 of 2." in first.text
    assert "1. <b>Reply 0</b> (IT help)\nText of Reply 0" in first.text
    labels = [text for text, _data in buttons(first)]
    assert labels[:16] == [f"{verb}: Reply {n}" for n in range(8) for verb in ("Edit", "Delete")]
    assert labels[16:] == ["Next ›", "Add quick reply"]

    await harness.feed(callback_update(ADMIN, QuickListPage(page=1).pack()))
    second = harness.last_reply(ADMIN.id)
    assert "page 2 of 2" in second.text and "10. <b>Reply 9</b>" in second.text
    delete = QuickDelete(reply_id=ids[9], page=1)
    assert ("Delete: Reply 9", delete.pack()) in buttons(second)

    await harness.feed(callback_update(ADMIN, delete.pack()))
    confirm = harness.last_reply(ADMIN.id)
    assert "Delete the quick reply <b>Reply 9</b>?" in confirm.text
    assert buttons(confirm) == [
        ("Yes, delete", QuickDelete(reply_id=ids[9], page=1, confirm=True).pack()),
        ("« Back", QuickListPage(page=1).pack()),
    ]
    assert len(await active_replies(sessionmaker)) == 10

    yes = QuickDelete(reply_id=ids[9], page=1, confirm=True).pack()
    await harness.feed(callback_update(ADMIN, yes))
    listed = harness.last_reply(ADMIN.id).text
    assert "Quick reply <b>Reply 9</b> deleted." in listed
    assert "Quick replies: 9, page 2 of 2." in listed and "Reply 9\n" not in listed
    assert [r.id for r in await active_replies(sessionmaker)] == ids[:9]
    async with sessionmaker() as session:
        assert (await session.get(QuickReply, ids[9])).is_active is False
    await harness.feed(callback_update(ADMIN, yes))
    assert harness.callback_answer().text == "This no longer exists or was not found."


async def test_non_admins_are_refused(harness, sessionmaker, world) -> None:
    reply_id = await add_reply(sessionmaker, "General", None)
    await harness.feed(message_update(TECH, "/quick"))
    assert harness.last_reply(TECH.id).text == REFUSED
    for data in (
        QuickDelete(reply_id=reply_id, page=0, confirm=True).pack(),
        QuickListPage(page=0).pack(),
        QuickStep(action="add").pack(),
        QuickEdit(reply_id=reply_id, page=0).pack(),
    ):
        await harness.feed(callback_update(TECH, data))
        assert harness.callback_answer().text == REFUSED
    assert await state_of(harness, TECH) is None
    assert len(await active_replies(sessionmaker)) == 1


# --- picking one while replying -----------------------------------------------------------------


async def test_technician_picks_a_quick_reply(harness, sessionmaker, world) -> None:
    rid = world["request"]
    it_reply = await add_reply(sessionmaker, "Reboot", world["it"], "Please <b>reboot</b>.")
    await add_reply(sessionmaker, "Repair only", world["repair"])
    long_title = "A very long title that does not fit on a small phone button at all"
    general = await add_reply(sessionmaker, long_title, None)

    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    prompt = harness.last_reply(TECH.id)
    assert "Send your reply to request" in prompt.text and "Or pick a quick reply:" in prompt.text
    assert buttons(prompt) == [
        ("Reboot", ThreadQuickReply(request_id=rid, reply_id=it_reply).pack()),
        (long_title[:39].rstrip() + "…", ThreadQuickReply(request_id=rid, reply_id=general).pack()),
        ("Cancel", ThreadCancel(request_id=rid).pack()),
    ]

    # the pick shows a preview: nothing is posted before Send
    await harness.feed(callback_update(TECH, buttons(prompt)[0][1]))
    preview = harness.last_reply(TECH.id)
    assert "the requester will get exactly this text" in preview.text
    assert preview.text.endswith("\n\nPlease &lt;b&gt;reboot&lt;/b&gt;.")
    send = preview_buttons(preview)["Send"]
    assert await state_of(harness, TECH) == QuickAnswer.preview.state
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []
    # the prompt's buttons are used up: the preview is what is open now
    await harness.feed(callback_update(TECH, buttons(prompt)[0][1]))
    assert "out of date" in harness.callback_answer().text

    await harness.feed(callback_update(TECH, send))
    done = harness.last_reply(TECH.id)
    assert done.text.startswith("Sent to request") and buttons(done) == []
    assert await state_of(harness, TECH) is None
    assert await thread_texts(sessionmaker, rid) == ["Please <b>reboot</b>."]
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["text"] == "Please <b>reboot</b>." and row.payload["question"] is False
    assert row.payload["author"] == "Техников Т."
    # a second tap on Send posts nothing
    await harness.feed(callback_update(TECH, send))
    assert "out of date" in harness.callback_answer().text
    assert len(await thread_texts(sessionmaker, rid)) == 1


async def test_a_picked_question_makes_the_ticket_wait(harness, sessionmaker, world) -> None:
    rid = world["request"]
    reply_id = await add_reply(sessionmaker, "Which PC?", None, "Which PC is it?")
    async with sessionmaker() as session:
        tech = await users_repo.by_telegram_id(session, TECH.id)
        await workflow.apply(session, Actor.build(TECH.id, tech, frozenset()), rid, Action.START)
        await session.commit()
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid, question=True).pack()))
    pick = ThreadQuickReply(request_id=rid, reply_id=reply_id, question=True).pack()
    assert buttons(harness.last_reply(TECH.id)) == [
        ("Which PC?", pick),
        ("Cancel", ThreadCancel(request_id=rid).pack()),
    ]
    await harness.feed(callback_update(TECH, pick))
    preview = harness.last_reply(TECH.id)
    assert "Question to the requester of" in preview.text
    assert await relayed(sessionmaker, REQUESTER.id) == []
    await harness.feed(callback_update(TECH, preview_buttons(preview)["Send"]))
    assert "waiting for the requester's answer" in harness.last_reply(TECH.id).text
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["question"] is True and row.payload["text"] == "Which PC is it?"
    async with sessionmaker() as session:
        assert (await session.get(Request, rid)).status == "waiting"


async def test_a_requester_gets_no_quick_replies(harness, sessionmaker, world) -> None:
    await add_reply(sessionmaker, "General", None)
    await harness.feed(callback_update(REQUESTER, ThreadReply(request_id=world["request"]).pack()))
    prompt = harness.last_reply(REQUESTER.id)
    assert "Send your reply to request" in prompt.text and "quick reply" not in prompt.text
    assert buttons(prompt) == [("Cancel", ThreadCancel(request_id=world["request"]).pack())]
    assert await state_of(harness, REQUESTER) == ThreadDialog.text.state


async def test_forged_picks_are_refused(harness, sessionmaker, world) -> None:
    rid = world["request"]
    repair_reply = await add_reply(sessionmaker, "Repair only", world["repair"])
    general = await add_reply(sessionmaker, "General", None)

    # another category's quick reply, under a real prompt
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    await harness.feed(
        callback_update(TECH, ThreadQuickReply(request_id=rid, reply_id=repair_reply).pack())
    )
    assert harness.callback_answer().text == REFUSED
    assert await state_of(harness, TECH) == ThreadDialog.text.state

    # someone else's request: TECH has taken it, TECH2 may not write there
    await harness.state(TECH2.id).set_state(ThreadDialog.text)
    await harness.state(TECH2.id).set_data({"thread_request": rid, "thread_question": False})
    await harness.feed(
        callback_update(TECH2, ThreadQuickReply(request_id=rid, reply_id=general).pack())
    )
    assert harness.callback_answer().text == REFUSED

    # the requester cannot post a staff quick reply either, nor anyone without a prompt
    await harness.feed(callback_update(REQUESTER, ThreadReply(request_id=rid).pack()))
    await harness.feed(
        callback_update(REQUESTER, ThreadQuickReply(request_id=rid, reply_id=general).pack())
    )
    assert harness.callback_answer().text == REFUSED
    await harness.feed(
        callback_update(ADMIN, ThreadQuickReply(request_id=rid, reply_id=general).pack())
    )
    assert "out of date" in harness.callback_answer().text

    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []


async def test_long_entries_stay_within_telegram_limits(harness, sessionmaker, world) -> None:
    ids = [await add_reply(sessionmaker, "&" * 100, world["it"], "<" * 4096) for _n in range(8)]
    await harness.feed(message_update(ADMIN, "/quick"))
    assert utf16_len(harness.last_reply(ADMIN.id).text) <= TEXT_LIMIT
    yes = QuickDelete(reply_id=ids[0], page=0, confirm=True).pack()
    for data in (QuickDelete(reply_id=ids[0], page=0).pack(), yes):
        await harness.feed(callback_update(ADMIN, data))
        assert utf16_len(harness.last_reply(ADMIN.id).text) <= TEXT_LIMIT

    await harness.feed(callback_update(ADMIN, QuickStep(action="add").pack()))
    await harness.feed(callback_update(ADMIN, QuickCategory(category_id=world["it"]).pack()))
    await harness.feed(message_update(ADMIN, "&" * 100))
    await harness.feed(message_update(ADMIN, "<" * 4096))
    summary = harness.last_reply(ADMIN.id).text
    assert "Please check the quick reply." in summary and utf16_len(summary) <= TEXT_LIMIT
    await harness.feed(callback_update(ADMIN, BACK))
    assert utf16_len(harness.last_reply(ADMIN.id).text) <= TEXT_LIMIT


async def test_edit_text_posts_the_changed_text_once(harness, sessionmaker, world) -> None:
    rid = world["request"]
    reply_id = await add_reply(sessionmaker, "Reboot", world["it"], "Please <b>reboot</b>.")
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    await harness.feed(
        callback_update(TECH, ThreadQuickReply(request_id=rid, reply_id=reply_id).pack())
    )
    first = preview_buttons(harness.last_reply(TECH.id))

    await harness.feed(callback_update(TECH, first["Edit text"]))
    step = harness.last_reply(TECH.id)
    assert "Send the changed text for this answer" in step.text
    assert "<code>Please &lt;b&gt;reboot&lt;/b&gt;.</code>" in step.text  # to copy and change
    assert [label for label, _data in buttons(step)] == ["« Back", "Cancel"]
    assert await state_of(harness, TECH) == QuickAnswer.text.state
    # Back shows the same preview again
    await harness.feed(callback_update(TECH, button(step, "« Back")))
    assert preview_buttons(harness.last_reply(TECH.id)) == first
    await harness.feed(callback_update(TECH, first["Edit text"]))

    await harness.feed(message_update(TECH, "   "))
    assert "Please send a non-empty text." in harness.last_reply(TECH.id).text
    await harness.feed(message_update(TECH, "Please reboot <twice>, then write back."))
    preview = harness.last_reply(TECH.id)
    assert preview.text.endswith("\n\nPlease reboot &lt;twice&gt;, then write back.")
    second = preview_buttons(preview)
    assert await thread_texts(sessionmaker, rid) == []
    # the first preview showed another text: its Send cannot post
    await harness.feed(callback_update(TECH, first["Send"]))
    assert "out of date" in harness.callback_answer().text
    assert await thread_texts(sessionmaker, rid) == []

    await harness.feed(callback_update(TECH, second["Send"]))
    assert harness.last_reply(TECH.id).text.startswith("Sent to request")
    assert await thread_texts(sessionmaker, rid) == ["Please reboot <twice>, then write back."]
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["text"] == "Please reboot <twice>, then write back."
    # the quick reply itself stays as it was
    [stored] = await active_replies(sessionmaker)
    assert stored.text == "Please <b>reboot</b>."


async def test_cancel_at_the_preview_or_the_text_sends_nothing(
    harness, sessionmaker, world
) -> None:
    rid = world["request"]
    reply_id = await add_reply(sessionmaker, "Reboot", world["it"])
    pick = ThreadQuickReply(request_id=rid, reply_id=reply_id).pack()

    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    await harness.feed(callback_update(TECH, pick))
    found = preview_buttons(harness.last_reply(TECH.id))
    await harness.feed(message_update(TECH, "some text"))  # the preview wants a button
    assert "Please use the buttons above" in harness.last_reply(TECH.id).text
    await harness.feed(callback_update(TECH, found["Cancel"]))
    done = harness.last_reply(TECH.id)
    assert "cancelled: nothing was sent" in done.text and buttons(done) == []
    assert await state_of(harness, TECH) is None
    await harness.feed(callback_update(TECH, found["Send"]))
    assert "out of date" in harness.callback_answer().text

    # «отмена» typed where the changed text is expected is no text to send
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    await harness.feed(callback_update(TECH, pick))
    await harness.feed(
        callback_update(TECH, preview_buttons(harness.last_reply(TECH.id))["Edit text"])
    )
    await harness.feed(message_update(TECH, "Отмена"))
    assert "cancelled: nothing was sent" in harness.last_reply(TECH.id).text
    assert await state_of(harness, TECH) is None
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []


async def test_a_long_quick_reply_is_previewed_shortened_and_sent_whole(
    harness, sessionmaker, world
) -> None:
    rid = world["request"]
    text = "<" * 4096
    reply_id = await add_reply(sessionmaker, "Long", world["it"], text)
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    await harness.feed(
        callback_update(TECH, ThreadQuickReply(request_id=rid, reply_id=reply_id).pack())
    )
    preview = harness.last_reply(TECH.id)
    assert utf16_len(preview.text) <= TEXT_LIMIT
    assert "(Shortened here: the whole text will be sent.)" in preview.text
    await harness.feed(callback_update(TECH, preview_buttons(preview)["Edit text"]))
    assert utf16_len(harness.last_reply(TECH.id).text) <= TEXT_LIMIT
    await harness.feed(callback_update(TECH, button(harness.last_reply(TECH.id), "« Back")))
    await harness.feed(callback_update(TECH, preview_buttons(harness.last_reply(TECH.id))["Send"]))
    assert utf16_len(harness.last_reply(TECH.id).text) <= TEXT_LIMIT
    assert await thread_texts(sessionmaker, rid) == [text]


async def test_a_preview_button_without_a_preview_is_out_of_date(
    harness, sessionmaker, world
) -> None:
    for action in ("send", "edit", "back", "cancel"):
        await harness.feed(callback_update(TECH, QuickSendAct(action=action, token="ab12").pack()))
        assert "out of date" in harness.callback_answer().text
    assert await thread_texts(sessionmaker, world["request"]) == []


# --- editing ------------------------------------------------------------------------------------


async def updated_audits(sessionmaker) -> list[AuditLog]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.action == "quick_reply.updated").order_by(AuditLog.id)
        )
        return list(rows)


async def test_admin_edits_title_and_text(harness, sessionmaker, world) -> None:
    ids = [await add_reply(sessionmaker, f"Reply {n}", world["it"]) for n in range(9)]
    edit = QuickEdit(reply_id=ids[8], page=1).pack()
    await harness.feed(callback_update(ADMIN, QuickListPage(page=1).pack()))
    assert ("Edit: Reply 8", edit) in buttons(harness.last_reply(ADMIN.id))

    await harness.feed(callback_update(ADMIN, edit))
    screen = harness.last_reply(ADMIN.id)
    assert "Editing the quick reply. Step 1 of 2" in screen.text
    assert "Now: Reply 8" in screen.text
    assert buttons(screen) == [
        ("Keep it", QuickStep(action="keep").pack()),
        ("« Back", BACK),
        ("Cancel", CANCEL),
    ]
    assert await state_of(harness, ADMIN) == QuickReplyEdit.title.state
    await harness.feed(message_update(ADMIN, "x" * 101))
    assert "at most 100 characters" in harness.last_reply(ADMIN.id).text

    await harness.feed(message_update(ADMIN, "Reboot <the> PC"))
    screen = harness.last_reply(ADMIN.id)
    assert "Step 2 of 2" in screen.text and "Now: Text of Reply 8" in screen.text
    assert [label for label, _data in buttons(screen)] == ["Keep it", "« Back", "Cancel"]
    # Back keeps the new title
    await harness.feed(callback_update(ADMIN, BACK))
    assert "Now: Reboot &lt;the&gt; PC" in harness.last_reply(ADMIN.id).text
    await harness.feed(callback_update(ADMIN, QuickStep(action="keep").pack()))
    await harness.feed(message_update(ADMIN, "Please reboot the PC."))
    summary = harness.last_reply(ADMIN.id)
    assert "Category: IT help" in summary.text and "Title: Reboot &lt;the&gt; PC" in summary.text
    assert "Please reboot the PC." in summary.text
    assert [label for label, _data in buttons(summary)] == ["Save", "« Back", "Cancel"]
    async with sessionmaker() as session:
        assert (await session.get(QuickReply, ids[8])).title == "Reply 8"  # not before Save

    await harness.feed(callback_update(ADMIN, QuickStep(action="save").pack()))
    listed = harness.last_reply(ADMIN.id).text
    assert "Quick reply <b>Reboot &lt;the&gt; PC</b> saved." in listed
    assert "page 2 of 2" in listed  # back on the page it was edited from
    assert await state_of(harness, ADMIN) is None
    async with sessionmaker() as session:
        row = await session.get(QuickReply, ids[8])
        assert (row.title, row.text, row.category_id, row.is_active) == (
            "Reboot <the> PC",
            "Please reboot the PC.",
            world["it"],
            True,
        )
    [audit] = await updated_audits(sessionmaker)
    assert audit.object_id == ids[8]
    assert audit.before == {"title": "Reply 8", "text": "Text of Reply 8"}
    assert audit.after == {"title": "Reboot <the> PC", "text": "Please reboot the PC."}
    # a second tap on Save changes nothing more
    await harness.feed(callback_update(ADMIN, QuickStep(action="save").pack()))
    assert harness.callback_answer().show_alert
    assert len(await updated_audits(sessionmaker)) == 1


async def test_edit_kept_as_it_was_and_back_to_the_list(harness, sessionmaker, world) -> None:
    reply_id = await add_reply(sessionmaker, "General", None)
    edit = QuickEdit(reply_id=reply_id, page=0).pack()
    await harness.feed(callback_update(ADMIN, edit))
    await harness.feed(callback_update(ADMIN, QuickStep(action="keep").pack()))
    await harness.feed(callback_update(ADMIN, QuickStep(action="keep").pack()))
    assert "Category: All categories" in harness.last_reply(ADMIN.id).text
    await harness.feed(callback_update(ADMIN, QuickStep(action="save").pack()))
    assert "Quick reply <b>General</b>: no changes." in harness.last_reply(ADMIN.id).text
    assert await updated_audits(sessionmaker) == []

    await harness.feed(callback_update(ADMIN, edit))
    await harness.feed(callback_update(ADMIN, BACK))
    assert "Quick replies: 1, page 1 of 1." in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) is None
    await harness.feed(callback_update(ADMIN, edit))
    await harness.feed(callback_update(ADMIN, CANCEL))
    assert await state_of(harness, ADMIN) is None
    [row] = await active_replies(sessionmaker)
    assert (row.title, row.text) == ("General", "Text of General")
