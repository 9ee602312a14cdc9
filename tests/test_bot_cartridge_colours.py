"""The colour of a new cartridge type through the real dispatcher, both engines: chosen with
buttons, stored as a code, shown in the reader's language on the card and in the list."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.keyboards.catalogue_admin import AdminMenu, ColourPick, TypePick
from bot.keyboards.common import DialogNav
from bot.routers.catalogue_admin import CatalogueAdd
from database.enums import Role
from database.models import CartridgeType, User
from database.seed import seed
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(2000, "Админ")
BACK = DialogNav(action="back").pack()
CANCEL = DialogNav(action="cancel").pack()


@pytest.fixture
async def russian_admin(sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        admin = await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        admin.language = "ru"
        await session.commit()


async def set_language(sessionmaker, language: str) -> None:
    async with sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.telegram_id == ADMIN.id))
        admin.language = language
        await session.commit()


async def stored(sessionmaker, model: str) -> CartridgeType:
    async with sessionmaker() as session:
        return await session.scalar(select(CartridgeType).where(CartridgeType.model == model))


async def up_to_the_colour(harness, model: str) -> None:
    await harness.feed(callback_update(ADMIN, AdminMenu(action="add").pack()))
    await harness.feed(message_update(ADMIN, model))
    await harness.feed(message_update(ADMIN, "HP"))


async def after_the_colour(harness) -> str:
    """No printers, threshold 2: the new type's card."""
    await harness.feed(message_update(ADMIN, "-"))
    await harness.feed(message_update(ADMIN, "2"))
    return harness.last_reply(ADMIN.id)


def labels(call) -> list[str]:
    return [text for text, _data in buttons(call)]


async def test_colour_buttons_store_the_code_shown_in_each_language(
    harness, sessionmaker, russian_admin
) -> None:
    await up_to_the_colour(harness, "CE310A (126A)")
    step = harness.last_reply(ADMIN.id)
    assert "Шаг 3 из 5: выберите цвет." in step.text
    assert buttons(step) == [
        ("чёрный", ColourPick(code="black").pack()),
        ("голубой", ColourPick(code="cyan").pack()),
        ("пурпурный", ColourPick(code="magenta").pack()),
        ("жёлтый", ColourPick(code="yellow").pack()),
        ("другой…", ColourPick(code="other").pack()),
        ("« Назад", BACK),
        ("Отмена", CANCEL),
    ]
    await harness.feed(callback_update(ADMIN, ColourPick(code="black").pack()))
    assert "Шаг 4 из 5" in harness.last_reply(ADMIN.id).text
    # Back: the choice is shown and marked
    await harness.feed(callback_update(ADMIN, BACK))
    step = harness.last_reply(ADMIN.id)
    assert "Текущее значение: чёрный" in step.text and "• чёрный" in labels(step)
    await harness.feed(callback_update(ADMIN, ColourPick(code="black").pack()))

    card = await after_the_colour(harness)
    assert "Цвет: чёрный" in card.text
    assert (await stored(sessionmaker, "CE310A (126A)")).colour == "black"
    to_list = dict(buttons(card))["« Назад"]
    await harness.feed(callback_update(ADMIN, to_list))
    assert "CE310A (126A) · чёрный" in labels(harness.last_reply(ADMIN.id))

    await set_language(sessionmaker, "en")
    await harness.feed(callback_update(ADMIN, to_list))
    assert "CE310A (126A) · black" in labels(harness.last_reply(ADMIN.id))
    type_id = (await stored(sessionmaker, "CE310A (126A)")).id
    await harness.feed(callback_update(ADMIN, TypePick(section="cat", type_id=type_id).pack()))
    assert "Colour: black" in harness.last_reply(ADMIN.id).text


async def test_other_colour_is_typed_and_a_typed_name_becomes_its_code(
    harness, sessionmaker, russian_admin
) -> None:
    await up_to_the_colour(harness, "Silver 1")
    await harness.feed(callback_update(ADMIN, ColourPick(code="other").pack()))
    step = harness.last_reply(ADMIN.id)
    assert "Шаг 3 из 5: отправьте название цвета, до 30 символов." in step.text
    assert labels(step) == ["« Назад", "Отмена"]
    assert await harness.state(ADMIN.id).get_state() == CatalogueAdd.colour_other.state
    await harness.feed(callback_update(ADMIN, BACK))  # back to the buttons
    assert "другой…" in labels(harness.last_reply(ADMIN.id))
    await harness.feed(callback_update(ADMIN, ColourPick(code="other").pack()))
    await harness.feed(message_update(ADMIN, "x" * 31))
    assert "Слишком длинный текст: не более 30 символов." in harness.last_reply(ADMIN.id).text
    assert await harness.state(ADMIN.id).get_state() == CatalogueAdd.colour_other.state
    await harness.feed(message_update(ADMIN, "Серебристый"))
    card = await after_the_colour(harness)
    assert "Цвет: Серебристый" in card.text
    assert (await stored(sessionmaker, "Silver 1")).colour == "Серебристый"

    # a colour's name typed instead of pressed, in any case and with ё or е, is its code
    await up_to_the_colour(harness, "Yellow 1")
    await harness.feed(message_update(ADMIN, "  ЖЕЛТЫЙ "))
    card = await after_the_colour(harness)
    assert "Цвет: жёлтый" in card.text
    assert (await stored(sessionmaker, "Yellow 1")).colour == "yellow"


async def test_a_forged_colour_is_refused(harness, sessionmaker, russian_admin) -> None:
    await up_to_the_colour(harness, "Forged 1")
    await harness.feed(callback_update(ADMIN, ColourPick(code="purple").pack()))
    assert harness.callback_answer().show_alert
    assert await harness.state(ADMIN.id).get_state() == CatalogueAdd.colour.state
    assert (await harness.state(ADMIN.id).get_data()).get("colour") is None
