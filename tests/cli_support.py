"""Running the `mitra` command as an operator would: its real code, its real exit status and
output, against the test's database.

`mitra(...)` runs the command in this process (Click's runner, in a thread of its own, because
the command runs its own event loop), with the environment a fresh process would have: no
`MITRA_` setting of the developer's leaks in, the language comes from `LANG=C.UTF-8`, and what
the command changes (the language, its acting operator, environment variables) is put back
afterwards. Starting a Python process costs about 1.3 s of CPU, most of it imports, which once
made the command-line tests a sixth of the suite.

`mitra_process(...)` starts the installed `mitra` for what only a process shows: the entry point
itself, logging set up once per process, signals and concurrency between processes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

MITRA = str(Path(sys.executable).with_name("mitra"))
# The demo as `mitra demo` opens it by default, for the tests that start `mitra demo` or a demo
# server and for the guided tour: the `demo_cache` fixture builds its template once per test run.
# (A smaller demo builds no faster, most of a build being its fixed part, and its waves select
# everyone before the tour's open wave, which then has nobody to select.)
DEMO_PARTICIPANTS, DEMO_SEED = 2000, 2020
DEMO_ARGS = ("--participants", str(DEMO_PARTICIPANTS), "--seed", str(DEMO_SEED))
# What the test run gives every command (conftest sets them): one audit key, its own log folder.
KEPT = ("MITRA_AUDIT_KEY", "MITRA_LOG_DIR")


@dataclass
class Ran:
    """What a finished command left: the fields of `subprocess.CompletedProcess` that tests read."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _environment(password: str | None, env: dict[str, str] | None) -> dict[str, str | None]:
    """The changes that turn this process's environment into a fresh command's (None: unset)."""
    changes: dict[str, str | None] = {
        key: None for key in os.environ if key.startswith("MITRA_") and key not in KEPT
    }
    changes["LANG"] = "C.UTF-8"
    changes["LC_ALL"] = None
    if password is not None:
        changes["MITRA_PASSWORD"] = password
    changes.update(env or {})
    return changes


def mitra(*args: str, password: str | None = "demo", stdin: str | None = None,
          env: dict[str, str] | None = None) -> Ran:
    """Run `mitra ARGS` in this process; its password from $MITRA_PASSWORD unless None."""
    from click.testing import CliRunner

    from tui import i18n
    from tui.cli import main
    from tui.commands import common

    language = i18n.current_language()
    outcome: list[Ran] = []

    def invoke() -> None:
        result = CliRunner().invoke(main, list(args), input=stdin, env=_environment(password, env))
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # What a process would have printed on the way out: the test shows it.
            stderr += "".join(traceback.format_exception(*result.exc_info))
        outcome.append(Ran(result.exit_code, result.stdout, stderr))

    worker = threading.Thread(target=invoke, name="mitra-command")
    worker.start()
    worker.join()
    i18n.set_language(language)
    common._acting = None  # the operator a command logged in as is that command's alone
    return outcome[0]


async def amitra(*args: str, password: str | None = "demo", stdin: str | None = None,
                 env: dict[str, str] | None = None) -> Ran:
    """`mitra` from an async test, leaving its event loop free while the command runs."""
    return await asyncio.to_thread(mitra, *args, password=password, stdin=stdin, env=env)


def mitra_process(
    *args: str, password: str | None = "demo", stdin: str | None = None, timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the installed `mitra ARGS` in a process of its own."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MITRA_")}
    fresh = {**inherited, **{key: os.environ[key] for key in KEPT}, **(env or {})}
    fresh["LANG"] = "C.UTF-8"
    if password is not None:
        fresh["MITRA_PASSWORD"] = password
    return subprocess.run(
        [MITRA, *args], capture_output=True, text=True, input=stdin, env=fresh, timeout=timeout,
    )
