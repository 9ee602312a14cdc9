"""Reading stock quantities from real .xlsx files built in memory with openpyxl."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from openpyxl import Workbook

from integrations import xlsx_stock
from integrations.xlsx_stock import RowProblem, StockRow, XlsxStockError, parse


def xlsx(*rows: list, extra_sheet: bool = False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if extra_sheet:
        sheet.title = "Остатки"
        workbook.create_sheet("Other").append(["something", "else"])
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_english_headers_and_rows() -> None:
    sheet = parse(xlsx(["model", "quantity"], ["CE285A (85A)", 12], ["Cartridge 737", 0]))
    assert sheet.rows == [StockRow(2, "CE285A (85A)", 12), StockRow(3, "Cartridge 737", 0)]
    assert sheet.problems == []


def test_russian_headers_any_order_and_case() -> None:
    data = xlsx(
        ["Количество", "Комментарий", "МОДЕЛЬ"], [5, "склад", "CF283A (83A)"], ["7", "", "TK-1170"]
    )
    sheet = parse(data)
    assert sheet.rows == [StockRow(2, "CF283A (83A)", 5), StockRow(3, "TK-1170", 7)]
    assert sheet.problems == [RowProblem(1, "unknown_header", "Комментарий")]


def test_only_the_first_sheet_is_read() -> None:
    sheet = parse(xlsx(["модель", "количество"], ["A", 1], extra_sheet=True))
    assert sheet.rows == [StockRow(2, "A", 1)]


def test_bad_rows_become_problems_and_the_rest_is_kept() -> None:
    data = xlsx(
        ["model", "quantity"],
        ["A", 3],
        [None, 4],
        ["B", "many"],
        ["C", 1.5],
        ["D", -2],
        ["E", 100_001],
        ["a", 9],  # the same model as row 2, in another case
        [],  # empty rows are skipped, numbering follows the sheet
        ["F", 2.0],
        [285, " 6 "],
        ["G", None],
        ["H", True],
    )
    sheet = parse(data)
    assert sheet.rows == [StockRow(2, "A", 3), StockRow(10, "F", 2), StockRow(11, "285", 6)]
    assert sheet.problems == [
        RowProblem(3, "empty_model", "4"),
        RowProblem(4, "bad_quantity", "many"),
        RowProblem(5, "bad_quantity", "1.5"),
        RowProblem(6, "negative_quantity", "-2"),
        RowProblem(7, "quantity_too_large", "100001"),
        RowProblem(8, "duplicate_model", "a"),
        RowProblem(12, "bad_quantity", ""),
        RowProblem(13, "bad_quantity", "True"),
    ]


def test_header_only_gives_no_rows() -> None:
    assert parse(xlsx(["model", "quantity"])).rows == []


@pytest.mark.parametrize(
    ("header", "missing"),
    [(["model", "qty"], ("quantity",)), (["name", "count"], ("model", "quantity"))],
)
def test_missing_columns_are_named(header: list[str], missing: tuple[str, ...]) -> None:
    with pytest.raises(XlsxStockError) as caught:
        parse(xlsx(header, ["A", 1]))
    assert caught.value.code == "no_columns"
    assert caught.value.missing == missing


def test_an_empty_sheet_has_no_columns() -> None:
    with pytest.raises(XlsxStockError) as caught:
        parse(xlsx())
    assert caught.value.code == "no_columns"


@pytest.mark.parametrize(
    "data",
    [
        b"model,quantity\nA,1\n",  # a CSV named .xlsx
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,  # an old .xls (OLE) header
        b"",
    ],
)
def test_not_an_xlsx_is_refused(data: bytes) -> None:
    with pytest.raises(XlsxStockError) as caught:
        parse(data)
    assert caught.value.code == "not_xlsx"


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(XlsxStockError) as caught:
        parse(buffer.getvalue())
    assert caught.value.code == "not_xlsx"


def test_a_broken_workbook_is_refused() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really xml")
    with pytest.raises(XlsxStockError) as caught:
        parse(buffer.getvalue())
    assert caught.value.code == "not_xlsx"


def test_too_large_a_file_is_refused_before_reading() -> None:
    with pytest.raises(XlsxStockError) as caught:
        parse(b"\0" * (xlsx_stock.MAX_FILE_BYTES + 1))
    assert caught.value.code == "too_large"


def test_too_many_rows_are_refused() -> None:
    rows = [[f"M{i}", i] for i in range(xlsx_stock.MAX_ROWS + 1)]
    with pytest.raises(XlsxStockError) as caught:
        parse(xlsx(["model", "quantity"], *rows))
    assert caught.value.code == "too_many_rows"
    ok = parse(xlsx(["model", "quantity"], *rows[:-1]))
    assert len(ok.rows) == xlsx_stock.MAX_ROWS


def test_a_colour_column_is_read_past_in_silence() -> None:
    for header in (["модель", "цвет", "количество"], ["Model", "Color", "Quantity"]):
        sheet = parse(xlsx(header, ["CE285A (85A)", "чёрный", 12]))
        assert sheet.rows == [StockRow(2, "CE285A (85A)", 12)]
        assert sheet.problems == []


def with_padding(data: bytes, size: int) -> bytes:
    """The workbook plus an entry that unpacks to `size` bytes (deflates to a few KB)."""
    packed = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as source:
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info, source.read(info))
            target.writestr("xl/padding.xml", b" " * size)
    return packed.getvalue()


def test_a_small_file_that_unpacks_huge_is_refused_before_openpyxl_reads_it() -> None:
    """17 MB unpacked from a few KB on the wire: 99 MB of shared strings once took 31 s and
    590 MB to read while the bot answered nobody; a real stock sheet is far smaller."""
    data = with_padding(xlsx(["model", "quantity"], ["CE285A", 3]), 17 * 1024 * 1024)
    assert len(data) < 100 * 1024
    with pytest.raises(XlsxStockError) as refused:
        parse(data)
    assert refused.value.code == "too_large"


def test_the_largest_sheet_allowed_is_not_refused_as_too_large() -> None:
    rows = [[f"MODEL-{n:05d} (alias {n})", n % 100] for n in range(xlsx_stock.MAX_ROWS)]
    sheet = parse(xlsx(["model", "quantity"], *rows))
    assert len(sheet.rows) == xlsx_stock.MAX_ROWS


def test_the_template_drops_control_characters_and_keeps_text_as_text() -> None:
    data = xlsx_stock.write_template("en", [("=CE285A\x07", "black", 3)])
    assert parse(data).rows == [StockRow(2, "=CE285A", 3)]
