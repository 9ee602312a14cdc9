"""What the .xlsx readers and writers share: the zip check of an upload before openpyxl opens
it, a cell read as text, and a row written as text.

A hostile upload costs bounded memory and time: `check_zip` refuses what is no workbook or
unpacks to more than `MAX_UNPACKED_BYTES` before any XML is parsed. Written text is stored as
written (a value starting with "=" is no formula) and without the control characters the
format cannot hold (a name holding one would otherwise make the whole file fail to save).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

MAX_UNPACKED_BYTES = 16 * 1024 * 1024  # a full 5,000-row sheet unpacks to about 1 MB
_BOLD = Font(bold=True)


def check_zip(data: bytes) -> str | None:
    """Why the upload cannot be a workbook worth opening ("not_xlsx", "too_large"), or None."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "not_xlsx"
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names and not any(n.endswith("/workbook.xml") for n in names):
        return "not_xlsx"
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        return "too_large"
    return None


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: 12.0 is "12", a date is ISO, None is ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).strip()


def append_row(sheet: Any, values: Iterable[Any], *, bold: bool = False) -> None:
    """A row; its text cells as written, without the characters .xlsx cannot hold."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
        if bold:
            cell.font = _BOLD


def save(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
