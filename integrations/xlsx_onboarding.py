"""The onboarding workbook: an organisation's branches, ticket categories, people and cartridge
catalogue in one .xlsx, as a template to fill in and as an upload to read.

Four data sheets, found by their title in Russian or English (any case): «Филиалы» / Branches,
«Категории» / Categories, «Сотрудники» / People, «Каталог» / Catalogue; any other sheet (the
help sheet «Справка» / Help) is read past. On each, the first non-empty row is the header: its
cells name the columns in either language (any case and order; a trailing "*" marks a required
one in the template). A header that names no column, names one twice or leaves out a required
one is a problem of the sheet, not an exception, so every such problem can be listed at once; a
sheet without a required column yields no rows. Blank rows are skipped, and a sheet with more
than `max_rows` data rows is one problem (`too_many_rows`) whose rows are not kept: reading stops
at the first row past the limit (the workbook is streamed, read-only), so a huge file is cheap.

This module reads cell texts only; what they mean is the caller's to check. Files that cannot
be read at all raise `OnboardingFileError`. The zip is checked before openpyxl opens it (the
check of integrations.xlsx_common), so a hostile file costs bounded memory and time.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook

from integrations.xlsx_common import append_row, cell_text, check_zip, save

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000  # data rows per sheet
MAX_COLUMNS = 50
BLANK_ROWS_SCANNED = 10  # blank rows read past, per allowed data row, before giving up

BRANCHES, CATEGORIES, PEOPLE, CATALOGUE = "branches", "categories", "people", "catalogue"
SHEETS = (BRANCHES, CATEGORIES, PEOPLE, CATALOGUE)

# Problem codes of the sheet structure (see services.onboarding for their meaning).
HEADER_MISSING = "header_missing"
HEADER_UNKNOWN = "header_unknown"
HEADER_DUPLICATE = "header_duplicate"
SHEET_DUPLICATE = "sheet_duplicate"
TOO_MANY_ROWS = "too_many_rows"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    ru: str
    en: str
    required: bool = False
    width: int = 20


SHEET_TITLES = {
    BRANCHES: {"ru": "Филиалы", "en": "Branches"},
    CATEGORIES: {"ru": "Категории", "en": "Categories"},
    PEOPLE: {"ru": "Сотрудники", "en": "People"},
    CATALOGUE: {"ru": "Каталог", "en": "Catalogue"},
}
HELP_TITLES = {"ru": "Справка", "en": "Help"}

COLUMNS = {
    BRANCHES: (
        Column("name", "Название", "Name", required=True, width=30),
        Column("city", "Город", "City"),
        Column("address", "Адрес", "Address", width=40),
        Column("contact", "Контакт", "Contact", width=30),
        Column("printers", "Принтеры", "Printers", width=40),
    ),
    CATEGORIES: (
        Column("name_ru", "Название (рус.)", "Name (ru)", required=True, width=30),
        Column("name_en", "Название (англ.)", "Name (en)", width=30),
    ),
    PEOPLE: (
        Column("full_name", "ФИО", "Full name", required=True, width=30),
        Column("branch", "Филиал", "Branch", required=True, width=30),
        Column("role", "Роль", "Role", required=True, width=16),
        Column("categories", "Категории", "Categories", width=30),
        Column("username", "Имя пользователя Telegram", "Telegram username", width=24),
        Column("telegram_id", "Telegram ID", "Telegram ID", width=16),
        Column("email", "Эл. почта", "E-mail", width=30),
    ),
    CATALOGUE: (
        Column("model", "Модель", "Model", required=True, width=30),
        Column("colour", "Цвет", "Colour", width=14),
        Column("printers", "Совместимые принтеры", "Compatible printers", width=40),
        Column("threshold", "Порог остатка", "Low-stock threshold", width=18),
        Column("stock", "Начальный остаток", "Opening stock", width=18),
    ),
}

# The role codes the People sheet takes, with their names (accepted too, any case).
ROLE_NAMES = {
    "user": ("Пользователь", "User"),
    "storekeeper": ("Кладовщик", "Storekeeper"),
    "technician": ("Техник", "Technician"),
    "supervisor": ("Руководитель", "Supervisor"),
    "admin": ("Администратор", "Administrator"),
}
COLOUR_NAMES = (
    ("black", "чёрный"),
    ("cyan", "голубой"),
    ("magenta", "пурпурный"),
    ("yellow", "жёлтый"),
)

_EXAMPLES = {
    BRANCHES: ("Филиал «Север»", "Москва", "ул. Ленина, 1", "+7 900 000-00-00", "HP M404, HP M428"),
    CATEGORIES: ("Электрика", "Electrical"),
    PEOPLE: (
        "Иванов Иван",
        "Филиал «Север»",
        "technician",
        "",
        "ivanov_i",
        "",
        "ivanov@example.com",
    ),
    CATALOGUE: ("CF259A (59A)", "black", "HP M404; HP M428", "2", "10"),
}
_HELP = {
    "ru": {
        "intro": (
            "Заполните листы «Филиалы», «Категории», «Сотрудники» и «Каталог»: одна строка — "
            "один филиал, категория, сотрудник или модель картриджа. Столбцы со * обязательны.",
            "Сотрудник с Telegram ID регистрируется сразу; без него — получает ссылку-приглашение.",
            "Принтеры и категории перечисляйте через запятую, точку с запятой или с новой строки.",
        ),
        "roles": ("Роли", "Код", "Название", "Также принимается"),
        "categories": "Категории (код — название)",
        "branches": "Филиалы",
        "colours": ("Цвета", "Код", "По-русски"),
        "examples": "Примеры строк",
    },
    "en": {
        "intro": (
            "Fill in the sheets Branches, Categories, People and Catalogue: one row per branch, "
            "category, person or cartridge model. Columns marked * are required.",
            "A person with a Telegram ID is registered at once; without one, gets an invite link.",
            "Separate printers and categories by commas, semicolons or line breaks.",
        ),
        "roles": ("Roles", "Code", "Name", "Also accepted"),
        "categories": "Categories (code — name)",
        "branches": "Branches",
        "colours": ("Colours", "Code", "In Russian"),
        "examples": "Example rows",
    },
}
_INVITE_HEADERS = {
    "ru": ("ФИО", "Филиал", "Роль", "Имя пользователя Telegram", "Ссылка-приглашение"),
    "en": ("Full name", "Branch", "Role", "Telegram username", "Invite link"),
}
_INVITE_TITLES = {"ru": "Приглашения", "en": "Invites"}
_INVITE_WIDTHS = (30, 30, 16, 24, 60)


class OnboardingFileError(ValueError):
    """The file as a whole cannot be used.

    code: too_large (over MAX_FILE_BYTES, or unpacking to too much), not_xlsx (not a readable
    .xlsx workbook), no_sheets (none of the four data sheets; `details`: the titles found).
    """

    def __init__(self, code: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(code if not details else f"{code}: {', '.join(details)}")
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class Row:
    sheet: str  # one of SHEETS
    line: int  # the row number as Excel shows it
    cells: dict[str, str]  # cell text by column key ("" for an empty cell)


@dataclass(frozen=True, slots=True)
class SheetProblem:
    """A problem of a sheet's structure: `line` the header's row (None: the whole sheet),
    `column` a column key (for a missing or repeated one), `value` the cell text or count."""

    sheet: str
    line: int | None
    column: str | None
    code: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class OnboardingSheets:
    rows: dict[str, list[Row]] = field(default_factory=lambda: {key: [] for key in SHEETS})
    problems: list[SheetProblem] = field(default_factory=list)


def _key(text: str) -> str:
    """A sheet title or header as compared: spaces collapsed, no required mark, any case."""
    return " ".join(text.split()).rstrip("*").strip().casefold()


_SHEET_BY_TITLE = {_key(t): key for key, titles in SHEET_TITLES.items() for t in titles.values()}
_COLUMN_BY_HEADER = {
    sheet: {_key(name): column.key for column in columns for name in (column.ru, column.en)}
    for sheet, columns in COLUMNS.items()
}


def _language(language: str) -> str:
    return language if language in _HELP else "ru"


def role_name(code: str, language: str) -> str:
    """A role code of the People sheet as people read it in `language`: «Кладовщик»."""
    names = ROLE_NAMES.get(code)
    return names[1 if _language(language) == "en" else 0] if names else code


def header(column: Column, language: str) -> str:
    name = column.en if _language(language) == "en" else column.ru
    return f"{name} *" if column.required else name


# --- reading ----------------------------------------------------------------------------------


def parse(data: bytes, *, max_rows: int = MAX_ROWS) -> OnboardingSheets:
    """The rows and structure problems of the data sheets; raises OnboardingFileError for a
    file that cannot be used at all."""
    if len(data) > MAX_FILE_BYTES:
        raise OnboardingFileError("too_large")
    problem = check_zip(data)
    if problem is not None:
        raise OnboardingFileError(problem)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for files that are not workbooks
        raise OnboardingFileError("not_xlsx") from exc
    try:
        return _parse_workbook(workbook, max_rows)
    except OnboardingFileError:
        raise
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        raise OnboardingFileError("not_xlsx") from exc
    finally:
        workbook.close()


def _parse_workbook(workbook: Any, max_rows: int) -> OnboardingSheets:
    result = OnboardingSheets()
    found: set[str] = set()
    for sheet in workbook.worksheets:
        key = _SHEET_BY_TITLE.get(_key(sheet.title))
        if key is None:
            continue
        if key in found:
            result.problems.append(SheetProblem(key, None, None, SHEET_DUPLICATE, sheet.title))
            continue
        found.add(key)
        result.rows[key] = _read_sheet(key, sheet, max_rows, result.problems)
    if not found:
        raise OnboardingFileError("no_sheets", tuple(s.title for s in workbook.worksheets))
    return result


def _read_sheet(key: str, sheet: Any, max_rows: int, problems: list[SheetProblem]) -> list[Row]:
    columns: dict[int, str] | None = None
    header_line = 0
    rows: list[Row] = []
    scan_limit = max_rows * BLANK_ROWS_SCANNED + 100
    for line, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if line > scan_limit:
            problems.append(_too_many(key, sheet, header_line, max_rows))
            return []
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        if columns is None:
            header_line = line
            columns = _header(key, line, cells, problems)
            if columns is None:  # a required column is missing: the rows cannot be read
                return []
            continue
        if len(rows) == max_rows:
            problems.append(_too_many(key, sheet, header_line, max_rows))
            return []
        rows.append(Row(key, line, {col: cells[i] for i, col in columns.items() if i < len(cells)}))
    return rows


def _too_many(key: str, sheet: Any, header_line: int, max_rows: int) -> SheetProblem:
    """The count is the sheet's stated size when it has one (no need to read it all)."""
    stated = sheet.max_row if isinstance(sheet.max_row, int) else 0
    count = max(stated - header_line, max_rows + 1)
    return SheetProblem(key, None, None, TOO_MANY_ROWS, str(count))


def _header(
    key: str, line: int, cells: list[str], problems: list[SheetProblem]
) -> dict[int, str] | None:
    """Column index → column key; None when a required column is missing."""
    known = _COLUMN_BY_HEADER[key]
    columns: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if not cell:
            continue
        column = known.get(_key(cell))
        if column is None:
            problems.append(SheetProblem(key, line, None, HEADER_UNKNOWN, cell))
        elif column in columns.values():
            problems.append(SheetProblem(key, line, column, HEADER_DUPLICATE, cell))
        else:
            columns[index] = column
    missing = [c.key for c in COLUMNS[key] if c.required and c.key not in columns.values()]
    for column in missing:
        problems.append(SheetProblem(key, line, column, HEADER_MISSING))
    return None if missing else columns


# --- writing ----------------------------------------------------------------------------------


def _widths(sheet: Any, widths: Iterable[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def write_template(
    language: str, *, branches: list[str], categories: list[str], roles: list[tuple[str, str]]
) -> bytes:
    """The empty data sheets (headers in `language`, Russian if unknown) and a protected help
    sheet: how to fill them in, the roles (code, name as given, the names also accepted), the
    existing categories and branches as given, the colours, and one example row per sheet."""
    language = _language(language)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for key in SHEETS:
        sheet = workbook.create_sheet(SHEET_TITLES[key][language])
        append_row(sheet, (header(c, language) for c in COLUMNS[key]), bold=True)
        _widths(sheet, (c.width for c in COLUMNS[key]))
        sheet.freeze_panes = "A2"
    _write_help(workbook.create_sheet(HELP_TITLES[language]), language, branches, categories, roles)
    return save(workbook)


def _write_help(
    sheet: Any,
    language: str,
    branches: list[str],
    categories: list[str],
    roles: list[tuple[str, str]],
) -> None:
    text = _HELP[language]
    for line in text["intro"]:
        append_row(sheet, [line])
    title, *columns = text["roles"]
    append_row(sheet, [])
    append_row(sheet, [title], bold=True)
    append_row(sheet, columns, bold=True)
    for code, name in roles:
        append_row(sheet, [code, name, " / ".join(ROLE_NAMES.get(code, ()))])
    for heading, names in ((text["categories"], categories), (text["branches"], branches)):
        append_row(sheet, [])
        append_row(sheet, [heading], bold=True)
        for name in names:
            append_row(sheet, [name])
    title, *columns = text["colours"]
    append_row(sheet, [])
    append_row(sheet, [title], bold=True)
    append_row(sheet, columns, bold=True)
    for code, russian in COLOUR_NAMES:
        append_row(sheet, [code, russian])
    append_row(sheet, [])
    append_row(sheet, [text["examples"]], bold=True)
    for key in SHEETS:
        append_row(sheet, [SHEET_TITLES[key][language]], bold=True)
        append_row(sheet, (header(c, language) for c in COLUMNS[key]))
        append_row(sheet, _EXAMPLES[key])
    _widths(sheet, (40, 30, 40, 24, 24, 16, 30))
    sheet.protection.sheet = True


def write_invites(language: str, rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """One sheet for sending out invites: full name, branch, role, Telegram username, link."""
    language = _language(language)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _INVITE_TITLES[language]
    append_row(sheet, _INVITE_HEADERS[language], bold=True)
    for row in rows:
        append_row(sheet, row)
    _widths(sheet, _INVITE_WIDTHS)
    sheet.freeze_panes = "A2"
    return save(workbook)
