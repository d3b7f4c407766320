"""Mitra through PgBouncer in transaction pooling (`?pgbouncer=transaction` on the URL).

The bouncer here has ONE server connection for every client, so consecutive transactions of two
consoles run on the same server connection: a statement prepared by name, a session setting or a
session lock would collide or leak. PostgreSQL only (SQLite has no server); runs in CI, where
`.ci/run` installs Debian's pgbouncer package when it is missing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from store import migrate
from store.engine import create_database
from store.errors import ConfigError, DatabaseUnavailable
from store.models import Participant, Wave
from store.services import audit_log, operators, selection, waves
from store.uow import read_session
from tests.conftest import PG_ENV, PG_URL, _fresh_url
from tests.participants_support import add_participants, person, wave_input

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
START = dt.date(2024, 3, 1)
IN_WINDOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


def _needs(what: str, present: bool) -> None:
    if not present:
        if os.environ.get("MITRA_REQUIRE_POSTGRES"):
            pytest.fail(f"{what} is required in CI (.ci/run provides it)")
        pytest.skip(f"{what} is not available here")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bouncer() -> Iterator[int]:
    """A PgBouncer in transaction pooling with a single server connection; yields its port."""
    _needs(f"PostgreSQL ({PG_ENV})", bool(PG_URL))
    _needs("Debian's pgbouncer package", PGBOUNCER is not None)
    server = make_url(PG_URL)
    folder = Path(tempfile.mkdtemp(prefix="mitra-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 1\nmax_client_conn = 100\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"pgbouncer did not start: {process.stderr.read().decode()}") from None
                subprocess.run(["sleep", "0.05"], check=True)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def through(bouncer, templates, tmp_path) -> AsyncIterator[tuple[str, str]]:
    """(URL through the bouncer in transaction mode, the same database's direct URL)."""
    direct, name = await _fresh_url("postgresql", "seeded", templates, tmp_path)
    pooled = make_url(direct).set(port=bouncer, query={"pgbouncer": "transaction"})
    yield pooled.render_as_string(hide_password=False), direct
    templates.pg_copies.drop(name)


async def test_two_consoles_share_one_server_connection_through_pgbouncer(through):
    pooled_url, _direct = through
    first, second = create_database(pooled_url), create_database(pooled_url)
    try:
        admin = await operators.load_actor(first, "admin")
        coordinator = await operators.load_actor(second, "coordinator")
        await add_participants(first, coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(40)])
        for number in (21, 22):
            await waves.create_wave(second, admin, wave_input(number, quota=15, starts_on=START))
        # The same statements from both, at once and again (prepared statements would collide),
        # beside a selection (temporary tables, row locks, a streamed read; one wave at a time).
        results = await asyncio.gather(
            selection.select_participants(first, coordinator, 21, seed=1, at=IN_WINDOW),
            *(waves.list_waves(database, admin) for database in (first, second) for _ in range(3)),
        )
        results.append(await selection.select_participants(second, coordinator, 22, seed=2, at=IN_WINDOW))
        assert [result.selected for result in (results[0], results[-1])] == [15, 15]
        async with read_session(second) as session:
            held = (await session.execute(
                select(Wave.number, Participant.id).join(Participant, Participant.wave_id == Wave.id)
            )).all()
            # The timeouts travel with every transaction, as startup settings cannot.
            timeouts = (await session.execute(text("SELECT current_setting('statement_timeout'),"
                                                   " current_setting('lock_timeout')"))).one()
        assert len(held) == 30 and len({participant for _wave, participant in held}) == 30
        assert tuple(timeouts) == ("2min", "15s")
        auditor = await operators.load_actor(first, "auditor")
        verified = await audit_log.verify(first, auditor)
        assert verified.broken_id is None and verified.checked > 0
    finally:
        await first.dispose()
        await second.dispose()


async def test_without_the_pooling_mode_the_bouncer_is_refused_in_words_and_migrations_go_direct(through):
    pooled_url, _direct = through
    plain = create_database(make_url(pooled_url).difference_update_query(["pgbouncer"]))
    try:
        with pytest.raises(DatabaseUnavailable):
            await operators.load_actor(plain, "admin")  # PgBouncer refuses Mitra's startup settings
    finally:
        await plain.dispose()
    pooled = create_database(pooled_url)
    try:
        with pytest.raises(ConfigError) as refused:
            await migrate.upgrade(pooled)
        assert refused.value.key == "db.migrate_through_pgbouncer"
    finally:
        await pooled.dispose()
    with pytest.raises(ConfigError) as refused:
        create_database(make_url(pooled_url).update_query_dict({"pgbouncer": "session"}))
    assert refused.value.key == "config.bad_pgbouncer_mode"
