"""Bytes on the wire for field staff: what the console writes to its terminal for its first paint
and for each navigation key, at 80x24 and 160x48, raw and through one persistent zlib stream (what
`ssh -C` sends), next to a bare Textual DataTable app doing the same keys in the same run.

    .venv/bin/python bench/field_link.py [--participants 2000] [--rounds 5]

Keys: the next application in the review (`n`), the next row of the applications list (down),
PgDn in the participants list, switching area (a number key). The bare app shows the same
participants in a DataTable and switches between its tables with a number key; its "next row" is
the cursor moving down. Its "next record" is what the review's is: another application shown,
here as a DataTable of that application's fields and criteria (`n` fills it with the next one),
since no cursor step draws another record's text. Goals (issue 14): every
navigation key at or below the bare DataTable's bytes, and the first paint at 80x24 under 40 KB
raw. The demo database is built once for the run.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pty_screen import PtyScreen  # noqa: E402
from bench.report import measure  # noqa: E402

BIN = Path(sys.executable).parent
PGDN, DOWN, UP = b"\x1b[6~", b"\x1b[B", b"\x1b[A"
SIZES = ((80, 24), (160, 48))
QUIET = 0.6  # seconds without a repaint: the screen has settled
BLINK = 160  # bytes: a write this small is a text cursor blinking (104-120 B, twice a second), not a repaint

BARE_APP = '''
import sqlite3, sys
from textual.app import App
from textual.widgets import ContentSwitcher, DataTable

class Bare(App):
    BINDINGS = [("1", "show('people')", ""), ("2", "show('courses')", ""), ("3", "review", ""),
                ("n", "next_record", "")]

    def compose(self):
        with ContentSwitcher(initial="people"):
            yield DataTable(id="people", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="courses", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="record", cursor_type="row")

    def on_mount(self):
        db = sqlite3.connect(sys.argv[1])
        people = self.query_one("#people", DataTable)
        people.add_columns("NIK", "Name", "Birth", "Sex", "Province", "Status", "Wave", "Balance")
        for nik, name, birth, sex, province, status, wave, balance in db.execute(
                "SELECT nik, full_name, birth_date, sex, province_code, status, wave_id, balance_idr"
                " FROM participant ORDER BY id LIMIT 300"):
            people.add_row(nik[:4] + "*" * 10 + nik[14:], name, birth, sex, province, status, str(wave or ""),
                           f"Rp{balance:,}")
        courses = self.query_one("#courses", DataTable)
        courses.add_columns("Id", "Title", "Hours", "Mode", "State")
        for row in db.execute("SELECT id, title, hours, mode, state FROM course ORDER BY id LIMIT 300"):
            courses.add_row(*[str(value) for value in row])
        self.db, self.application = db, 0
        self.query_one("#record", DataTable).add_columns("Field", "Value")
        people.focus()

    def action_review(self):
        # The first application, as the review opens on it from the list's first row.
        self.application = 0
        self.action_next_record()
        self.action_show("record")

    def action_next_record(self):
        # An application's own fields, then its criteria: what the review shows of it.
        self.application += 1
        cursor = self.db.execute("SELECT * FROM platform_application WHERE id = ?", (self.application,))
        fields = zip([column[0] for column in cursor.description], cursor.fetchone())
        criteria = self.db.execute("SELECT number, suggested, verdict, note FROM application_criterion"
                                   " WHERE application_id = ? ORDER BY number", (self.application,))
        record = self.query_one("#record", DataTable)
        record.clear()
        record.add_rows([(name, str(value or "")) for name, value in fields])
        record.add_rows([(f"Criterion {number}", f"{verdict} (suggested {suggested}) {note or ''}")
                         for number, suggested, verdict, note in criteria])

    def action_show(self, table):
        self.query_one(ContentSwitcher).current = table
        self.query_one("#" + table).focus()

Bare().run()
'''


class Wire:
    """The terminal's output, counted raw and as `ssh -C` would send it (one zlib stream for the
    whole connection, flushed per write, as OpenSSH does per packet)."""

    def __init__(self, terminal: PtyScreen) -> None:
        self.terminal = terminal
        self.zlib = zlib.compressobj(6)

    def settle(self, shown=lambda text: True, timeout: float = 60) -> tuple[int, int]:
        """(raw, compressed) bytes until the screen shows what `shown` accepts and then stays
        quiet for QUIET seconds."""
        raw = packed = 0
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.terminal.fd], [], [], 0.05)
            if ready:
                chunk = os.read(self.terminal.fd, 65536)
                self.terminal.stream.feed(chunk)
                raw += len(chunk)
                packed += len(self.zlib.compress(chunk) + self.zlib.flush(zlib.Z_SYNC_FLUSH))
                if len(chunk) > BLINK:
                    last = time.monotonic()
            elif shown(self.terminal.text()) and time.monotonic() - last >= QUIET:
                return raw, packed
        raise TimeoutError(f"the screen never settled on what was expected:\n{self.terminal.text()}")

    def key(self, key: bytes, shown=lambda text: True) -> tuple[int, int]:
        self.terminal.send(key)
        return self.settle(shown)


def mitra_run(database: Path, columns: int, lines: int, rounds: int) -> dict[str, list[tuple[int, int]]]:
    figures: dict[str, list[tuple[int, int]]] = {"first paint": [], "next record": [], "next row": [], "PgDn": [],
                                                  "switch area": []}
    argv = [str(BIN / "mitra"), "--db", str(database), "--lang", "en"]
    with PtyScreen(argv, columns=columns, lines=lines) as terminal:
        wire = Wire(terminal)
        figures["first paint"].append(wire.settle(lambda text: "Password" in text))
        wire.key(b"admin\tdemo\r", lambda text: "admin (" in text)
        for _ in range(rounds):
            figures["switch area"].append(wire.key(b"5", lambda text: " participants" in text))
            figures["PgDn"].append(wire.key(PGDN))
            wire.key(b"2", lambda text: " applications" in text)
            figures["next row"].append(wire.key(DOWN))  # the list's own next row, as the bare table's
            wire.key(UP)
            wire.key(b"\r", lambda text: "Verdict" in text)  # the review of the first application
            figures["next record"].append(wire.key(b"n"))
            wire.key(b"\x1b", lambda text: " applications" in text)
    return figures


def bare_run(database: Path, folder: Path, columns: int, lines: int, rounds: int) -> dict[str, list[tuple[int, int]]]:
    script = folder / "bare_app.py"
    script.write_text(BARE_APP)
    figures: dict[str, list[tuple[int, int]]] = {"first paint": [], "next record": [], "next row": [], "PgDn": [],
                                                  "switch area": []}
    with PtyScreen([sys.executable, str(script), str(database)], columns=columns, lines=lines) as terminal:
        wire = Wire(terminal)
        figures["first paint"].append(wire.settle(lambda text: "NIK" in text))
        for _ in range(rounds):
            figures["switch area"].append(wire.key(b"2"))
            wire.key(b"1")
            figures["PgDn"].append(wire.key(PGDN))
            figures["next row"].append(wire.key(DOWN))
            wire.key(b"3", lambda text: "legal_name" in text)
            figures["next record"].append(wire.key(b"n"))
            wire.key(b"1")
    return figures


def median(values: list[tuple[int, int]], which: int) -> float:
    return statistics.median(value[which] for value in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mitra-field-link-"))
    database = folder / "office.db"
    subprocess.run([str(BIN / "mitra"), "demo", "--build-only", "--participants", str(arguments.participants),
                    "--db", str(database)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "MITRA_CACHE_DIR": str(folder / "cache")})
    print(f"{'size':<8}{'step':<14}{'mitra raw':>10}{'ssh -C':>8}{'bare raw':>10}{'ssh -C':>8}{'ratio':>7}")
    for columns, lines in SIZES:
        mitra = mitra_run(database, columns, lines, arguments.rounds)
        bare = bare_run(database, folder, columns, lines, arguments.rounds)
        for step in mitra:
            m_raw, m_zip, b_raw, b_zip = (median(mitra[step], 0), median(mitra[step], 1),
                                          median(bare[step], 0), median(bare[step], 1))
            print(f"{columns}x{lines:<5}{step:<14}{m_raw:>10.0f}{m_zip:>8.0f}{b_raw:>10.0f}{b_zip:>8.0f}"
                  f"{m_raw / b_raw:>7.2f}")
            name = f"field link {columns}x{lines}: {step} (bytes)"
            if step == "first paint" and (columns, lines) == (80, 24):
                measure(name, m_raw, b_raw, unit="B", limit=40_000, baseline_name="bare DataTable")
            elif step == "first paint":
                measure(name, m_raw, b_raw, unit="B", baseline_name="bare DataTable")
            else:
                measure(name, m_raw, b_raw, unit="B", most=1.0, baseline_name="bare DataTable")


if __name__ == "__main__":
    main()
