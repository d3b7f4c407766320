"""Dialog sequences written straight: one worker awaits each of the operator's answers in turn
(`push_screen_wait`), instead of callbacks nested in callbacks.

    @dialog
    async def action_reject(self) -> None:
        reason = await self.app.push_screen_wait(TextPrompt(...))
        if reason and await self.app.push_screen_wait(ConfirmScreen(...)):
            self.act(batches.reject_batch, ...)

The store's work goes through `ServiceCaller.call` (tui/workers.py), or, where the dialog needs
the answer to go on, `await self.ask(service, ...)` in the dialog itself. An error inside a
dialog reaches the operator as a sentence, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from textual import work

from store.errors import MitraError, SessionEnded
from tui import logfile

# The group of these workers: they wait for the operator, not for work in flight.
DIALOG = "dialog"


def dialog(method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def asking(self, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except SessionEnded as error:
            self.app.session_ended(error)
        except MitraError as error:
            self.app.show_error(error)
        except Exception as error:  # noqa: BLE001 - a bug must not take the console down
            self.app.show_error(logfile.unexpected(error, method.__name__, self.app.actor))

    return work(group=DIALOG, exit_on_error=False)(asking)
