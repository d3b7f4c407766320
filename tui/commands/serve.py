"""`mitra serve ssh` and `mitra serve web`: the console for field staff over SSH (tui/ssh_server.py)
and in a browser (tui/web_server.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from functools import partial
from pathlib import Path

import click

from tui.commands.options import db_option, lang_option
from tui.i18n import t


@click.group("serve")
def serve_group() -> None:
    """Serve the console to field staff: over SSH or in a browser."""


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(t("cli.serve.bad_listen", value=value))
    return host.strip("[]"), int(port)


@serve_group.command("ssh")
@click.option("--listen", default="127.0.0.1:2222", show_default=True, help="Address and port to listen on.")
@click.option("--trusted-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Also accept certificates from this SSH certificate authority (principal = user name).")
@click.option("--idle-timeout", type=click.FloatRange(min=1), default=15 * 60, show_default=True,
              help="Seconds without a key press before a connection is closed.")
@click.option("--max-session", type=click.FloatRange(min=1), default=8 * 3600, show_default=True,
              help="Seconds a connection may last at most.")
@click.option("--max-connections", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--host-key-dir", type=click.Path(file_okay=False), default=None,
              help="Where the host key is kept (default: Mitra's data directory).")
@click.option("--demo", is_flag=True,
              help="A training server: no key needed, every connection gets its own copy of the demo database.")
@click.option("--participants", type=click.IntRange(min=0), default=2000, show_default=True,
              help="With --demo: how many participants the demo database has.")
@click.option("--seed", type=int, default=2020, show_default=True, help="With --demo: the demo's generator seed.")
@click.option("--sandbox-lifetime", type=click.FloatRange(min=1), default=None,
              help="With --demo: seconds a sandbox lasts at most (default: --max-session).")
@click.option("--sandbox-dir", type=click.Path(file_okay=False), default=None,
              help="With --demo: where the server makes its folder of sandboxes (default: the temporary folder).")
@db_option
@lang_option
def ssh(listen, trusted_ca, idle_timeout, max_session, max_connections, host_key_dir, demo, participants, seed,
        sandbox_lifetime, sandbox_dir, db_url) -> None:
    """Give each SSH connection its own console, logged in by the operator's key (with --demo, on a sandbox
    of the demo database of its own, no key needed)."""
    from platformdirs import user_data_dir

    from tui import ssh_server

    address = _listen(listen)
    limits = ssh_server.Limits(idle_timeout, max_session, max_connections)
    if demo:
        state, db = _demo_state(limits, db_url, participants, seed, sandbox_lifetime or max_session, sandbox_dir), None
    else:
        state, db = _operators_state(limits, db_url, trusted_ca)

    async def main(key, banner: str) -> None:
        server = await ssh_server.start_server(address, key, state)
        click.echo(banner, err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            # Stopped (Ctrl+C, SIGTERM): no new connection, every console hung up and waited for
            # (each logs its session out; a demo's sandboxes go with them).
            server.close()
            await ssh_server.end_consoles(state)
            await server.wait_closed()
            if state.handoff is not None:
                await state.handoff.close()
            if db is not None:
                await db.dispose()

    try:
        key = ssh_server.host_key(Path(host_key_dir or user_data_dir("mitra", appauthor=False)))
        if demo:
            banner = t("cli.serve.ssh_demo_listening", host=address[0], port=address[1],
                       lifetime=_duration(state.sandboxes.lifetime), fingerprint=ssh_server.fingerprint(key))
        else:
            banner = t("cli.serve.ssh_listening", host=address[0], port=address[1],
                       fingerprint=ssh_server.fingerprint(key))
        asyncio.run(main(key, banner))
    except KeyboardInterrupt:
        pass
    finally:
        if state.sandboxes is not None:  # the server's folder of sandboxes, whatever ended it
            shutil.rmtree(state.sandboxes.root, ignore_errors=True)


def _operators_state(limits, db_url: str | None, trusted_ca: str | None):
    """The office's server: operators log in by their keys (or the trusted authority's certificates)."""
    from store.services import operator_keys
    from tui import ssh_server
    from tui.commands.console import open_checked
    from tui.ssh_handoff import HandoffServer

    db = open_checked(db_url)

    async def lookup(_username: str, blob: bytes) -> str | None:
        return await operator_keys.operator_for_key(db, blob)

    state = ssh_server.ServerState(
        limits, HandoffServer(), ssh_server.console_command(db_url), lookup,
        partial(operator_keys.active_operator, db),
        trusted_ca=[ssh_server.asyncssh.read_public_key(trusted_ca)] if trusted_ca else [],
    )
    return state, db


def _demo_state(limits, db_url: str | None, participants: int, seed: int, lifetime: float, sandbox_dir: str | None):
    """A training server: the demo template built (once, cached) before it listens, copied for
    the server into its own folder, where every connection gets a sandbox of its own."""
    from fixtures.template import copy_sqlite
    from store.migrate import READ_DATABASE_URL_ENV
    from tui import ssh_server
    from tui.commands.common import Failure, run
    from tui.commands.console import _built_template

    if db_url is not None or os.environ.get(READ_DATABASE_URL_ENV):
        raise Failure(t("cli.serve.demo_with_db"))
    template = run(lambda: _built_template(participants, seed, fresh=False))
    if sandbox_dir:
        os.makedirs(sandbox_dir, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mitra-sandboxes-", dir=sandbox_dir))  # mode 0700
    try:
        # The server's own copy: a cache pruned or rebuilt meanwhile never pulls it away.
        copy_sqlite(template, root / "template.db")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    sandboxes = ssh_server.Sandboxes(root, root / "template.db", lifetime)
    return ssh_server.ServerState(limits, None, ssh_server.console_command(None), None, sandboxes=sandboxes)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


@serve_group.command("web")
@click.option("--listen", default="127.0.0.1:8000", show_default=True, help="Address and port to listen on.")
@click.option("--public-url", default=None,
              help="The address browsers use, when it is not http://HOST:PORT (behind a TLS proxy: https://...).")
@db_option
@lang_option
def web(listen, public_url, db_url) -> None:
    """Give each browser tab its own console, behind the console's own login screen."""
    from tui import web_server
    from tui.commands.console import open_checked
    from tui.i18n import current_language

    host, port = _listen(listen)
    open_checked(db_url)  # an unreachable database or another revision: one line, before serving
    # Every tab's console inherits this environment: the database, the browser as its origin.
    web_server.prepare_environment(db_url)
    url = public_url or f"http://{host}:{port}"
    server = web_server.ConsoleServer(web_server.console_command(current_language()), host, port, url,
                                      t("cli.serve.web_listening", url=url, host=host, port=port))
    server.serve()
