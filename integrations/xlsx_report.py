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

from collections.abc import Iterable, Sequence
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
        # Only text and date columns need converting; numbers go to openpyxl as they are.
        self._texts = tuple(i for i, column in enumerate(self.columns) if column.kind == TEXT)
        self._dates = tuple(
            (i, self._date_cell())
            for i, column in enumerate(self.columns)
            if column.kind == DATETIME
        )

    def append(self, rows: Iterable[Sequence[Any]], *, bold: bool = False) -> None:
        """Write rows, one value per column (None or "" leaves the cell empty)."""
        sheet, texts, dates, width, text = (
            self._sheet, self._texts, self._dates, len(self.columns), self._text
        )  # fmt: skip
        for row in rows:
            cells = list(row)
            if len(cells) != width:
                raise ValueError(f"{len(cells)} values for {width} columns")
            for i in texts:
                value = cells[i]
                if not value:
                    cells[i] = None
                # Printable text holds no character Excel refuses (all of them are controls).
                elif not value.isprintable() or value[0] == "=" or len(value) > MAX_CELL_CHARS:
                    cells[i] = text(value)
            for i, cell in dates:
                value = cells[i]
                if value is not None:
                    # Refill the column's date cell (the sheet writes each row out as soon as it
                    # is appended). Its type and number format were set when it was made; only
                    # the value changes (openpyxl's setter would check the format every time).
                    cell._value = value
                    cells[i] = cell
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

    def _date_cell(self) -> Cell:
        """A date cell shown as DATETIME_FORMAT, refilled for every row of its column."""
        cell = WriteOnlyCell(self._sheet, datetime(2000, 1, 1))  # a date: data type "d"
        cell.number_format = DATETIME_FORMAT
        return cell

    def _text(self, value: str) -> str | Cell:
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
        if value.startswith("="):  # openpyxl would store it as a formula
            cell = WriteOnlyCell(self._sheet, value)
            cell.data_type = "s"
            return cell
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
