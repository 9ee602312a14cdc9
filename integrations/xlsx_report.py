"""Streaming Excel workbooks of plain tables (openpyxl write-only mode) with a bar chart.

Each table is a sheet: a bold, frozen header row, rows appended in batches (each sheet streams
to its own temporary file, so memory does not grow with the rows), an autofilter over the
whole table and fixed column widths. Cell values are plain Python: text, numbers, and naive
datetimes, which become real Excel dates shown as DD.MM.YYYY HH:MM. Text is stored as text,
whatever it starts with ("=1+1" is not a formula); characters Excel cannot hold in a cell
(control characters) are dropped, and text beyond MAX_CELL_CHARS is cut (callers that want to
say so cut it first, with a note).

One thread at a time may use a workbook; the caller may hand batches to worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
TEXT, NUMBER, DATETIME = "text", "number", "datetime"

_BOLD = Font(bold=True)


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: float = 12
    kind: str = TEXT  # TEXT, NUMBER or DATETIME


class Table:
    """One sheet holding one table; create it through `ReportBook.table`."""

    def __init__(self, sheet: Any, columns: Sequence[Column]) -> None:
        self._sheet = sheet
        self.columns = tuple(columns)
        self.rows = 0  # data rows, the header not counted
        for index, column in enumerate(self.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"  # must be set before the first row is written
        sheet.append([self._bold(column.title) for column in self.columns])
        self._convert = [self._converter(column.kind) for column in self.columns]

    def append(self, rows: Iterable[Sequence[Any]], *, bold: bool = False) -> None:
        """Write rows, one value per column (None or "" leaves the cell empty)."""
        sheet, convert = self._sheet, self._convert
        for row in rows:
            cells = [to_cell(value) for to_cell, value in zip(convert, row, strict=True)]
            if bold:
                cells = [self._bold(cell) if cell is not None else None for cell in cells]
            sheet.append(cells)
            self.rows += 1

    def finish(self) -> None:
        last = get_column_letter(len(self.columns))
        self._sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"

    def _bold(self, value: Any) -> Cell:
        """A new bold cell (converted cells may be shared between rows)."""
        cell = WriteOnlyCell(self._sheet, value.value if isinstance(value, Cell) else value)
        if isinstance(value, Cell):
            cell.number_format, cell.data_type = value.number_format, value.data_type
        cell.font = _BOLD
        return cell

    def _converter(self, kind: str) -> Callable[[Any], Any]:
        if kind == DATETIME:
            # One styled cell per column, refilled for every row: the sheet writes each row
            # out as soon as it is appended.
            cell = WriteOnlyCell(self._sheet)
            cell.number_format = DATETIME_FORMAT

            def to_datetime(value: datetime | None) -> Cell | None:
                if value is None:
                    return None
                cell.value = value
                return cell

            return to_datetime
        if kind == TEXT:
            return self._text
        return _number

    def _text(self, value: str | None) -> str | Cell | None:
        if not value:
            return None
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
        if value.startswith("="):  # openpyxl would store it as a formula
            cell = WriteOnlyCell(self._sheet, value)
            cell.data_type = "s"
            return cell
        return value


def _number(value: Any) -> Any:
    return value


class ReportBook:
    """A write-only workbook: add tables (sheets in order), append rows, add a chart, save."""

    def __init__(self) -> None:
        self._book = Workbook(write_only=True)
        self._tables: list[Table] = []

    def table(self, title: str, columns: Sequence[Column]) -> Table:
        table = Table(self._book.create_sheet(title), columns)
        self._tables.append(table)
        return table

    def bar_chart(self, table: Table, title: str, y_title: str = "") -> bool:
        """A clustered bar chart of `table`: the first column names the categories, every other
        column is a series titled by its header. Nothing is added to a table without rows."""
        if table.rows == 0 or len(table.columns) < 2:
            return False
        sheet = table._sheet
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "clustered"
        chart.title = title
        chart.y_axis.title = y_title
        chart.x_axis.title = table.columns[0].title
        chart.x_axis.delete = chart.y_axis.delete = False  # else newer Excel hides the axes
        data = Reference(
            sheet, min_col=2, max_col=len(table.columns), min_row=1, max_row=table.rows + 1
        )
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=table.rows + 1))
        chart.width = min(60.0, max(16.0, 2.0 * table.rows))
        chart.height = 10.0
        sheet.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}2")
        return True

    def save(self, path: Path) -> None:
        for table in self._tables:
            table.finish()
        self._book.save(path)

    def discard(self) -> None:
        """Remove the temporary files of a workbook that will not be saved."""
        for sheet in self._book.worksheets:
            writer = sheet._writer
            if writer is None or sheet.closed:
                continue
            if sheet._rows is not None:
                sheet._rows.close()
            writer.close()
            writer.cleanup()
