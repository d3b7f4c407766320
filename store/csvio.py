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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import InvalidInput, MitraError


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    key: str  # message key of the reason (an error key of store/errors)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_error(cls, line: int, error: MitraError, column: str | None = None) -> RowError:
        return cls(line, column or str(error.params.get("field", "")), error.key, dict(error.params))


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.line for error in self.errors})

    def reject(self, line: int, error: MitraError, column: str | None = None) -> None:
        self.errors.append(RowError.from_error(line, error, column))

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


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def rows(text: str, required: Sequence[str], optional: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header is checked first.

    Values are stripped; blank lines are skipped. Raises InvalidInput("input.csv.header") when
    required columns are missing or unknown ones are present.
    """
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise InvalidInput("input.csv.empty", field="file") from None
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in required and name not in optional]
    if missing or unknown or len(set(header)) != len(header):
        raise InvalidInput(
            "input.csv.header", field="header",
            expected=",".join(required), missing=",".join(missing) or "-", unknown=",".join(unknown) or "-",
        )
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield line, {"__malformed__": str(len(values))}
            continue
        yield line, {name: value.strip() for name, value in zip(header, values)}


def column_count(text: str) -> int:
    """How many columns the header has: what `malformed` compares a row's fields with."""
    first_line = text.split("\n", 1)[0]
    return len(next(csv.reader([first_line], delimiter=_delimiter(first_line)), []))


def malformed(row: dict[str, str], expected: int) -> InvalidInput | None:
    """The error for a row whose number of fields does not match the header, if it is one."""
    if "__malformed__" in row:
        return InvalidInput("input.csv.fields", field="row", found=row["__malformed__"], expected=expected)
    return None


def write_errors(report: ImportReport, path: str | Path, describe) -> None:
    """An error report CSV: line, column, reason (in the operator's language via `describe`)."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "reason"])
        for error in report.errors:
            writer.writerow([error.line, error.column, describe(MitraError(error.key, **error.params))])
