"""Write ``whistle.exports`` sheets as an Excel workbook (openpyxl: one sheet per table, the header row bold and
frozen, rates as percents, columns wide enough for Chinese) or as CSV (UTF-8 with a byte-order mark, so Excel
opens the Chinese headers correctly; several tables follow one another, each under its title line).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from whistle.exports import Cell, Sheet

ExportFormat = Literal["xlsx", "csv"]

MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

_INVALID_TITLE = str.maketrans({ch: "_" for ch in "[]:*?/\\"})


def _width(value: Cell) -> int:
    """Display width: a CJK character takes two columns."""
    text = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value or "")
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def to_xlsx(sheets: list[Sheet]) -> bytes:
    """One worksheet per table."""
    book = Workbook()
    book.remove(book.worksheets[0])
    bold = Font(bold=True)
    for sheet in sheets:
        page = book.create_sheet(sheet.title.translate(_INVALID_TITLE)[:31])
        page.append(sheet.headers)
        for cell in page[1]:
            cell.font = bold
        page.freeze_panes = "A2"
        for row in sheet.rows:
            page.append(row)
        for index, header in enumerate(sheet.headers, start=1):
            letter = get_column_letter(index)
            cells = [row[index - 1] for row in sheet.rows]
            if header in sheet.percent_columns:
                for (cell,) in page.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "0.0%"
            elif any(isinstance(value, datetime) for value in cells):
                for (cell,) in page.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
            page.column_dimensions[letter].width = min(60, max(_width(v) for v in [header, *cells]) + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_cell(value: Cell, percent: bool) -> str:
    if value is None:
        return ""
    if percent and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def to_csv(sheets: list[Sheet]) -> bytes:
    """One table: headers then rows. Several: each under a line with its title, a blank line between."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if number:
                writer.writerow([])
            writer.writerow([sheet.title])
        writer.writerow(sheet.headers)
        percent = [header in sheet.percent_columns for header in sheet.headers]
        for row in sheet.rows:
            writer.writerow([_csv_cell(value, flag) for value, flag in zip(row, percent, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render(sheets: list[Sheet], fmt: ExportFormat) -> bytes:
    return to_xlsx(sheets) if fmt == "xlsx" else to_csv(sheets)
