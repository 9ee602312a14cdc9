"""The thread inside a request through the real dispatcher (mocked Bot API), both engines:
replies, questions, answers typed outside any dialog, and leaving a reply prompt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Document, Message, PhotoSize, User
from sqlalchemy import select

from bot.keyboards.thread import AnswerPick, ThreadReply
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.thread import AnswerDialog, ThreadDialog
from bot.thread_notifications import register_thread_templates
from database.enums import Priority, RequestStatus, Role
from database.models import (
    Attachment,
    BotMessageLink,
    OutboxMessage,
    Request,
    RequestMessage,
)
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from database.seed import seed
from services import thread, tickets, workflow
from services.actor import Actor
from services.workflow import Action
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
OTHER_USER = tg_user(3001, "Сидор")
TECH = tg_user(4003, "Тех")
TECH2 = tg_user(4005, "Тех2")
BOT_ID = 42


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def setup(sessionmaker) -> int:
    """People and one IT ticket by REQUESTER, taken by TECH; its id."""
    async with sessionmaker() as session:
        await seed(session)
        it = await org_repo.category_by_code(session, "it")
        requester = await factories.user(session, REQUESTER.id, full_name="Петров <П.>")
        await factories.user(session, OTHER_USER.id, full_name="Сидоров С.")
        techs = []
        for tg, name in ((TECH, "Техников Т."), (TECH2, "Второй В.")):
            row = await factories.user(session, tg.id, role=Role.EXECUTOR, full_name=name)
            await users_repo.set_categories(session, row, [it])
            techs.append(row)
        await session.flush()
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
        return rid


async def link(sessionmaker, chat_id: int, message_id: int, rid: int) -> None:
    async with sessionmaker() as session:
        session.add(BotMessageLink(chat_id=chat_id, message_id=message_id, request_id=rid))
        await session.commit()


async def thread_texts(sessionmaker, rid: int) -> list[str]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(RequestMessage.text)
            .where(RequestMessage.request_id == rid)
            .order_by(RequestMessage.id)
        )
        return list(result)


async def relayed(sessionmaker, chat_id: int) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.template == "request.message")
            .order_by(OutboxMessage.id)
        )
        return list(result)


def bot_message(chat_id: int, message_id: int) -> Message:
    return Message(
        message_id=message_id,
        date=datetime.now(UTC),
        chat=Chat(id=chat_id, type="private"),
        from_user=User(id=BOT_ID, is_bot=True, first_name="Helpdesk"),
        text="Заявка …",
    )


async def test_reply_to_linked_message_posts_into_thread(harness, sessionmaker, renderers) -> None:
    rid = await setup(sessionmaker)
    await link(sessionmaker, REQUESTER.id, 500, rid)
    await harness.feed(
        message_update(REQUESTER, "<b>всё</b> сломалось", reply_to_message=bot_message(3000, 500))
    )
    assert await thread_texts(sessionmaker, rid) == ["<b>всё</b> сломалось"]
    assert (
        "Sent" in harness.replies(REQUESTER.id)[-1]
        or "Отправлено" in (harness.replies(REQUESTER.id)[-1])
    )
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert "&lt;b&gt;всё&lt;/b&gt; сломалось" in rendered.text
    assert "Петров &lt;П.&gt;" in rendered.text and row.payload["number"] in rendered.text
    markup = rendered.reply_markup.inline_keyboard
    assert markup[0][0].callback_data == ThreadReply(request_id=rid).pack()


async def test_photo_reply_is_relayed_as_photo(harness, sessionmaker, renderers) -> None:
    rid = await setup(sessionmaker)
    await link(sessionmaker, REQUESTER.id, 501, rid)
    photo = [PhotoSize(file_id="ph-big", file_unique_id="u-big", width=1280, height=960)]
    await harness.feed(
        message_update(
            REQUESTER, None, photo=photo, caption="экран", reply_to_message=bot_message(3000, 501)
        )
    )
    async with sessionmaker() as session:
        files = list(
            await session.scalars(select(Attachment).where(Attachment.message_id.isnot(None)))
        )
    assert [f.file_id for f in files] == ["ph-big"]
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert rendered.photo == "ph-big" and "экран" in rendered.text


async def test_reply_to_old_message_of_someone_elses_ticket_is_refused(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    # TECH2 got the card while the ticket was new; TECH has taken it since
    await link(sessionmaker, TECH2.id, 600, rid)
    await harness.feed(message_update(TECH2, "я возьму", reply_to_message=bot_message(4005, 600)))
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []
    assert harness.replies(TECH2.id)


async def test_reply_to_unlinked_message_is_not_a_thread_message(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(REQUESTER, "привет", reply_to_message=bot_message(3000, 9)))
    assert await thread_texts(sessionmaker, rid) == []


async def test_reply_button_flow(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    assert harness.callback_answer()
    assert await harness.state(TECH.id).get_state() == ThreadDialog.text.state
    await harness.feed(message_update(TECH, "Перезагрузите <i>ПК</i>"))
    assert await harness.state(TECH.id).get_state() is None
    assert await thread_texts(sessionmaker, rid) == ["Перезагрузите <i>ПК</i>"]
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["author"] == "Техников Т." and row.payload["question"] is False


async def test_reply_button_refused_for_outsider(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(OTHER_USER, ThreadReply(request_id=rid).pack()))
    assert harness.callback_answer().show_alert
    assert await harness.state(OTHER_USER.id).get_state() is None


async def test_question_button_makes_the_ticket_wait(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    async with sessionmaker() as session:
        tech = await users_repo.by_telegram_id(session, TECH.id)
        await workflow.apply(session, Actor.build(TECH.id, tech, frozenset()), rid, Action.START)
        await session.commit()
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid, question=True).pack()))
    await harness.feed(message_update(TECH, "Какой у вас ПК?"))
    assert harness.last_reply(TECH.id).text.splitlines()[1] == (
        "The request is waiting for the requester's answer."
    )
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["question"] is True
    async with sessionmaker() as session:
        from database.models import Request

        assert (await session.get(Request, rid)).status == "waiting"


async def test_reply_command_by_staff_and_refused_for_plain_user(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(TECH, f"/reply {rid} Зайду в 15:00"))
    assert await thread_texts(sessionmaker, rid) == ["Зайду в 15:00"]
    await harness.feed(message_update(OTHER_USER, f"/reply {rid} влезу"))
    assert await thread_texts(sessionmaker, rid) == ["Зайду в 15:00"]
    assert harness.replies(OTHER_USER.id)
    await harness.feed(message_update(TECH, "/reply"))
    assert "/reply" in harness.replies(TECH.id)[-1]
    assert buttons(harness.last_reply(TECH.id)) == []


async def test_writing_into_a_finished_ticket_says_why(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    async with sessionmaker() as session:
        tech = await users_repo.by_telegram_id(session, TECH.id)
        await workflow.apply(
            session, Actor.build(TECH.id, tech, frozenset()), rid, Action.REJECT, reason="дубль"
        )
        await session.commit()
    await link(sessionmaker, REQUESTER.id, 700, rid)
    await harness.feed(
        message_update(REQUESTER, "но ведь", reply_to_message=bot_message(3000, 700))
    )
    assert harness.replies(REQUESTER.id)[-1] == (
        "This request is finished: its conversation takes no more messages."
    )
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, TECH.id) == []


async def test_reply_over_telegrams_limit_is_refused_with_a_reason(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(TECH, f"/reply {rid} " + "я" * 4097))
    assert harness.replies(TECH.id)[-1].startswith("The message is empty, too long")
    assert await thread_texts(sessionmaker, rid) == []


# --- an answer typed outside any dialog -------------------------------------------------------

NOT_SEEN = "This no longer exists or was not found."  # as a missing request answers


async def actor_of(session, tg: User) -> Actor:
    return Actor.build(tg.id, await users_repo.by_telegram_id(session, tg.id), frozenset())


async def ask(sessionmaker, rid: int, question: str) -> str:
    """TECH starts the ticket and asks its requester `question`: it waits; its number."""
    async with sessionmaker() as session:
        tech = await actor_of(session, TECH)
        await workflow.apply(session, tech, rid, Action.START)
        await thread.post(session, tech, rid, question, question=True)
        await session.commit()
        return (await session.get(Request, rid)).number


async def ask_again(sessionmaker, rid: int, question: str) -> None:
    """TECH asks one more question (the ticket waits already)."""
    async with sessionmaker() as session:
        await thread.post(session, await actor_of(session, TECH), rid, question, question=True)
        await session.commit()


async def another_ticket(sessionmaker, author: User, subject: str) -> int:
    """One more IT ticket of `author`, taken by TECH; its id."""
    async with sessionmaker() as session:
        it = await org_repo.category_by_code(session, "it")
        created = await tickets.create(
            session,
            await actor_of(session, author),
            client_token=f"tok-{author.id}-{subject}",
            category_id=it.id,
            priority=Priority.NORMAL,
            subject=subject,
            description="…",
        )
        rid = created.request.id
        await workflow.apply(session, await actor_of(session, TECH), rid, Action.TAKE)
        await session.commit()
        return rid


async def status_of(sessionmaker, rid: int) -> str:
    async with sessionmaker() as session:
        return (await session.get(Request, rid)).status


async def test_a_typed_message_answers_the_single_open_question(
    harness, sessionmaker, renderers
) -> None:
    rid = await setup(sessionmaker)
    number = await ask(sessionmaker, rid, "Какой у вас ПК?")
    await harness.feed(message_update(REQUESTER, "Dell <OptiPlex>"))
    assert harness.replies(REQUESTER.id) == [f"Answer sent to request {number}."]
    assert await thread_texts(sessionmaker, rid) == ["Какой у вас ПК?", "Dell <OptiPlex>"]
    assert await status_of(sessionmaker, rid) == RequestStatus.IN_PROGRESS
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert number in rendered.text and "Dell &lt;OptiPlex&gt;" in rendered.text
    assert await harness.state(REQUESTER.id).get_state() is None


async def test_a_question_and_its_answer_are_relayed_in_one_shape(
    harness, sessionmaker, i18n
) -> None:
    """Seen in Russian: «вопрос от Техников Сергей» (a name left in the nominative after «от»)
    and «Заявка …: Иванов Иван: Есть…» (two colons). Both relays now say what came after the
    number, then the name alone before the only colon, so a name is never inflected."""
    rid = await setup(sessionmaker)
    number = await ask(sessionmaker, rid, "Какой у вас ПК?")
    await harness.feed(message_update(REQUESTER, "Dell <OptiPlex>"))
    russian = RendererRegistry(default_language="ru")
    register_request_templates(russian, i18n)
    [question] = await relayed(sessionmaker, REQUESTER.id)
    [answer] = await relayed(sessionmaker, TECH.id)
    assert (await russian.render("request.message", question.payload, None)).text == (
        f"Заявка {number} — вопрос\nТехников Т.: Какой у вас ПК?"
    )
    assert (await russian.render("request.message", answer.payload, None)).text == (
        f"Заявка {number} — сообщение\nПетров &lt;П.&gt;: Dell &lt;OptiPlex&gt;"
    )


async def test_a_digest_of_messages_names_the_author_the_same_way(i18n) -> None:
    """The digest of a requester's messages had «новые сообщения от Петров П.»: the same
    shape as a single message now, the name alone before its colon."""
    russian = RendererRegistry(default_language="ru")
    register_request_templates(russian, i18n)
    register_thread_templates(russian, i18n)
    payload = {
        "request_id": 5,
        "number": "Т-2026-000005",
        "author": "Петров <П.>",
        "count": 3,
        "entries": [{"text": "второе"}, {"text": "третье"}],
    }
    rendered = await russian.render("request.messages", payload, None)
    assert rendered.text.split("\n")[:5] == [
        "Заявка Т-2026-000005 — новые сообщения (3)",
        "Более ранние (1) — в переписке.",
        "Петров &lt;П.&gt;:",
        "• второе",
        "• третье",
    ]


async def test_a_photo_or_a_document_answers_the_single_open_question(
    harness, sessionmaker, renderers
) -> None:
    rid = await setup(sessionmaker)
    number = await ask(sessionmaker, rid, "Пришлите фото экрана")
    photo = [PhotoSize(file_id="ph-ans", file_unique_id="u-ans", width=800, height=600)]
    await harness.feed(message_update(REQUESTER, None, photo=photo, caption="вот"))
    assert harness.replies(REQUESTER.id) == [f"Answer sent to request {number}."]
    assert await status_of(sessionmaker, rid) == RequestStatus.IN_PROGRESS
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert rendered.photo == "ph-ans" and "вот" in rendered.text and number in rendered.text

    await ask_again(sessionmaker, rid, "И журнал, пожалуйста")
    log = Document(file_id="doc-ans", file_unique_id="u-doc", file_name="log.txt")
    await harness.feed(message_update(REQUESTER, None, document=log))
    assert harness.replies(REQUESTER.id) == [f"Answer sent to request {number}."]
    async with sessionmaker() as session:
        files = list(
            await session.scalars(
                select(Attachment.file_id)
                .where(Attachment.request_id == rid)
                .order_by(Attachment.id)
            )
        )
    assert files == ["ph-ans", "doc-ans"]
    assert await status_of(sessionmaker, rid) == RequestStatus.IN_PROGRESS


async def test_with_several_open_questions_the_requester_picks_the_request(
    harness, sessionmaker
) -> None:
    mail = await setup(sessionmaker)
    printer = await another_ticket(sessionmaker, REQUESTER, "Принтер")
    await ask(sessionmaker, mail, "Какой у вас ПК?")
    number = await ask(sessionmaker, printer, "Какая модель?")
    await harness.feed(message_update(REQUESTER, "Kyocera FS-1040"))
    picker = harness.last_reply(REQUESTER.id)
    assert "Which one is this message for?" in picker.text
    labels = [label for label, _data in buttons(picker)]
    assert labels == [f"{number} — Принтер", labels[1], "Cancel"]
    assert labels[1].endswith(" — Почта")
    # nothing is posted before the choice
    assert await thread_texts(sessionmaker, printer) == ["Какая модель?"]
    assert await relayed(sessionmaker, TECH.id) == []
    assert await harness.state(REQUESTER.id).get_state() == AnswerDialog.request.state

    await harness.feed(callback_update(REQUESTER, buttons(picker)[0][1]))
    assert harness.replies(REQUESTER.id) == [f"Answer sent to request {number}."]
    assert await thread_texts(sessionmaker, printer) == ["Какая модель?", "Kyocera FS-1040"]
    assert await thread_texts(sessionmaker, mail) == ["Какой у вас ПК?"]
    assert await status_of(sessionmaker, printer) == RequestStatus.IN_PROGRESS
    assert await status_of(sessionmaker, mail) == RequestStatus.WAITING
    [row] = await relayed(sessionmaker, TECH.id)
    assert row.payload["number"] == number and row.payload["text"] == "Kyocera FS-1040"
    assert await harness.state(REQUESTER.id).get_state() is None
    # the choice is used up: a second tap posts nothing
    await harness.feed(callback_update(REQUESTER, buttons(picker)[1][1]))
    assert "out of date" in harness.callback_answer().text
    assert await thread_texts(sessionmaker, mail) == ["Какой у вас ПК?"]


async def test_cancel_under_the_choice_posts_nothing(harness, sessionmaker) -> None:
    mail = await setup(sessionmaker)
    printer = await another_ticket(sessionmaker, REQUESTER, "Принтер")
    await ask(sessionmaker, mail, "Какой у вас ПК?")
    await ask(sessionmaker, printer, "Какая модель?")
    for leave in ("button", "Отмена"):
        await harness.feed(message_update(REQUESTER, "Kyocera FS-1040"))
        picker = harness.last_reply(REQUESTER.id)
        assert buttons(picker)[-1][0] == "Cancel"
        if leave == "button":
            await harness.feed(callback_update(REQUESTER, buttons(picker)[-1][1]))
        else:
            await harness.feed(message_update(REQUESTER, leave))
        assert harness.replies(REQUESTER.id) == ["Answer cancelled: nothing was sent."]
        assert await harness.state(REQUESTER.id).get_state() is None
    assert await thread_texts(sessionmaker, mail) == ["Какой у вас ПК?"]
    assert await thread_texts(sessionmaker, printer) == ["Какая модель?"]
    assert await relayed(sessionmaker, TECH.id) == []
    assert {await status_of(sessionmaker, r) for r in (mail, printer)} == {RequestStatus.WAITING}


async def test_a_forged_choice_is_refused(harness, sessionmaker) -> None:
    mail = await setup(sessionmaker)
    printer = await another_ticket(sessionmaker, REQUESTER, "Принтер")
    foreign = await another_ticket(sessionmaker, OTHER_USER, "Чужая")
    await ask(sessionmaker, mail, "Какой у вас ПК?")
    await ask(sessionmaker, printer, "Какая модель?")
    await ask(sessionmaker, foreign, "А у вас?")
    await harness.feed(message_update(REQUESTER, "Kyocera FS-1040"))
    picker = harness.last_reply(REQUESTER.id)
    offered = [AnswerPick.unpack(data) for _label, data in buttons(picker)[:-1]]
    assert sorted(p.request_id for p in offered) == sorted([mail, printer])
    kept = offered[0].message_id

    forged = AnswerPick(message_id=kept, request_id=foreign).pack()
    await harness.feed(callback_update(REQUESTER, forged))
    assert harness.callback_answer().text == NOT_SEEN
    assert await thread_texts(sessionmaker, foreign) == ["А у вас?"]
    assert await status_of(sessionmaker, foreign) == RequestStatus.WAITING
    assert await relayed(sessionmaker, TECH.id) == []
    # the choice is still open for a request of one's own
    assert await harness.state(REQUESTER.id).get_state() == AnswerDialog.request.state

    # without a kept message (no choice open, or another message's), nothing is posted
    await harness.feed(callback_update(OTHER_USER, forged))
    assert "out of date" in harness.callback_answer().text
    await harness.feed(
        callback_update(REQUESTER, AnswerPick(message_id=kept + 1, request_id=mail).pack())
    )
    assert "out of date" in harness.callback_answer().text
    assert await thread_texts(sessionmaker, mail) == ["Какой у вас ПК?"]
    assert await thread_texts(sessionmaker, foreign) == ["А у вас?"]


async def test_without_an_open_question_the_fallback_says_how_to_write(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(REQUESTER, "Когда придёте?"))
    [hint] = harness.replies(REQUESTER.id)
    assert "press Reply" in hint and "/reply &lt;request id&gt; &lt;text&gt;" in hint
    assert await thread_texts(sessionmaker, rid) == []
    # someone else's open question is not theirs to answer
    await ask(sessionmaker, rid, "Какой у вас ПК?")
    await harness.feed(message_update(OTHER_USER, "Мой ПК — Dell"))
    assert harness.replies(OTHER_USER.id) == [hint]
    assert await thread_texts(sessionmaker, rid) == ["Какой у вас ПК?"]
    assert await relayed(sessionmaker, TECH.id) == []
    assert await status_of(sessionmaker, rid) == RequestStatus.WAITING


# --- leaving a reply prompt -------------------------------------------------------------------


@pytest.mark.parametrize("word", ["Отмена", "отмена", "cancel", "/cancel"])
async def test_cancel_typed_at_the_reply_prompt_sends_nothing(harness, sessionmaker, word) -> None:
    rid = await setup(sessionmaker)
    number = await ask(sessionmaker, rid, "Какой у вас ПК?")
    await harness.feed(callback_update(REQUESTER, ThreadReply(request_id=rid).pack()))
    await harness.feed(message_update(REQUESTER, word))
    assert harness.replies(REQUESTER.id) == [
        f"Reply to request {number} cancelled: nothing was sent."
    ]
    assert await harness.state(REQUESTER.id).get_state() is None
    assert await thread_texts(sessionmaker, rid) == ["Какой у вас ПК?"]
    assert await relayed(sessionmaker, TECH.id) == []
    assert await status_of(sessionmaker, rid) == RequestStatus.WAITING


async def test_cancel_typed_at_the_question_prompt_sends_nothing(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    async with sessionmaker() as session:
        await workflow.apply(session, await actor_of(session, TECH), rid, Action.START)
        number = (await session.get(Request, rid)).number
        await session.commit()
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid, question=True).pack()))
    await harness.feed(message_update(TECH, "Отмена"))
    assert harness.replies(TECH.id) == [
        f"Question to the requester of {number} cancelled: nothing was sent."
    ]
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []
    assert await status_of(sessionmaker, rid) == RequestStatus.IN_PROGRESS


async def test_the_cancel_button_of_the_reply_prompt_sends_nothing(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    number = await ask(sessionmaker, rid, "Какой у вас ПК?")
    await harness.feed(callback_update(REQUESTER, ThreadReply(request_id=rid).pack()))
    prompt = harness.last_reply(REQUESTER.id)
    [(label, cancel)] = buttons(prompt)
    assert label == "Cancel"
    await harness.feed(callback_update(REQUESTER, cancel))
    assert harness.replies(REQUESTER.id) == [
        f"Reply to request {number} cancelled: nothing was sent."
    ]
    assert buttons(harness.last_reply(REQUESTER.id)) == []
    assert await harness.state(REQUESTER.id).get_state() is None
    assert await thread_texts(sessionmaker, rid) == ["Какой у вас ПК?"]
    assert await relayed(sessionmaker, TECH.id) == []
    assert await status_of(sessionmaker, rid) == RequestStatus.WAITING
    # pressed again: the prompt is closed, nothing happens
    await harness.feed(callback_update(REQUESTER, cancel))
    assert harness.callback_answer().show_alert
    assert await thread_texts(sessionmaker, rid) == ["Какой у вас ПК?"]
