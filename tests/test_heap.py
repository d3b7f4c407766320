"""How the console collects its garbage (tui/heap.py): the older generations wait until the
operator stops typing, and then are collected, so that cyclic garbage never piles up for hours."""

from __future__ import annotations

import gc
import weakref

from tests.tui_support import SIZE, console, login


class _Node:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_garbage_older_than_the_young_collections_is_freed_once_the_console_is_idle(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        node = _Node()
        gc.collect()  # still referenced: it survives, into the oldest generation
        gone = weakref.ref(node)
        del node  # now garbage, where only a full collection looks
        churn = [[] for _ in range(120_000)]  # enough new objects for young collections to run
        del churn
        await pilot.press("down")  # the operator at work: nothing is collected meanwhile
        assert gone() is not None, "the older generation was collected while the operator worked"
        for _ in range(40):  # idle: within a couple of seconds
            await pilot.pause(0.1)
            if gone() is None:
                break
        assert gone() is None, "garbage in the older generation outlived an idle console"
