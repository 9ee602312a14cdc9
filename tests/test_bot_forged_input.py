"""Input that does not parse gets a clear answer and changes nothing, through the real
dispatcher, both engines: numbers typed after a command (a superscript digit passes
`str.isdigit()`, a huge id overflows BIGINT) and forged buttons (an id above 2^63, an unknown
value) that reached the database and crashed the update."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import func, select, text

from bot.routers.invites import InviteDialog
from database.enums import Role
from database.models import Base, Branch
from database.seed import seed
from tests import factories
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

OWNER = tg_user(OWNER_ID, "Ольга")
BIG = str(2**64)  # beyond BIGINT on both engines
OUT_OF_DATE = "This button is no longer valid. Send /help to see what you can do."


async def snapshot(sessionmaker) -> dict[str, list[str]]:
    """Every row of every table."""
    async with sessionmaker() as session:
        return {
            table.name: sorted(
                repr(tuple(row))
                for row in await session.execute(text(f'SELECT * FROM "{table.name}"'))
            )
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
async def owner(sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, OWNER_ID, role=Role.OWNER, full_name="Ольга")
        await session.commit()


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/reply ² text", "Usage: /reply &lt;request id&gt; &lt;text&gt;"),
        ("/role ² admin", "No registered user ²."),
        ("/role 99999999999999999999 admin", "No registered user 99999999999999999999."),
        (
            "/deactivate ²",
            "Usage: /deactivate &lt;Telegram ID or @username&gt; of a registered user.",
        ),
    ],
)
async def test_a_number_that_is_no_id_is_answered(
    harness, sessionmaker, owner, command, answer
) -> None:
    before = await snapshot(sessionmaker)

    await harness.feed(message_update(OWNER, command))

    assert harness.last_reply(OWNER_ID).text == answer
    assert await snapshot(sessionmaker) == before


@pytest.mark.parametrize(
    "data",
    [
        f"rq:take:{BIG}",  # a card's action
        f"rqo:{BIG}:0",  # open a card
        f"rqt:{BIG}",  # a request's conversation
        f"thr:{BIG}:0",  # reply in a request's thread
        f"rql:my:1:{BIG}",  # a page of the own requests
        f"ctk:types:{BIG}",  # a cartridge type of the catalogue
        f"rlo:{BIG}:my:1:0",
        f"rqf:{BIG}",
        f"rqa:{BIG}:1",
        f"rqc:res:{BIG}:skip",
        f"rqp:{BIG}",
        f"rqx:{BIG}",
        f"tlo:{BIG}:::0",
        f"qrl:{BIG}",
        f"ctp:types:{BIG}",
        f"cta:model:{BIG}",
    ],
)
async def test_a_forged_button_is_out_of_date(harness, sessionmaker, owner, data) -> None:
    before = await snapshot(sessionmaker)

    await harness.feed(callback_update(OWNER, data))

    assert [type(c) for c in harness.bot.calls] == [AnswerCallbackQuery]
    answer = harness.callback_answer()
    assert answer.text == OUT_OF_DATE and answer.show_alert
    assert await snapshot(sessionmaker) == before


@pytest.mark.parametrize("data", ["invr:bogus", "invr:1"])
async def test_an_unknown_role_in_the_invite_dialog_is_out_of_date(
    harness, sessionmaker, owner, data
) -> None:
    async with sessionmaker() as session:
        branch = await session.scalar(select(func.min(Branch.id)))
    state = harness.state(OWNER_ID)
    await state.set_state(InviteDialog.role)
    await state.set_data({"branch_id": branch})
    before = await snapshot(sessionmaker)

    await harness.feed(callback_update(OWNER, data))

    assert [type(c) for c in harness.bot.calls] == [AnswerCallbackQuery]
    answer = harness.callback_answer()
    assert answer.text == OUT_OF_DATE and answer.show_alert
    assert await snapshot(sessionmaker) == before  # no invite; the dialog is where it was
    assert await state.get_state() == InviteDialog.role.state
