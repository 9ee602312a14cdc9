"""Stock quantities from an .xlsx file: the first sheet, a header row, then one row per model.

Columns are found by their header (any order, any case): "model" or «модель», and "quantity"
or «количество». A "colour" («цвет») column is read past in silence (the template has one);
other columns are reported once and ignored. Every data row either becomes a
`StockRow` or a `RowProblem` (empty model, quantity not a whole number, negative or too large,
model repeated: the first occurrence wins); fully empty rows are skipped. Files that cannot be
read at all raise `XlsxStockError` with a code the caller turns into a message.

openpyxl's read-only mode streams the sheet, and the zip is checked before openpyxl opens it
(size, entries, decompressed size), so a hostile file costs bounded memory and time.

`write_template` makes the file this reader takes back: the header row in the user's language,
then one row per model (model, colour, quantity).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook

from integrations.xlsx_common import append_row, cell_text, check_zip, save

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_QUANTITY = 100_000
# Bounds on what the zip may expand to and on what the sheet may make us scan.
MAX_SCANNED_ROWS = 50_000
MAX_COLUMNS = 50

MODEL_HEADERS = frozenset({"model", "модель"})
QUANTITY_HEADERS = frozenset({"quantity", "количество"})
IGNORED_HEADERS = frozenset({"colour", "color", "цвет"})
# The template's header row per language: names the reader knows (model, colour, quantity).
TEMPLATE_HEADERS = {
    "ru": ("модель", "цвет", "количество"),
    "en": ("model", "colour", "quantity"),
}
TEMPLATE_WIDTHS = (40, 16, 12)  # column widths, in characters

_INTEGER = re.compile(r"[+-]?\d{1,15}", re.ASCII)


class XlsxStockError(ValueError):
    """The file as a whole cannot be used.

    code: too_large (file over MAX_FILE_BYTES), not_xlsx (not a readable .xlsx workbook),
    too_many_rows (more than MAX_ROWS data rows), no_columns (no "model" or "quantity" header;
    `missing` names which).
    """

    def __init__(self, code: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(code if not missing else f"{code}: {', '.join(missing)}")
        self.code = code
        self.missing = missing


@dataclass(frozen=True, slots=True)
class StockRow:
    line: int  # the sheet's row number, as Excel shows it
    model: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RowProblem:
    """code: unknown_header, empty_model, bad_quantity, negative_quantity, quantity_too_large,
    duplicate_model, and from the catalogue match (services.model_match) ambiguous_model;
    `value` is the offending cell as text (the model for duplicates and ambiguous ones);
    `candidates`: the models an ambiguous one fits."""

    line: int
    code: str
    value: str = ""
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StockSheet:
    rows: list[StockRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def parse(data: bytes, *, max_quantity: int = MAX_QUANTITY) -> StockSheet:
    """Rows and per-row problems of the first sheet; raises XlsxStockError for unusable files."""
    if len(data) > MAX_FILE_BYTES:
        raise XlsxStockError("too_large")
    problem = check_zip(data)
    if problem is not None:
        raise XlsxStockError(problem)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for files that are not workbooks
        raise XlsxStockError("not_xlsx") from exc
    try:
        return _parse_sheet(workbook.worksheets[0], max_quantity)
    except XlsxStockError:
        raise
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        raise XlsxStockError("not_xlsx") from exc
    finally:
        workbook.close()


def _quantity(value: Any) -> int | None:
    """A whole number, or None if the cell holds anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _parse_sheet(sheet: Any, max_quantity: int) -> StockSheet:
    rows: list[StockRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    model_col = quantity_col = None
    header_found = False
    data_rows = 0
    for line, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if line > MAX_SCANNED_ROWS:
            raise XlsxStockError("too_many_rows")
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        if not header_found:
            header_found = True
            model_col, quantity_col = _header(cells, line, problems)
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:
            raise XlsxStockError("too_many_rows")
        model = cells[model_col] if model_col < len(cells) else ""
        raw = values[quantity_col] if quantity_col < len(values) else None
        if not model:
            problems.append(RowProblem(line, "empty_model", cell_text(raw)))
            continue
        quantity = _quantity(raw)
        if quantity is None:
            problems.append(RowProblem(line, "bad_quantity", cell_text(raw)))
        elif quantity < 0:
            problems.append(RowProblem(line, "negative_quantity", str(quantity)))
        elif quantity > max_quantity:
            problems.append(RowProblem(line, "quantity_too_large", str(quantity)))
        elif model.casefold() in seen:
            problems.append(RowProblem(line, "duplicate_model", model))
        else:
            seen[model.casefold()] = line
            rows.append(StockRow(line, model, quantity))
    if not header_found:
        raise XlsxStockError("no_columns", ("model", "quantity"))
    return StockSheet(rows, problems)


def _header(cells: list[str], line: int, problems: list[RowProblem]) -> tuple[int, int]:
    model_col = quantity_col = None
    for index, cell in enumerate(cells):
        name = cell.casefold()
        if not name:
            continue
        if name in MODEL_HEADERS and model_col is None:
            model_col = index
        elif name in QUANTITY_HEADERS and quantity_col is None:
            quantity_col = index
        elif name in IGNORED_HEADERS:
            continue
        else:
            problems.append(RowProblem(line, "unknown_header", cell))
    missing = tuple(
        name for name, col in (("model", model_col), ("quantity", quantity_col)) if col is None
    )
    if missing:
        raise XlsxStockError("no_columns", missing)
    return model_col, quantity_col


def write_template(language: str, rows: list[tuple[str, str, int]]) -> bytes:
    """An .xlsx that `parse` reads back: the header row (TEMPLATE_HEADERS of the language,
    Russian if unknown), then (model, colour, quantity) per row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "stock"
    append_row(sheet, TEMPLATE_HEADERS.get(language, TEMPLATE_HEADERS["ru"]))
    for row in rows:
        append_row(sheet, row)
    for letter, width in zip("ABC", TEMPLATE_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    return save(workbook)
