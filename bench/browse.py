"""Key to screen while browsing participants at scale: the real console in a pseudo-terminal, read
through pyte, next to a bare Textual DataTable app paging the same database the plainest way
(keyset pages of 100 rows read with sqlite3 or asyncpg), measured in the same run.

    .venv/bin/python bench/browse.py [-n 1000000] [--keys 60] [--db postgresql://.../scratch]

Measures, for each: opening the list (from the key that opens it to its first rows on the
screen), PgDn (from the key to the screen showing other rows), p50 and p95, End (to the list's
last page, five times) and PgUp after each, p50 and p95 (pages above the last read as the cursor
goes up), and the process's peak resident memory. Goals (issue 15): each key's p95 at most 1.2x the bare table's
and never over 250 ms; the console's memory at most 250 MB while browsing. The database is the one
bench/write_locks.py builds (N registered participants and the demo's operators).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pty_screen import PtyScreen, memory_mb  # noqa: E402
from bench.report import measure  # noqa: E402
from bench.write_locks import cached_database, copy_sqlite, prepare_postgres  # noqa: E402

BIN = Path(sys.executable).parent
CACHE = Path(__file__).resolve().parent / ".cache"
PGDN, PGUP, END = b"\x1b[6~", b"\x1b[5~", b"\x1b[F"
COLUMNS, LINES = 120, 36
ENDS = 5  # End keys a run measures (each followed by its share of the PgUp keys)
NIK_SHOWN = re.compile(r"\d{4}\*{10}\d{2}|\d{16}")  # a NIK on the screen, masked or not

# The bare app pages with the plainest queries on either back end: keyset pages of 100 by id,
# after a row, or before one (upward; the last page is the page before an id past the end). It
# shows the columns the console shows at this width (each cell costs the table its measuring).
COLUMNS_SQL = ("SELECT id, nik, full_name, birth_date, sex, province_code, status, wave_id, balance_idr"
               " FROM participant")
PAGE_SQL = {
    "after": COLUMNS_SQL + " WHERE id > {key} ORDER BY id LIMIT 100",
    "before": COLUMNS_SQL + " WHERE id < {key} ORDER BY id DESC LIMIT 100",
}
SQLITE_PAGES = '''
import sqlite3
connection = sqlite3.connect(sys.argv[1])

async def page(kind, key):
    return connection.execute(PAGE_SQL[kind].format(key="?"), (key,)).fetchall()
'''
POSTGRES_PAGES = '''
import asyncpg
connection = None

async def page(kind, key):
    global connection
    connection = connection or await asyncpg.connect(sys.argv[1])
    return await connection.fetch(PAGE_SQL[kind].format(key="$1"), key)
'''
BARE_TABLE = '''
import sys
from textual.app import App
from textual.binding import Binding
from textual.widgets import DataTable
{pages}

class Table(DataTable):
    BINDINGS = [Binding("end", "last_page", "")]

    async def action_last_page(self):
        await self.app.last_page()


class Bare(App):
    def compose(self):
        yield Table(cursor_type="row", zebra_stripes=True)

    async def on_mount(self):
        self.rows, self.last, self.first = [], 0, None
        table = self.query_one(Table)
        for label in ("NIK", "Name", "Born", "Sex", "Prov.", "Status", "Wave", "Balance"):
            table.add_column(label)
        await self.more()
        table.focus()

    def add(self, rows):
        table = self.query_one(Table)
        for id_, nik, name, born, sex, province, status, wave, balance in rows:
            table.add_row(nik[:4] + "*" * 10 + nik[14:], name, str(born), sex, province, status, str(wave or ""),
                          f"Rp{balance:,}", key=str(id_))

    async def more(self):
        rows = await page("after", self.last)
        self.add(rows)
        self.rows += rows
        if rows:
            self.last = rows[-1][0]

    async def last_page(self):
        rows = list(reversed(await page("before", 2**62)))
        table = self.query_one(Table)
        table.clear()
        self.add(rows)
        self.rows, self.last, self.first = rows, None, rows[0][0]
        table.move_cursor(row=table.row_count - 1)

    async def above(self):
        rows = list(reversed(await page("before", self.first)))
        if not rows:
            self.first = None
            return
        # A DataTable only appends: the plainest way to put rows above is to fill it again.
        table = self.query_one(Table)
        row, scrolled = table.cursor_row, table.scroll_y
        table.clear()
        self.rows = rows + self.rows
        self.add(self.rows)
        self.first = rows[0][0]
        table.move_cursor(row=row + len(rows), scroll=False)
        table.call_after_refresh(table.scroll_to, y=scrolled + len(rows), animate=False)

    async def on_data_table_row_highlighted(self, event):
        table = self.query_one(Table)
        if self.last is not None and event.cursor_row >= table.row_count - 40:
            await self.more()
        elif self.first is not None and event.cursor_row < 40:
            await self.above()

Bare().run()
'''


def table_text(screen_text: str) -> str:
    """The lines that show rows (those with a NIK): what PgDn changes."""
    return "\n".join(line for line in screen_text.splitlines() if NIK_SHOWN.search(line))


def key_to_screen(terminal: PtyScreen, key: bytes) -> float:
    before = table_text(terminal.text())
    started = time.perf_counter()
    terminal.send(key)
    terminal.wait_for(lambda text: table_text(text) != before and bool(table_text(text)), timeout=30)
    elapsed = time.perf_counter() - started
    time.sleep(0.05)  # let the rest of the frame arrive before the next key
    return elapsed


def browse(terminal: PtyScreen, keys: int, ends: int = ENDS) -> dict[str, list[float]]:
    """PgDn `keys` times, then `ends` times End followed by a share of `keys` PgUp: each key's time
    to the screen. End is taken more than once: a single End (5-14 ms at 20M) was a sample too few to
    read a ratio from, where 1 ms made 0.2x. Each End after the first comes from pages above the
    last, so it reads the last page again, as the first did."""
    down = [key_to_screen(terminal, PGDN) for _ in range(keys)]
    end: list[float] = []
    up: list[float] = []
    for round_ in range(ends):
        end.append(key_to_screen(terminal, END))
        up += [key_to_screen(terminal, PGUP) for _ in range(keys // ends + (round_ < keys % ends))]
    return {"PgDn": down, "End": end, "PgUp": up}


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far, in MB (it is still running: it has one)."""
    peak = memory_mb(pid, "VmHWM")
    assert peak is not None, f"process {pid} has ended"
    return peak


def mitra_figures(database: str, keys: int) -> tuple[float, dict[str, list[float]], float]:
    with PtyScreen([str(BIN / "mitra"), "--db", database, "--lang", "en"], columns=COLUMNS, lines=LINES) as terminal:
        terminal.wait_for(lambda text: "Password" in text, timeout=60)
        time.sleep(0.5)
        terminal.send(b"coordinator\tdemo\r")
        terminal.wait_for(lambda text: "coordinator (coordinator)" in text, timeout=60)
        time.sleep(1.0)
        started = time.perf_counter()
        terminal.send(b"5")
        terminal.wait_for(lambda text: bool(table_text(text)), timeout=60)
        opened = time.perf_counter() - started
        time.sleep(1.0)  # the list has the focus: PgDn pages it
        paged = browse(terminal, keys)
        return opened, paged, peak_memory_mb(terminal.process.pid)


def bare_figures(database: str, keys: int, folder: Path) -> tuple[float, dict[str, list[float]], float]:
    script = folder / "bare_table.py"
    on_postgres = database.startswith("postgresql")
    script.write_text(BARE_TABLE.replace("{pages}", f"PAGE_SQL = {PAGE_SQL!r}\n"
                                         + (POSTGRES_PAGES if on_postgres else SQLITE_PAGES)))
    if on_postgres:
        database = database.replace("postgresql+asyncpg://", "postgresql://")
    started = time.perf_counter()
    with PtyScreen([sys.executable, str(script), database], columns=COLUMNS, lines=LINES) as terminal:
        terminal.wait_for(lambda text: bool(table_text(text)), timeout=60)
        opened = time.perf_counter() - started  # includes the app's start: an upper bound
        time.sleep(1.0)
        paged = browse(terminal, keys)
        return opened, paged, peak_memory_mb(terminal.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--participants", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--db", metavar="URL", help="browse on PostgreSQL: a scratch database's URL (see"
                        " bench/write_locks.py, which builds the registry beside it)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mitra-browse-"))
    if args.db:
        database = prepare_postgres(args.db, args.participants)
    else:
        base = cached_database(args.participants)
        if not base.exists():
            subprocess.run([sys.executable, str(Path(__file__).parent / "write_locks.py"), "-n",
                            str(args.participants), "--build-only"], check=True)
        database = str(folder / "browse.db")
        copy_sqlite(base, Path(database))
    try:
        bare_open, bare_keys, bare_memory = bare_figures(database, args.keys, folder)
        mitra_open, mitra_keys, mitra_memory = mitra_figures(database, args.keys)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    backend = "postgresql" if args.db else "sqlite"
    print(f"{args.participants:,} participants, {args.keys} PgDn, then {ENDS} times End and {args.keys // ENDS} PgUp,"
          f" each, {COLUMNS}x{LINES}:")
    print(f"  open the list      mitra {mitra_open * 1000:7.0f} ms   bare table (with its start) {bare_open * 1000:7.0f} ms")
    for key in mitra_keys:
        for label, mitra, bare in ((f"{key} p50", statistics.median(mitra_keys[key]), statistics.median(bare_keys[key])),
                                   (f"{key} p95", p95(mitra_keys[key]), p95(bare_keys[key]))):
            print(f"  {label:<18} mitra {mitra * 1000:7.0f} ms   bare table {bare * 1000:7.0f} ms   ratio {mitra / bare:5.2f}")
    print(f"  peak memory        mitra {mitra_memory:7.0f} MB   bare table {bare_memory:7.0f} MB")
    measure(f"browse {args.participants:,} ({backend}): open Participants", mitra_open, limit=0.5)
    for key in mitra_keys:
        measure(f"browse {args.participants:,} ({backend}): {key}" + (" p95" if len(mitra_keys[key]) > 1 else ""),
                p95(mitra_keys[key]), p95(bare_keys[key]), most=1.2, baseline_name="bare DataTable")
    measure(f"browse {args.participants:,} ({backend}): console's peak memory", mitra_memory, bare_memory, unit="MB",
            limit=250, baseline_name="bare DataTable")


if __name__ == "__main__":
    main()
