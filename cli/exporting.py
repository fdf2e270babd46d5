"""``--format`` and ``--out`` for the supervisors' read commands: a table (the default), JSON, or a spreadsheet
(xlsx or csv, ``whistle.spreadsheet``) written to ``--out FILE``.

Without ``--out`` a spreadsheet goes to stdout as bytes, so ``whistle report --format xlsx > 排名.xlsx`` works in a
pipe, but never to a terminal, where binary would garble the screen: there the command refuses and asks for --out.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import TypeAdapter

from whistle.exports import Sheet
from whistle.spreadsheet import render

OutputFormat = Literal["table", "json", "xlsx", "csv"]
FORMATS: TypeAdapter[OutputFormat] = TypeAdapter(OutputFormat)

FormatOption = Annotated[
    str | None, typer.Option("--format", help="table, json, xlsx or csv (xlsx/csv: to --out FILE or a pipe).")
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write the xlsx or csv export to this file.")]


def chosen_format(fmt: str | None, as_json: bool) -> OutputFormat:
    """``--format`` wins; ``--json`` alone still means json. Both, disagreeing: refused (a ValidationError)."""
    if fmt is None:
        return "json" if as_json else "table"
    chosen = FORMATS.validate_python(fmt)
    if as_json and chosen != "json":
        FORMATS.validate_python(f"--json with --format {fmt}")
    return chosen


def emit(sheets: list[Sheet], fmt: Literal["xlsx", "csv"], out: Path | None) -> None:
    """The spreadsheet to ``out`` (naming the file on stderr) or to stdout when it is not a terminal."""
    data = render(sheets, fmt)
    if out is not None:
        out.write_bytes(data)
        typer.echo(f"已导出 {out}（{len(sheets)} 个表）", err=True)
        return
    if sys.stdout.isatty():
        typer.echo(f"invalid: out: a {fmt} file is binary; give --out FILE or redirect stdout", err=True)
        raise typer.Exit(2)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
