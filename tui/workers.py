"""Calling store services from the console without ever blocking the event loop.

    self.call(providers.list_providers, filters, then=self.show_providers)

runs the service in a worker, then hands the result to `then` from a message handler on the UI
side: workers never touch widgets. Errors go to `on_error` (default: shown to the operator by
the app, never a traceback, never an exit).

A newer call of the same group (by default, the same `then`) supersedes the older ones: a read
still on its way is cancelled, so a stale result never lands; a write never is (cancelled around
its commit, it may or may not have happened and nobody would be told): it finishes and reports,
and the newer call runs beside it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from store.errors import MitraError, SessionEnded
from tui import logfile
from tui.app_access import InConsole


class ServiceDone(Message):
    def __init__(self, then: Callable[[Any], Any] | None, result: Any = None) -> None:
        super().__init__()
        self.then = then
        self.result = result


class ServiceFailed(Message):
    def __init__(self, on_error: Callable[[MitraError], Any] | None, error: MitraError) -> None:
        super().__init__()
        self.on_error = on_error
        self.error = error


class ServiceCaller(InConsole):
    """Mixin for widgets, screens and the app that call store services."""

    def call(
        self,
        service: Callable[..., Awaitable[Any]],
        *args: Any,
        then: Callable[[Any], Any] | None = None,
        on_error: Callable[[MitraError], Any] | None = None,
        group: str | None = None,
        busy: Widget | None = None,
        **kwargs: Any,
    ) -> None:
        """Run `service(db, actor, *args, **kwargs)` in a worker and deliver the result."""
        group = group or getattr(then, "__name__", None) or service.__name__
        if busy is not None:
            busy.loading = True

        running: list[asyncio.Task[Any]] = []

        async def invoke() -> None:
            task = asyncio.current_task()
            assert task is not None  # a worker's coroutine runs as a task
            running.append(task)
            try:
                result = await self.ask(service, *args, **kwargs)
            except MitraError as error:
                self.post_message(ServiceFailed(on_error, error))
            else:
                self.post_message(ServiceDone(then, result))
            finally:
                if busy is not None:
                    self.post_message(BusyDone(busy))

        _supersede(self, group)
        # A callable, not a coroutine: a worker cancelled before it starts then leaves nothing behind.
        worker: Worker[None] = self.run_worker(invoke, group=group, exit_on_error=False)
        _calls(self).setdefault(group, []).append((worker, running))

    async def ask(self, service: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """`service(db, actor, *args, **kwargs)`, awaited in the worker that asks (`call`'s, or a
        dialog's, tui/dialogs.py); whatever goes wrong comes out as a MitraError."""
        app = self.app
        try:
            db = await app.database()  # opened (and the store loaded) behind the login screen
            from store import session_check

            await session_check.check(db, app.actor)  # reads too stop once access is revoked
            result = await service(db, app.actor, *args, **kwargs)
        except MitraError:
            raise
        except Exception as error:  # noqa: BLE001 - a bug must not take the console down
            raise logfile.unexpected(error, service.__name__, app.actor) from error
        from store import uow

        if uow.has_begun_writing(asyncio.current_task()):
            app.written()
        return result

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        if message.then is not None:
            message.then(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        if isinstance(message.error, SessionEnded):
            self.app.session_ended(message.error)
        elif message.on_error is not None:
            message.on_error(message.error)
        else:
            self.app.show_error(message.error)

    def on_busy_done(self, message: BusyDone) -> None:
        message.stop()
        message.widget.loading = False


def _calls(caller: DOMNode) -> dict[str, list[tuple[Worker[None], list[asyncio.Task[Any]]]]]:
    """The caller's service calls by group: (worker, [its task once started])."""
    return caller.__dict__.setdefault("_service_calls", {})


def _supersede(caller: DOMNode, group: str) -> None:
    """Make way for a newer call of `group`: cancel the older ones that only read."""
    uow = sys.modules.get("store.uow")  # not loaded yet: nothing can have begun writing
    still = []
    for worker, running in _calls(caller).get(group, []):
        if worker.is_finished:
            continue
        if uow is not None and running and uow.has_begun_writing(running[0]):
            still.append((worker, running))  # a write finishes and reports
        else:
            worker.cancel()
    _calls(caller)[group] = still


class BusyDone(Message):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget


Job = Callable[..., Any]  # an async (db, actor) -> result, as ServiceCaller.call runs it


def job(service: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
    """`service` with its arguments bound, to run later as `call(job)` (a form's `run`)."""

    async def run(db, actor):
        return await service(db, actor, *args, **kwargs)

    run.__name__ = getattr(service, "__name__", "job")
    return run
