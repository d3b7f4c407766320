#!/usr/bin/env python3
"""Set up a local environment and run Mitra: `python3 dev.py demo` or `python3 dev.py test`.

Needs nothing but Python 3.11+. On first use (and whenever pyproject.toml changes) it creates
`.venv/` beside this file and installs Mitra into it with its test extras; then it runs:

    demo [ARGS]   the console on a fresh demo database (`mitra demo ARGS`)
    test [ARGS]   the lint checks and the whole test suite on every core (pytest-xdist): ruff
                  and import-linter first, mypy alongside the suite; with ARGS, exactly
                  `pytest ARGS` (no lint)
    lint          ruff, import-linter (the layering contracts) and mypy, as configured in pyproject.toml
    bench [ARGS]  every benchmark, one table (`bench/run.py --scale 1m|5m|20m --postgres URL`)
    mitra [ARGS]  any other `mitra` command
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".mitra-stamp"


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py is what an older Python runs first
        sys.exit(f"Mitra needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _wanted_stamp():
        print("Installing Mitra and its test tools into .venv ...", flush=True)
        pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_text(_wanted_stamp())


QUICK_CHECKS = (["ruff", "check", "."], ["lint-imports"])
MYPY = ["mypy"]


def lint(checks=(*QUICK_CHECKS, MYPY)) -> int:
    """ruff (bug patterns, unused code), import-linter (the layers stay apart) and mypy (the
    types; strict on the store)."""
    for check in checks:
        print("$", " ".join(check), flush=True)
        if subprocess.run([str(BIN / check[0]), *check[1:]], cwd=ROOT).returncode != 0:
            print(f"{check[0]} found problems; fix them before the suite runs.", file=sys.stderr)
            return 1
    return 0


def test_with_lint(pytest_args: list[str]) -> int:
    """ruff and import-linter (a second together), then the suite, with mypy checking alongside
    it: on a machine without mypy's cache it takes 10 s of one core, which ahead of the suite
    was 10 s more of waiting, and beside it costs the suite half of that. Its findings are
    printed after the suite's, and fail the run as the suite's would."""
    if lint(QUICK_CHECKS) != 0:
        return 1
    print("$", " ".join(MYPY), "(alongside the suite; its findings follow the suite's)", flush=True)
    mypy = subprocess.Popen([str(BIN / MYPY[0]), *MYPY[1:]], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    suite = subprocess.run(pytest_args, cwd=ROOT, env=_with_bytecode_caches()).returncode
    found, _ = mypy.communicate()
    print("$", " ".join(MYPY), flush=True)
    print(found, end="", flush=True)
    if mypy.returncode != 0:
        print("mypy found problems; fix them (the suite's result is above).", file=sys.stderr)
        return suite or 1
    return suite


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "lint", "bench", "mitra"}:
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        args = [str(BIN / "mitra"), "demo", *rest]
    elif command == "lint":
        return lint()
    elif command == "test":
        # The whole suite runs with the lint checks and names its ten slowest tests (where time
        # goes first); with arguments, exactly as given. Two workers (pytest-xdist) more than there
        # are cores: a console test spends about half of its time waiting (for the console to go
        # idle, a process, a browser), and other workers' tests use the cores meanwhile. On 2
        # cores: 207-215 s with four workers, 222-230 s with three and 227 s with five (one
        # sitting, 1,076 tests); three had been 257-298 s against 339 s with two. A worker that
        # runs out of tests takes some of another's (`worksteal`), so the run does not end on one
        # worker's long tail.
        workers = str((os.cpu_count() or 1) + 2)
        args = [str(BIN / "python"), "-m", "pytest",
                *(rest or ["-n", workers, "--dist", "worksteal", "--durations=10"])]
        if not rest:
            return test_with_lint(args)
    elif command == "bench":
        args = [str(BIN / "python"), str(ROOT / "bench" / "run.py"), *rest]
    else:
        args = [str(BIN / "mitra"), *rest]
    return subprocess.run(args, cwd=ROOT, env=_with_bytecode_caches()).returncode


def _with_bytecode_caches() -> dict[str, str]:
    """The environment for what dev.py runs, keeping Python's bytecode caches. Where
    PYTHONDONTWRITEBYTECODE is set (some machines set it everywhere), every process compiles
    Mitra's modules from source again: each of the suite's workers and the `mitra`, console and
    worker processes its tests start paid 0.1-0.15 s of CPU for it (and a console's start paid it
    before its login screen)."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
