"""How a `mitra` process collects its garbage: less often than Python's default, and, once a
console has logged in, with what it has loaded for good set aside.

Python collects after every 700 new objects; a full collection walks every object the process
holds. A console holds its modules, engine, shell and every row of its lists: full collections
took 60-190 ms every few pages of a long list, and the key pressed then waited for them. A bulk
command (an import of a million rows) makes objects by the million and kept collecting them.

Measured, two runs of each way in one sitting (bench/browse.py at 200,000 participants,
bench/import_participants.py at 200,000 rows): PgDn, End and PgUp p95 0.64-1.13x a bare
DataTable's, against 1.39-6.2x with the defaults, for 14 MB more peak memory (143 MB); the
import service 15-19 % faster on SQLite and about 10 % on PostgreSQL.
"""

from __future__ import annotations

import gc

# A collection every 50,000 new objects rather than 700; the older generations as rarely.
THRESHOLDS = (50_000, 20, 20)
# A console after its login: the older generations only once it is idle (tui/app.py calls
# `collect_older_garbage` a second after the last key or click). Collected on the way, every 20 young collections, they came in the
# middle of paging a long list: PgDn p95 11-37 ms (1.39-3.75x a bare DataTable's) at 1,000,000
# participants, against 8-18 ms (1.04-2.89x) once idle (bench/browse.py, five runs each).
CONSOLE_THRESHOLDS = (50_000, 1000, 1000)
IDLE_FOR = 1.0  # seconds without a key or a click: the operator is reading, not paging
_set_aside = False


def collect_less_often() -> None:
    gc.set_threshold(*THRESHOLDS)


def collect_older_garbage() -> bool:
    """A full collection, for a console idle for IDLE_FOR seconds (tui/app.py), if anything was
    collected young since the last one (else there is nothing new to walk); whether it ran.
    Cyclic garbage that outlived its young collection is freed here, not hours later."""
    young_collections, older = gc.get_count()[1:]
    if not (young_collections or older):
        return False
    gc.collect()
    return True


def set_aside_what_is_loaded() -> None:
    """Once per process, after a console's login: its modules, engine and shell stay for the
    process's life; a full collection no longer walks them (`gc.freeze`), and the older
    generations wait for the console to be idle. Once: a test run logs in many consoles in one
    process, and what is set aside is never collected."""
    global _set_aside
    if _set_aside:
        return
    _set_aside = True
    gc.freeze()
    gc.set_threshold(*CONSOLE_THRESHOLDS)
