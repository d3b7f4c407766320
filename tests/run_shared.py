"""What the whole test run builds once, for every pytest-xdist worker.

The template databases (and the demo the console tests browse) take seconds to build. Built by
each worker for itself, a run of three workers built each three times over (about 27 s of CPU a
worker, estimated from the builds' own times). Here the first worker to need one builds it,
under a file lock, into a folder of the run's own; the others wait for it and copy it. The
controller (or a run without workers) makes the folder before the workers start, and removes it
and the run's PostgreSQL templates at the end.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

RUN_ENV = "MITRA_TEST_RUN"


def start_run() -> None:
    """In the controller, before any worker starts: name the run (the workers inherit it)."""
    if RUN_ENV not in os.environ:
        os.environ[RUN_ENV] = tempfile.mkdtemp(prefix="mitra-test-run-")


def run_folder() -> Path:
    return Path(os.environ[RUN_ENV])


def run_tag() -> str:
    """A short name of the run, for the server-side objects it makes (PostgreSQL templates)."""
    return run_folder().name.removeprefix("mitra-test-run-").lower()


def end_run() -> None:
    shutil.rmtree(os.environ.pop(RUN_ENV), ignore_errors=True)


@contextmanager
def _locked(name: str, wait: bool = True) -> Iterator[bool]:
    """Holds the build's lock (released when the file closes, even if the build fails); with
    `wait=False`, yields False at once when another worker holds it."""
    with open(run_folder() / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _done(name: str) -> Path:
    return run_folder() / f"{name}.done"


def built_once(name: str, build: Callable[[], object], wait: bool = True) -> bool:
    """Run `build()` unless some worker of this run already has, successfully; a worker that
    finds it under way waits for it, or with `wait=False` returns False (it is not built yet)."""
    if _done(name).exists():
        return True
    with _locked(name, wait) as held:
        if held and not _done(name).exists():
            build()
            _done(name).touch()
        return held


def all_built_once(builds: dict[str, Callable[[], object]]) -> None:
    """`built_once` for each, first building those no other worker is building: the workers
    starting together build different ones at the same time, then wait for the rest."""
    waiting = [name for name, build in builds.items() if not built_once(name, build, wait=False)]
    for name in waiting:
        built_once(name, builds[name])
