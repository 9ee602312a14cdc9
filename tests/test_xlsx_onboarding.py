"""The onboarding workbook (no database): the template, reading an upload, the invites file."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from integrations.xlsx_onboarding import (
    OnboardingFileError,
    SheetProblem,
    parse,
    write_invites,
    write_template,
)


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """An .xlsx with one sheet per title, the rows as given."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROLES = [("user", "Пользователь"), ("technician", "Техник")]


def test_the_template_reads_back_once_filled_in() -> None:
    data = write_template("ru", branches=["Филиал «Юг»"], categories=["it — ИТ / IT"], roles=ROLES)
    book = load_workbook(BytesIO(data))
    assert book.sheetnames == ["Филиалы", "Категории", "Сотрудники", "Каталог", "Справка"]
    assert [c.value for c in book["Сотрудники"][1]] == [
        "ФИО *",
        "Филиал *",
        "Роль *",
        "Категории",
        "Имя пользователя Telegram",
        "Telegram ID",
        "Эл. почта",
    ]
    assert all(book[t].max_row == 1 for t in book.sheetnames[:4])  # no example rows to re-upload
    help_sheet = book["Справка"]
    assert help_sheet.protection.sheet
    texts = {c.value for row in help_sheet.iter_rows() for c in row if c.value}
    assert {"technician", "Техник", "Филиал «Юг»", "it — ИТ / IT", "magenta"} <= texts
    book["Филиалы"].append(["Филиал «Запад»", "Калининград", "", "", "HP M404\nHP M428"])
    book["Категории"].append(["Электрика", "Electrical"])
    book["Сотрудники"].append(["Иванов Иван", "Филиал «Запад»", "техник", "", "", 123456789, ""])
    book["Каталог"].append(["CF259A", "чёрный", "HP M404", 2, 10])
    buffer = BytesIO()
    book.save(buffer)
    sheets = parse(buffer.getvalue())
    assert sheets.problems == []
    [branch] = sheets.rows["branches"]
    assert (branch.sheet, branch.line) == ("branches", 2)
    assert branch.cells["printers"] == "HP M404\nHP M428"
    [person] = sheets.rows["people"]
    assert person.cells["telegram_id"] == "123456789" and person.cells["role"] == "техник"
    [model] = sheets.rows["catalogue"]
    assert (model.cells["threshold"], model.cells["stock"]) == ("2", "10")
    assert sheets.rows["categories"][0].cells == {"name_ru": "Электрика", "name_en": "Electrical"}


def test_the_english_template_has_english_titles_and_headers() -> None:
    book = load_workbook(BytesIO(write_template("en", branches=[], categories=[], roles=ROLES)))
    assert book.sheetnames == ["Branches", "Categories", "People", "Catalogue", "Help"]
    assert [c.value for c in book["Catalogue"][1]] == [
        "Model *",
        "Colour",
        "Compatible printers",
        "Low-stock threshold",
        "Opening stock",
    ]


def test_headers_of_either_language_in_any_case_and_order() -> None:
    data = workbook(
        {
            " BRANCHES ": [[], ["printers", " НАЗВАНИЕ * ", "city"], [], ["HP", "Север", "СПб"]],
            "сотрудники": [["Role", "ФИО", "branch"], ["user", "Петров Пётр", "Север"]],
        }
    )
    sheets = parse(data)
    assert sheets.problems == []
    [branch] = sheets.rows["branches"]
    assert branch.line == 4  # blank rows are skipped, the number is Excel's
    assert branch.cells == {"printers": "HP", "name": "Север", "city": "СПб"}
    assert sheets.rows["people"][0].cells["full_name"] == "Петров Пётр"
    assert sheets.rows["catalogue"] == []


def test_wrong_headers_are_all_listed() -> None:
    data = workbook(
        {
            "People": [
                ["Full name", "Branch", "Роль", "Phone", "E-mail", "Эл. почта"],
                ["Петров Пётр", "Север", "user", "+7", "a@b.ru", "c@d.ru"],
            ],
            "Catalogue": [["Colour", "Stock"], ["black", 5]],
        }
    )
    sheets = parse(data)
    assert sheets.problems == [
        SheetProblem("people", 1, None, "header_unknown", "Phone"),
        SheetProblem("people", 1, "email", "header_duplicate", "Эл. почта"),
        SheetProblem("catalogue", 1, None, "header_unknown", "Stock"),
        SheetProblem("catalogue", 1, "model", "header_missing"),
    ]
    assert sheets.rows["people"][0].cells["email"] == "a@b.ru"  # the first one is read
    assert sheets.rows["catalogue"] == []  # no model column: its rows cannot be read


def test_a_sheet_twice_is_a_problem() -> None:
    data = workbook({"Branches": [["Name"], ["А"]], "Филиалы": [["Название"], ["Б"]]})
    sheets = parse(data)
    assert sheets.problems == [SheetProblem("branches", None, None, "sheet_duplicate", "Филиалы")]
    assert [r.cells["name"] for r in sheets.rows["branches"]] == ["А"]


def test_too_many_rows_is_one_problem_and_stops_reading() -> None:
    rows = [["Full name", "Branch", "Role"]] + [
        [f"Человек {i}", "Север", "user"] for i in range(10_000)
    ]
    sheets = parse(workbook({"People": rows}))
    assert sheets.problems == [SheetProblem("people", None, None, "too_many_rows", "10000")]
    assert sheets.rows["people"] == []
    small = parse(workbook({"People": rows[:5]}), max_rows=3)
    assert small.problems == [SheetProblem("people", None, None, "too_many_rows", "4")]
    assert len(parse(workbook({"People": rows[:4]}), max_rows=3).rows["people"]) == 3


def docx_like() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_xlsx"),
        (bytes(range(256)) * 40, "not_xlsx"),
        (docx_like(), "not_xlsx"),
        (b"x" * (5 * 1024 * 1024 + 1), "too_large"),
    ],
    ids=["empty", "random", "docx", "too large"],
)
def test_files_that_are_not_a_workbook_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(OnboardingFileError) as caught:
        parse(data)
    assert caught.value.code == code


def test_a_zip_bomb_is_refused_before_opening() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (20 * 1024 * 1024))
    with pytest.raises(OnboardingFileError) as caught:
        parse(buffer.getvalue())
    assert caught.value.code == "too_large"


def test_a_workbook_without_any_known_sheet_is_refused() -> None:
    with pytest.raises(OnboardingFileError) as caught:
        parse(workbook({"Лист1": [["Name"], ["Север"]]}))
    assert (caught.value.code, caught.value.details) == ("no_sheets", ("Лист1",))


def test_the_invites_file_keeps_text_as_text() -> None:
    link = "https://t.me/helpdesk_bot?start=abc"
    data = write_invites("en", [("=HYPERLINK(1)", "Север", "Technician", "@ivanov", link)])
    sheet = load_workbook(BytesIO(data)).active
    assert sheet.title == "Invites"
    assert [c.value for c in sheet[1]] == [
        "Full name",
        "Branch",
        "Role",
        "Telegram username",
        "Invite link",
    ]
    assert [c.value for c in sheet[2]] == ["=HYPERLINK(1)", "Север", "Technician", "@ivanov", link]
    assert sheet["A2"].data_type == "s"


def test_names_with_control_characters_do_not_break_the_files() -> None:
    """A branch or category name typed with a control character (pasted from elsewhere) is
    written without it; before, openpyxl refused the whole workbook."""
    data = write_template(
        "ru", branches=["Филиал\x07 «Юг»"], categories=["it\x1b — ИТ"], roles=ROLES
    )
    cells = [c for row in load_workbook(BytesIO(data))["Справка"].values for c in row if c]
    assert "Филиал «Юг»" in cells and "it — ИТ" in cells
    invites = write_invites("ru", [("Иванов\x00 Иван", "Юг", "Техник", "", "https://t.me/x")])
    assert list(load_workbook(BytesIO(invites)).active.values)[1][0] == "Иванов Иван"
