"""Any list taken away as a file: CSV or XLSX, row by row, never the whole list in memory.

The rows come from the list's own service, page by page (its permission check and its scope for
platform staff apply, NIKs stay masked as the list shows them): an export is exactly what the
operator could page through, as the list shows it. Each export is audited (which list, how many
rows, which format), as a list of people leaving the office is worth knowing about.

CSV is written for spreadsheets: UTF-8 with a byte-order mark (Excel in Indonesia otherwise opens
it as Windows-1252 and mangles names), and any text cell that a spreadsheet would read as a
formula (starting with = + - @, a tab or a carriage return) is prefixed with an apostrophe, so a
hostile name in the registry cannot run anything on the office's machines.

An XLSX may carry a chart of its rows (`Chart`: the wave funnel, say), drawn by the spreadsheet
from the cells themselves, so it stays true to the rows beside it.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.actor import Actor
from store.engine import Database
from store.errors import InvalidInput
from store.operation import operation
from store.uow import UnitOfWork

FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs: numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Chart:
    """A bar chart an XLSX export draws beside its rows (a CSV has none): one group of bars per
    row, named by the `categories` column, one bar per `series` column (0-based columns)."""
    title: str
    categories: int
    series: tuple[int, ...]
    stacked: bool = False  # the series as parts of one bar (paid, sent, approved, left of a budget)


class _CsvSink:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._handle = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([safe_cell(name) for name in header])

    def write(self, rows: list[Sequence[Any]]) -> None:
        self._writer.writerows([safe_cell(cell) for cell in row] for row in rows)

    def close(self) -> None:
        self._handle.close()


class _XlsxSink:
    def __init__(self, path: Path, header: Sequence[str], title: str, chart: Chart | None = None) -> None:
        import xlsxwriter  # only when an XLSX is asked for

        # constant_memory: each row goes to disk as it is written (a million rows in a few MB).
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                                     "strings_to_urls": False})
        self._sheet = self._book.add_worksheet(title[:31] or "Mitra")
        bold = self._book.add_format({"bold": True})
        self._sheet.write_row(0, 0, list(header), bold)
        self._sheet.freeze_panes(1, 0)
        self._next = 1
        self._columns, self._chart = len(header), chart

    def write(self, rows: list[Sequence[Any]]) -> None:
        for row in rows:
            self._sheet.write_row(self._next, 0, [safe_cell(cell) for cell in row])
            self._next += 1

    def close(self) -> None:
        if self._chart is not None and self._next > 1:
            self._draw(self._chart)
        self._book.close()

    def _draw(self, spec: Chart) -> None:
        chart = self._book.add_chart({"type": "bar", **({"subtype": "stacked"} if spec.stacked else {})})
        if spec.stacked:
            chart.set_y_axis({"num_format": "#,##0"})
        name, last = self._sheet.get_name(), self._next - 1
        for column in spec.series:
            chart.add_series({
                "name": [name, 0, column],
                "categories": [name, 1, spec.categories, last, spec.categories],
                "values": [name, 1, column, last, column],
            })
        chart.set_title({"name": spec.title})
        chart.set_size({"width": 720, "height": 120 + 60 * last})
        self._sheet.insert_chart(1, self._columns + 1, chart)


Pages = Callable[[], AsyncIterator[list[Sequence[Any]]]]


class _Stopped(Exception):
    """The operator stopped the export."""


async def export_list(
    db: Database, actor: Actor, *, name: str, header: Sequence[str], pages: Pages, path: str | Path, fmt: str,
    progress: Callable[[int], None] | None = None, should_stop: Callable[[], bool] | None = None,
    chart: Chart | None = None,
) -> int:
    """Write every row `pages()` yields (lists of cells, a page at a time) to `path` as `fmt`
    (an XLSX with `chart` drawn beside them); returns the number of rows written. A stopped
    export leaves no file behind."""
    if fmt not in FORMATS:
        raise InvalidInput("export.format", field="format", value=fmt)
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise InvalidInput("export.folder_missing", field="path", value=str(target.parent))
    try:
        sink = _CsvSink(target, header) if fmt == "csv" else _XlsxSink(target, header, name, chart)
    except OSError as error:
        raise InvalidInput("export.unwritable", field="path", value=str(target), reason=error.strerror or str(error)) from None
    written = 0
    try:
        async for rows in pages():
            sink.write(rows)
            written += len(rows)
            if progress is not None:
                progress(written)
            if should_stop is not None and should_stop():
                raise _Stopped
    except BaseException as reason:
        sink.close()
        target.unlink(missing_ok=True)  # half a list is no list
        if isinstance(reason, _Stopped):
            return 0
        raise
    sink.close()
    # Audited once the file is whole, in a transaction of its own.
    await _record_export(db, actor, name, fmt, written)
    return written


@operation
async def _record_export(uow: UnitOfWork, name: str, fmt: str, written: int) -> None:
    uow.audit("list.exported", "list", name, details={"list": name, "format": fmt, "rows": written})
