"""/onboarding through the real dispatcher (mocked Bot API), both engines: the template, a file
checked without changing anything, its problems by sheet and row, Apply in one transaction,
invite links returned as .xlsx and redeemed; bad files and people below admin refused."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from aiogram import Bot
from aiogram.methods import SendDocument
from aiogram.types import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.keyboards.common import DialogNav
from bot.keyboards.onboarding import OnboardingApply, OnboardingOpen, OnboardingTemplate
from bot.routers.onboarding import OnboardingDialog
from database.enums import Role, UserStatus
from database.models import Branch, Invite
from database.repositories import users as users_repo
from database.seed import seed
from tests import factories
from tests.bot_harness import buttons, labels, press, say, state_of
from tests.test_onboarding import GOOD, counts, upload
from tests.test_xlsx_onboarding import docx_like, workbook
from tests.updates import message_update, tg_user

ADMIN = tg_user(2000, "Админ")
KEEPER = tg_user(2001, "Кладовщик")
PLAIN = tg_user(3000, "Петров")
NEWCOMER = tg_user(777001, "Anna", username="kuznetsova")


@pytest.fixture
async def org(sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, KEEPER.id, role=Role.EXECUTOR, full_name="Кладов К.")
        await factories.user(session, PLAIN.id, full_name="Петров П.")
        await session.commit()


@pytest.fixture
def files(monkeypatch) -> dict[str, bytes]:
    """What Bot.download gives for each file id (the mocked session streams nothing)."""
    stored: dict[str, bytes] = {}

    async def download(self, file, destination=None, **kwargs):
        file_id = file if isinstance(file, str) else file.file_id
        destination.write(stored[file_id])
        destination.seek(0)
        return destination

    monkeypatch.setattr(Bot, "download", download)
    return stored


async def send_file(harness, files, payload: bytes, name: str = "org.xlsx", size=None) -> str:
    file_id = f"file-{len(files)}"
    files[file_id] = payload
    document = Document(
        file_id=file_id,
        file_unique_id=f"u-{file_id}",
        file_name=name,
        file_size=len(payload) if size is None else size,
    )
    await harness.feed(message_update(ADMIN, None, document=document))
    return "\n".join(harness.replies(ADMIN.id))


def documents(harness) -> list[SendDocument]:
    return harness.bot.calls_of(SendDocument)


async def counts_now(sessionmaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return await counts(session)


async def test_template_then_a_good_file_applied_and_an_invite_redeemed(
    harness, sessionmaker, org, files
) -> None:
    text = await say(harness, ADMIN, "/onboarding")
    assert "Set-up from Excel" in text and "Apply" in text
    assert labels(harness, ADMIN) == ["Download the template", "« Back", "Cancel"]
    assert await state_of(harness, ADMIN) == OnboardingDialog.file.state

    await press(harness, ADMIN, OnboardingTemplate())
    (sent,) = documents(harness)
    assert sent.document.filename == "onboarding-template.xlsx"
    book = load_workbook(BytesIO(sent.document.data))
    assert book.sheetnames[:4] == ["Branches", "Categories", "People", "Catalogue"]
    assert await state_of(harness, ADMIN) == OnboardingDialog.file.state  # still waiting

    before = await counts_now(sessionmaker)
    text = await send_file(harness, files, GOOD)
    assert "The file is fine. It will add:" in text
    assert "• branches: 2" in text and "• ticket categories: 2" in text
    assert "• people registered at once (with a Telegram ID): 2" in text
    assert "• people to invite by link: 2" in text and "• cartridge types: 2" in text
    assert labels(harness, ADMIN) == ["Apply", "« Back", "Cancel"]
    assert await counts_now(sessionmaker) == before  # nothing before Apply

    apply = next(data for label, data in buttons(harness.last_reply(ADMIN.id)) if label == "Apply")
    await press(harness, ADMIN, apply)
    assert "Done. Added:" in "\n".join(harness.replies(ADMIN.id))
    (sheet,) = documents(harness)
    assert sheet.document.filename == "invites.xlsx"
    assert "Invite links for 2 people" in sheet.caption and "7 days" in sheet.caption
    rows = list(load_workbook(BytesIO(sheet.document.data)).active.iter_rows(values_only=True))
    anna = next(row for row in rows if row[0] == "Кузнецова Анна")
    assert anna[1:4] == ("Центральный офис", "Storekeeper", "@kuznetsova")
    token = re.fullmatch(r"https://t\.me/helpdesk_bot\?start=([\w-]+)", anna[4]).group(1)
    async with sessionmaker() as session:
        west = await session.scalar(select(Branch).where(Branch.name == "Филиал «Запад»"))
        assert west is not None
        invite = await session.scalar(select(Invite).where(Invite.token == token))
        assert (invite.full_name, invite.role) == ("Кузнецова Анна", Role.EXECUTOR)
    assert await state_of(harness, ADMIN) is None

    await press(harness, ADMIN, apply)  # a second tap
    assert "already applied or cancelled" in harness.callback_answer().text

    # the storekeeper joins through the link: the row's name, branch, role and categories
    await say(harness, NEWCOMER, f"/start {token}")
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, NEWCOMER.id)
        assert (user.full_name, user.role, user.status, user.email) == (
            "Кузнецова Анна", Role.EXECUTOR, UserStatus.APPROVED, "a@example.com"
        )  # fmt: skip
        served = await users_repo.load_categories(session, user)
        assert [c.code for c in served] == ["cartridges"]


async def test_problems_are_listed_by_sheet_and_row_and_nothing_changes(
    harness, sessionmaker, org, files
) -> None:
    await say(harness, ADMIN, "/onboarding")
    before = await counts_now(sessionmaker)
    bad = upload(
        branches=[["Филиал «Запад»", "", "", "", ""], ["Филиал «Запад»", "", "", "", ""]],
        people=[
            ["Иванов", "Нет такого", "boss", "", "", "", ""],
            ["Иванов", "Нет такого", "user", "", "", "12ab", "not-mail"],
        ],
    )
    text = await send_file(harness, files, bad)
    assert "problems; nothing was changed:" in text
    assert "Sheet «Branches»:\n• row 3: the branch «Филиал «Запад»» is in the sheet twice" in text
    assert "Sheet «People»:" in text
    assert "• row 2: no branch «Нет такого» in the file or in the bot" in text
    assert "• row 2: unknown role «boss» (the help sheet lists them)" in text
    assert "• row 3: «12ab» is not a Telegram ID (a whole number)" in text
    assert "• row 3: «not-mail» is not an e-mail address" in text
    assert text.rstrip().endswith("Fix the file and send it again.")
    assert await counts_now(sessionmaker) == before
    assert await state_of(harness, ADMIN) == OnboardingDialog.file.state  # send it again

    # wrong headers: the sheet's rows are not read
    wrong = workbook({"People": [["Фамилия", "Branch", "Role"], ["Иванов", "Юг", "user"]]})
    text = await send_file(harness, files, wrong)
    assert (
        "Sheet «People»:\n• row 1: unknown column «Фамилия»\n• row 1: no column «Full name»" in text
    )
    assert await counts_now(sessionmaker) == before


async def test_a_long_list_comes_as_a_file_too(harness, sessionmaker, org, files) -> None:
    await say(harness, ADMIN, "/onboarding")
    people = [[f"Сотрудник {n}", "Нет такого", "user", "", "", "", ""] for n in range(300)]
    text = await send_file(harness, files, upload(people=people))
    assert "The file has 300 problems" in text
    assert "the whole list is in the file below" in text
    assert len(harness.replies(ADMIN.id)[0]) < 4096
    (listing,) = documents(harness)
    assert listing.document.filename == "problems.txt"
    lines = listing.document.data.decode("utf-8").splitlines()
    assert lines[0] == "Sheet «People»:" and len(lines) == 301
    assert lines[-1] == "• row 301: no branch «Нет такого» in the file or in the bot"


async def test_files_that_cannot_be_used(harness, sessionmaker, org, files) -> None:
    await say(harness, ADMIN, "/onboarding")
    before = await counts_now(sessionmaker)
    assert "not an .xlsx workbook" in await send_file(harness, files, b"plain text", "org.csv")
    assert "at most 5 MB" in await send_file(harness, files, b"x", size=6 * 1024 * 1024)
    other = workbook({"Лист1": [["a", "b"], [1, 2]]})
    assert "none of the template's sheets" in await send_file(harness, files, other)
    assert "as a document" in await say(harness, ADMIN, "вот файл")
    assert await counts_now(sessionmaker) == before


async def test_data_changed_between_preview_and_apply_is_refused(
    harness, sessionmaker, org, files
) -> None:
    await say(harness, ADMIN, "/onboarding")
    await send_file(harness, files, GOOD)
    async with sessionmaker() as session:
        await factories.branch(session, "Филиал «Восток»")  # someone adds it meanwhile
        await session.commit()
    before = await counts_now(sessionmaker)
    apply = next(data for label, data in buttons(harness.last_reply(ADMIN.id)) if label == "Apply")
    await press(harness, ADMIN, apply)
    text = "\n".join(harness.replies(ADMIN.id))
    assert "the branch «Филиал «Восток»» already exists in the bot" in text
    assert await counts_now(sessionmaker) == before
    assert await state_of(harness, ADMIN) == OnboardingDialog.file.state


async def test_back_and_cancel(harness, sessionmaker, org, files) -> None:
    await say(harness, ADMIN, "/onboarding")
    await send_file(harness, files, GOOD)
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "Set-up from Excel" in text  # back to the upload step
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "Administration" in text
    assert await state_of(harness, ADMIN) is None
    await press(harness, ADMIN, OnboardingOpen())
    await say(harness, ADMIN, "/my")  # another command leaves the dialog and says so
    assert "Nothing was set up from the file." in harness.replies(ADMIN.id)
    assert await state_of(harness, ADMIN) is None


@pytest.mark.parametrize("who", [PLAIN, KEEPER])
async def test_below_admin_refused_and_nothing_changes(
    harness, sessionmaker, org, files, who
) -> None:
    before = await counts_now(sessionmaker)
    assert "not allowed" in await say(harness, who, "/onboarding")
    assert await state_of(harness, who) is None
    assert "not allowed" in await press(harness, who, OnboardingTemplate())
    assert documents(harness) == []
    # A forged Apply made exactly as an admin's would be: in the preview step, with the token
    # of the preview and a good file behind it. Only the role stops it.
    token = "0" * 16
    files["good"] = GOOD
    await harness.state(who.id).set_state(OnboardingDialog.preview)
    await harness.state(who.id).set_data({"token": token, "file_id": "good"})
    assert "Sorry, you are not allowed to do this." in await press(
        harness, who, OnboardingApply(token=token)
    )
    assert documents(harness) == []
    assert await counts_now(sessionmaker) == before
    # the handler never ran: the preview it would have consumed is still there
    assert await state_of(harness, who) == OnboardingDialog.preview.state
    assert (await harness.state(who.id).get_data())["token"] == token


PERSON = ["Сидоров Сидор", "Центральный офис", "user", "", "", "", ""]
MALFORMED = {
    "wrong headers": (
        workbook({"Branches": [["Title", "City"], ["Филиал", "Тверь"]]}),
        "Sheet «Branches»:\n• row 1: unknown column «Title»\n• row 1: no column «Name»",
    ),
    "unknown branch": (
        upload(people=[["Сидоров Сидор", "Филиал «Луна»", "user", "", "", "", ""]]),
        "• row 2: no branch «Филиал «Луна»» in the file or in the bot",
    ),
    "duplicate person": (
        upload(people=[PERSON, PERSON]),
        "• row 3: the same person twice",
    ),
    "bad role": (
        upload(people=[["Сидоров Сидор", "Центральный офис", "директор", "", "", "", ""]]),
        "• row 2: unknown role «директор» (the help sheet lists them)",
    ),
    "10,000 rows": (
        upload(people=[[f"Сотрудник {n}", "Центральный офис", "user"] for n in range(10_000)]),
        "Sheet «People»:\n• 10000 rows: at most 5000 per upload, please split the file",
    ),
    "not .xlsx": (b"%PDF-1.4 not a workbook", "This is not an .xlsx workbook."),
    "a Word file": (
        docx_like(),
        "This is not an .xlsx workbook.",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_template_gets_a_clear_answer_and_changes_nothing(
    harness, sessionmaker, org, files, case
) -> None:
    payload, expected = MALFORMED[case]
    await say(harness, ADMIN, "/onboarding")
    before = await counts_now(sessionmaker)
    text = await send_file(harness, files, payload)
    assert expected in text, text
    assert "Apply" not in labels(harness, ADMIN)
    assert await counts_now(sessionmaker) == before
    assert await state_of(harness, ADMIN) == OnboardingDialog.file.state


async def test_the_same_file_again_is_refused_person_by_person(
    harness, sessionmaker, org, files
) -> None:
    await say(harness, ADMIN, "/onboarding")
    await send_file(harness, files, GOOD)
    apply = next(data for label, data in buttons(harness.last_reply(ADMIN.id)) if label == "Apply")
    await press(harness, ADMIN, apply)
    before = await counts_now(sessionmaker)

    await say(harness, ADMIN, "/onboarding")
    text = await send_file(harness, files, GOOD)
    assert "the branch «Филиал «Запад»» already exists in the bot" in text
    assert "Telegram ID 555001 is already in the bot" in text
    assert "@kuznetsova is already someone's username in the bot" not in text  # not yet joined
    assert (
        "• row 3: this person already has a live invite link («Telegram username»: "
        "@kuznetsova); revoke it with /invites to make a new one"
    ) in text
    assert await counts_now(sessionmaker) == before
