"""Reading operator-supplied CSV files, the same way for every import.

- UTF-8 with or without a byte-order mark; comma or semicolon delimited (sniffed from the header).
- The header must hold the required columns (extra columns are an error too, to catch files
  meant for another import); a wrong header refuses the whole file before any row is read.
- Rows come with their line number in the file, so every rejection can say "line 12, column nik:
  ...". Rejections are collected in an ImportReport, which can also be written as an error CSV.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from store.errors import InvalidInput, MitraError


# Columns an errors file adds beside the rejected rows' own: an import ignores them, so the
# errors file, once its rows are fixed, is imported as it is.
ERROR_COLUMNS = ("error_line", "error_reason")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    key: str  # message key of the reason (an error key of store/errors)
    params: dict[str, Any] = field(default_factory=dict)
    row: dict[str, str] | None = field(default=None, compare=False)  # the row as it was in the file

    @classmethod
    def from_error(cls, line: int, error: MitraError, column: str | None = None,
                   row: dict[str, str] | None = None) -> RowError:
        return cls(line, column or str(error.params.get("field", "")), error.key, dict(error.params), row)


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    _current: tuple[int, dict[str, str]] | None = field(default=None, repr=False, compare=False)

    @property
    def rejected(self) -> int:
        return len({error.line for error in self.errors})

    def reading(self, line: int, row: dict[str, str]) -> None:
        """The row being checked now (`rows(..., report=)` says it): a rejection of this line
        keeps it, for the errors file."""
        self._current = (line, row)

    def reject(self, line: int, error: MitraError, column: str | None = None,
               row: dict[str, str] | None = None) -> None:
        if row is None and self._current is not None and self._current[0] == line:
            row = self._current[1]
        if row is not None and any(name.startswith("__") for name in row):
            row = None  # a row that could not be read into its columns
        self.errors.append(RowError.from_error(line, error, column, row))

    @property
    def exit_status(self) -> int:
        """0 when every row was imported, 2 when rows were rejected. (A file that cannot be read
        at all, a wrong header for instance, raises instead: the command exits 1.)"""
        return 2 if self.rejected else 0


def decode(data: bytes) -> str:
    """UTF-8 text, without a byte-order mark; refuses other encodings with a clear error."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("input.csv.encoding", field="file", position=error.start) from None


def read_text(path: str | Path) -> str:
    try:
        return decode(Path(path).read_bytes())
    except OSError as error:
        raise InvalidInput("input.csv.unreadable", field="file", path=str(path), reason=error.strerror or str(error)) from None


def open_text(path: str | Path) -> tuple[TextIO, int]:
    """A large file as a text stream (UTF-8, byte-order mark dropped) and its number of lines.

    The whole file is checked to be UTF-8 first, in chunks (about 0.1 s for 100 MB), so a bad
    byte refuses the file before any row is imported; the line count lets imports show progress.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, offset = 0, 0
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    raise InvalidInput("input.csv.encoding", field="file", position=offset + error.start) from None
                lines += chunk.count(b"\n")
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InvalidInput("input.csv.encoding", field="file", position=offset) from None
        return Path(path).open(encoding="utf-8-sig", newline=""), lines
    except OSError as error:
        raise InvalidInput("input.csv.unreadable", field="file", path=str(path), reason=error.strerror or str(error)) from None


# No field of any file Mitra reads is longer (addresses, names, reasons); NUL and other control
# characters (tab aside) are never data, and PostgreSQL refuses NUL outright.
MAX_FIELD_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def rows(
    text: str | TextIO, required: Sequence[str], optional: Sequence[str] = (), *, report: ImportReport | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header is checked first.

    `text` is the whole file, or a stream from `open_text` (read as it goes: a million-row file
    never sits in memory). Values are stripped; blank lines are skipped. Raises
    InvalidInput("input.csv.header") when required columns are missing or unknown ones are present.
    """
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    first_line = stream.readline()
    lines = chain([first_line], stream) if first_line else iter(())
    reader = csv.reader(lines, delimiter=_delimiter(first_line))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise InvalidInput("input.csv.empty", field="file") from None
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in required and name not in optional and name not in ERROR_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise InvalidInput(
            "input.csv.header", field="header",
            expected=",".join(required), missing=",".join(missing) or "-", unknown=",".join(unknown) or "-",
        )
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # A field past the csv module's limit (131,072 characters), a stray quote: this row
            # is refused with its line number, and reading goes on with the next one.
            yield reader.line_num, {"__unreadable__": str(error)}
            continue
        line = reader.line_num
        # The row's fields joined: one pass in C for what holds of each field when it holds of
        # them all (blank; printable), which a million-row import asks of every row.
        joined = "".join(values)
        if not joined.strip():
            continue
        if len(values) != len(header):
            yield line, {"__malformed__": str(len(values))}
            continue
        if (not joined.isprintable() and _CONTROL.search(joined)) or max(map(len, values)) > MAX_FIELD_CHARS:
            yield line, {"__unreadable__": "control characters or an overlong field"}
            continue
        row = {name: value.strip() for name, value in zip(header, values) if name not in ERROR_COLUMNS}
        if report is not None:
            report.reading(line, row)
        yield line, row


def column_count(text: str) -> int:
    """How many columns the header has: what `malformed` compares a row's fields with."""
    first_line = text.split("\n", 1)[0]
    return len(next(csv.reader([first_line], delimiter=_delimiter(first_line)), []))


def malformed(row: dict[str, str], expected: int) -> InvalidInput | None:
    """The error for a row whose number of fields does not match the header (or that could not
    be read at all: an overlong field, control characters), if it is one."""
    if "__unreadable__" in row:
        return InvalidInput("input.csv.unreadable_row", field="row", max=MAX_FIELD_CHARS)
    if "__malformed__" in row:
        return InvalidInput("input.csv.fields", field="row", found=row["__malformed__"], expected=expected)
    return None


def write_errors(report: ImportReport, path: str | Path, describe: Callable[[MitraError], str]) -> None:
    """The errors file, in the operator's language (`describe`).

    When the rejected rows are known (imports read through `rows(..., report=)`): each rejected
    row as it was in the file, in the file's own columns, and beside it `error_line` and
    `error_reason` (every reason of that line): fix the values, import this file again. Rows
    that could not be read into columns keep only their line and reason. Otherwise: line,
    column, reason."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        columns = list(dict.fromkeys(name for error in report.errors if error.row for name in error.row))
        if not columns:
            writer.writerow(["line", "column", "reason"])
            for error in report.errors:
                writer.writerow([error.line, error.column, describe(MitraError(error.key, **error.params))])
            return
        writer.writerow([*columns, *ERROR_COLUMNS])
        by_line: dict[int, list[RowError]] = {}
        for error in report.errors:
            by_line.setdefault(error.line, []).append(error)
        for line in sorted(by_line):
            errors = by_line[line]
            row = next((error.row for error in errors if error.row), {})
            reasons = "; ".join(describe(MitraError(error.key, **error.params)) for error in errors)
            writer.writerow([*(row.get(name, "") for name in columns), line, reasons])
