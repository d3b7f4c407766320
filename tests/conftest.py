"""Test harness: every database test runs on SQLite and on PostgreSQL.

- SQLite: a temporary file per test (never `:memory:`, whose single connection hides concurrency
  bugs), copied from a template migrated once per session.
- PostgreSQL: a database per test, copied from a template database migrated once per session,
  on the server named by $MITRA_TEST_POSTGRES_URL (.ci/run sets it); copied ahead and dropped
  behind the tests (tests/pg_databases.py). Without that server, the PostgreSQL half of each test
  is skipped with that reason; in CI it always runs.

Two templates exist for each back end: `empty` (migrated, no rows) and `seeded` (the demo's
operators, ownership groups and eight platforms, all with the password "demo"), because hashing
operator passwords for every test would cost more than the tests themselves. A third,
`small_demo`, is built when a test first asks for it. Each is built once per run, by whichever
worker needs it first (tests/run_shared.py).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from fixtures import build_demo
from fixtures.build import DemoContext
from fixtures.steps import organisations, people
from store import migrate, passwords
from store.actor import Actor
from store.engine import Database, create_database
from store.services import operators
from tests.pg_databases import PgDatabases, drop_databases
from tests.run_shared import all_built_once, built_once, end_run, run_folder, run_tag, start_run

pytest_plugins = ["tests.snapshot_text"]  # a failed snapshot says how the screen differs

# One audit key for the whole run (templates, workers and the `mitra` subprocesses inherit it),
# never the developer's own key file.
os.environ.setdefault("MITRA_AUDIT_KEY", "mitra-test-suite-audit-key-0123456789abcdef")
# Unexpected errors are logged to a file (tui/logfile.py): the run's own folder, never the user's.
os.environ.setdefault("MITRA_LOG_DIR", tempfile.mkdtemp(prefix="mitra-test-logs-"))
# Nor the user's cache of demo templates: a test that builds one names its own folder.
os.environ.setdefault("MITRA_CACHE_DIR", tempfile.mkdtemp(prefix="mitra-test-cache-"))

PG_ENV = "MITRA_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV, "")
FRESH_ENV = "MITRA_TEST_FRESH_DATABASES"
BACKENDS = ["sqlite", "postgresql"]
TEMPLATES = ("empty", "seeded")
_counter = itertools.count()
SESSION_TAG = f"{os.getpid()}"


def pytest_report_header(config):
    if PG_URL:
        return f"PostgreSQL tests: on {make_url(PG_URL).render_as_string(hide_password=True)}"
    return f"PostgreSQL tests: skipped ({PG_ENV} is not set; .ci/run sets it)"


@contextmanager
def cheaper_passwords() -> Iterator[None]:
    """Operators' passwords hashed at a lower scrypt cost than the console uses, for the databases
    the tests build once and copy: each hash carries its own cost and is checked by it, the same
    way; a login in a test checks in about 2 ms, not 50, and a demo build hashes its sixteen
    operators in 0.05 s, not 0.75."""
    with pytest.MonkeyPatch.context() as cheaper:
        cheaper.setattr(passwords, "_N", 2**10)
        yield


async def _seed(db: Database) -> None:
    """The `seeded` template: the demo's first admin, organisations and operators."""
    context = DemoContext(db, participants=0, seed=0, progress=lambda *_: None)
    with cheaper_passwords():
        await people.first_admin(context)
        await organisations.groups_and_platforms(context)
        await people.staff(context)


# --- PostgreSQL databases ---------------------------------------------------------------------


def _pg_admin_url():
    return make_url(PG_URL).set(drivername="postgresql+asyncpg")


async def _pg_execute(*statements: str) -> None:
    engine = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _pg_name(suffix: str, tag: str = SESSION_TAG) -> str:
    base = make_url(PG_URL).database or "mitra"
    return "_".join(part for part in (base, tag, suffix) if part)[:63]


def _pg_url_for(name: str) -> str:
    return _pg_admin_url().set(database=name).render_as_string(hide_password=False)


def _pg_template_name(template: str) -> str:
    """A template database of the whole run (every worker copies it)."""
    return _pg_name(f"{run_tag()}_tpl_{template}", tag="")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller, before its workers start
        start_run()


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):  # the controller, after every worker has finished
        if PG_URL:  # whichever of them were built (IF EXISTS)
            admin = _pg_admin_url().set(drivername="postgresql").render_as_string(hide_password=False)
            asyncio.run(drop_databases(admin, [_pg_template_name(name) for name in (*TEMPLATES, "small_demo")]))
        end_run()


# --- templates --------------------------------------------------------------------------------


@dataclass
class Templates:
    sqlite: dict[str, Path]
    postgresql: dict[str, str]
    pg_copies: PgDatabases | None = None


async def _fill_template(url: str, template: str) -> None:
    db = create_database(url)
    try:
        if template == "small_demo":  # built on a copy of `empty`
            with cheaper_passwords():
                await build_demo(db, participants=120, seed=3)
        else:
            await migrate.upgrade(db)
            if template == "seeded":
                await _seed(db)
    finally:
        await db.dispose()


def _sqlite_template(template: str) -> Path:
    return run_folder() / f"{template}.db"


def _build_sqlite_template(template: str) -> None:
    path = _sqlite_template(template)
    for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        leftover.unlink(missing_ok=True)  # of a build that a killed worker left half done
    if template == "small_demo":
        shutil.copyfile(_sqlite_template("empty"), path)
    asyncio.run(_fill_template(str(path), template))


def _build_pg_template(template: str) -> None:
    database = _pg_template_name(template)
    copy_of = f' TEMPLATE "{_pg_template_name("empty")}"' if template == "small_demo" else ""
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                            f'CREATE DATABASE "{database}"{copy_of}'))
    asyncio.run(_fill_template(_pg_url_for(database), template))


def _build_run_template(backend: str, template: str) -> None:
    (_build_sqlite_template if backend == "sqlite" else _build_pg_template)(template)


@pytest.fixture(scope="session")
def templates() -> Templates:
    backends = BACKENDS if PG_URL else ["sqlite"]
    all_built_once({f"{backend}-{name}": partial(_build_run_template, backend, name)
                    for backend in backends for name in TEMPLATES})
    sqlite_files = {name: _sqlite_template(name) for name in TEMPLATES}
    pg_names = {}
    pg_copies = None
    if PG_URL:
        pg_names = {name: _pg_template_name(name) for name in TEMPLATES}
        pg_copies = PgDatabases(_pg_admin_url(), pg_names, prefix=_pg_name("t"))
    yield Templates(sqlite_files, pg_names, pg_copies)
    if pg_copies:
        pg_copies.close()


# --- per-test databases ---------------------------------------------------------------------


@pytest.fixture
def backend(request) -> str:
    """The back end a test runs on; which ones it gets is decided in `pytest_generate_tests`."""
    if request.param == "postgresql":
        needs_postgres()
    return request.param


def needs_postgres() -> None:
    """Skip without a PostgreSQL server to test on; in CI (MITRA_REQUIRE_POSTGRES), fail."""
    if not PG_URL:
        if os.environ.get("MITRA_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} must be set where MITRA_REQUIRE_POSTGRES is (CI)")
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (.ci/run does)")


async def _fresh_url(backend: str, template: str, templates: Templates, tmp_path: Path,
                     fresh: bool = False) -> tuple[str, str | None]:
    """A URL to a database holding `template` as new; for PostgreSQL also its name (to give back).
    A PostgreSQL database is one a finished test left, reset (tests/pg_databases.py), unless
    `fresh` asks for a new copy."""
    if backend == "sqlite":
        path = tmp_path / f"{template}-{next(_counter)}.db"
        shutil.copyfile(templates.sqlite[template], path)
        return str(path), None
    assert templates.pg_copies is not None
    name = await templates.pg_copies.take(template, fresh=fresh)
    return _pg_url_for(name), name


@pytest.fixture
async def db_url_factory(backend, templates, tmp_path, request) -> AsyncIterator:
    """Call `await db_url_factory("empty"|"seeded")` for the URL of a database as new."""
    taken: list[tuple[str, str]] = []
    # $MITRA_TEST_FRESH_DATABASES=1: every test a new copy, for whoever suspects a reset.
    fresh = request.node.get_closest_marker("fresh_database") is not None or bool(os.environ.get(FRESH_ENV))

    async def make(template: str = "seeded") -> str:
        url, name = await _fresh_url(backend, template, templates, tmp_path, fresh)
        if name:
            taken.append((template, name))
        return url

    yield make
    for template, name in taken:
        assert templates.pg_copies is not None
        templates.pg_copies.give_back(template, name)


@pytest.fixture
async def db_url(db_url_factory) -> str:
    """URL of a new seeded database (demo operators and platforms)."""
    return await db_url_factory("seeded")


@pytest.fixture
async def db(db_url) -> AsyncIterator[Database]:
    """A seeded database's engines, disposed after the test."""
    database = create_database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def empty_db(db_url_factory) -> AsyncIterator[Database]:
    """A migrated database with no rows at all."""
    database = create_database(await db_url_factory("empty"))
    yield database
    await database.dispose()


@pytest.fixture
async def small_demo(backend, templates, db_url_factory) -> AsyncIterator[Database]:
    """A database holding the demo of 120 participants (seed 3), every area with rows: built once
    per back end in the run, the first time a test asks for it, and copied for each test."""
    if "small_demo" not in (templates.sqlite if backend == "sqlite" else templates.postgresql):
        # In a thread: the build runs its own event loop, and may wait for another worker's build.
        await asyncio.to_thread(built_once, f"{backend}-small_demo", partial(_build_run_template, backend, "small_demo"))
        if backend == "sqlite":
            templates.sqlite["small_demo"] = _sqlite_template("small_demo")
        else:  # the copies' own table of templates, too
            templates.postgresql["small_demo"] = _pg_template_name("small_demo")
    database = create_database(await db_url_factory("small_demo"))
    yield database
    await database.dispose()


@pytest.fixture
def snap_compare(snap_compare):
    """The plugin's, taking its screenshot once the screen holds still (tests/snapshot_text.py)."""
    from tests.snapshot_text import held_still  # a plugin (pytest_plugins): pytest imports it first

    return held_still(snap_compare)


@pytest.fixture(scope="session")
def demo_cache() -> Path:
    """A demo template cache ($MITRA_CACHE_DIR) for the tests that start `mitra demo` or a demo
    server, and for the guided tour: the template for `cli_support.DEMO_ARGS` is in it before
    any of them starts, built once per run by the first worker to ask (the others wait), so that
    processes starting at once never each build their own."""
    folder = run_folder() / "demo-cache"
    folder.mkdir(exist_ok=True)
    built_once("demo-cache", partial(_build_demo_template, folder))
    return folder


def _build_demo_template(folder: Path) -> None:
    from fixtures.template import CACHE_ENV
    from tests.cli_support import DEMO_PARTICIPANTS, DEMO_SEED
    from tui.commands.console import _built_template

    with pytest.MonkeyPatch.context() as patch, cheaper_passwords():
        patch.setenv(CACHE_ENV, str(folder))
        asyncio.run(_built_template(DEMO_PARTICIPANTS, DEMO_SEED, fresh=False))


class Actors:
    """The seeded operators as Actors: `actors.admin`, `actors["tokopedia"]` ..."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, Actor] = {}

    async def load(self) -> Actors:
        self._cache = await operators.load_actors(self._db, (
            "admin", "reviewer", "curator", "coordinator", "finance", "approver", "approver2", "auditor",
            "tokopedia", "bukalapak", "skillacademy", "maubelajarapa", "pintaria", "sekolahmu",
            "pijarmahir", "sisnaker",
        ))
        return self

    def __getattr__(self, name: str) -> Actor:
        try:
            return self._cache[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Actor:
        return self._cache[name]


@pytest.fixture
async def actors(db) -> Actors:
    return await Actors(db).load()


@pytest.fixture(autouse=True)
def no_message_id_reaches_the_screen():
    """Fail a test in which the console or the CLI asked for a text no catalog holds: its key
    (a message id such as "participants.refusal.x") would have been shown to the operator; or put
    an internal code ("tax_status") into a sentence where words belong. Each test starts in
    English: one that stopped half-way in Indonesian would otherwise fail the worker's later ones."""
    from tui import i18n

    i18n.set_language("en")
    i18n.MISSING.clear()
    i18n.CODES.clear()
    i18n.WATCH_CODES = True
    yield
    missing, codes = sorted(i18n.MISSING), sorted(i18n.CODES)
    i18n.MISSING.clear()
    i18n.CODES.clear()
    assert not missing, f"untranslated message ids shown: {missing}"
    assert not codes, f"internal codes shown in a sentence: {codes}"


# Tiers: `-m "not console and not slow"` (the store, the CLI, files, rules) runs in half a
# minute on SQLite while working; the console's tests and the demo builds are most of the suite's time. A test is a console
# test when it drives the console itself, which its own code says.
CONSOLE_CODE = re.compile(r"\brun_test\(|\bpilot\b|\bsnap_compare\b|\bin_a_pty\(|\bPtyScreen\(|playwright|\bServer\(|\bweb_server\b")
# A test that needs a demo database waits for a demo build (seconds) the first time one is asked for.
DEMO_BUILDS = frozenset({"small_demo", "demo_file", "demo_cache"})


@cache  # asked for each of a function's parametrized tests, in each worker: its source is read once
def _drives_the_console(function) -> bool:
    return CONSOLE_CODE.search(inspect.getsource(function)) is not None


def pytest_generate_tests(metafunc):
    """Every store, rule, file and command line test runs on SQLite and on PostgreSQL. A console
    test drives the screens, and the screens reach the database only through those services, so it
    runs on SQLite alone; unless it is marked `both_backends`: it tests how the console meets a
    back end's own behaviour (a search or a count the back ends do differently, a lost server, a
    record changed by someone else, a write still in flight)."""
    if "backend" not in metafunc.fixturenames:
        return
    on_both = metafunc.definition.get_closest_marker("both_backends") or not _drives_the_console(metafunc.function)
    metafunc.parametrize("backend", BACKENDS if on_both else ["sqlite"], indirect=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and _drives_the_console(function):
            item.add_marker(pytest.mark.console)
        if DEMO_BUILDS.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # The longest tests first. pytest-xdist's `worksteal` gives each worker a run of this list
    # and lets a worker that runs out take the end of another's: the longest tests start at
    # once, and what is left for the end is short. A long test begun near the end kept the
    # other workers idle for its remainder (the tour: 11 s of a 270 s run, on 2 cores).
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("console") else 2)
