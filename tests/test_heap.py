"""How the console collects its garbage (tui/heap.py): the older generations wait until the
operator stops for a second, and then are collected, so that cyclic garbage never piles up for
hours and never lands in the middle of paging."""

from __future__ import annotations

import gc
import weakref

from tests.tui_support import SIZE, console, login
from tui import heap


class _Node:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_garbage_older_than_the_young_collections_is_freed_once_the_console_is_idle(db, monkeypatch):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        # The console's own thresholds (a command run in this test process may have set others).
        kept = gc.get_threshold()
        gc.set_threshold(*heap.CONSOLE_THRESHOLDS)
        try:
            monkeypatch.setattr(heap, "IDLE_FOR", 3600.0)  # the operator at work: never idle here
            await pilot.press("down")
            node = _Node()
            gc.collect()  # still referenced: it survives, into the oldest generation
            gone = weakref.ref(node)
            del node  # now garbage, where only a full collection looks
            churn = [[] for _ in range(120_000)]  # enough new objects for young collections to run
            del churn
            await pilot.press("down")
            assert gone() is not None, "the older generation was collected while the operator worked"
            monkeypatch.setattr(heap, "IDLE_FOR", 0.3)
            await pilot.press("down")  # the last key: idle from here
            for _ in range(40):
                await pilot.pause(0.1)
                if gone() is None:
                    break
            assert gone() is None, "garbage in the older generation outlived an idle console"
        finally:
            gc.set_threshold(*kept)
