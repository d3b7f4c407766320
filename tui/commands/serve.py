"""`mitra serve ssh` and `mitra serve web`: the console for field staff over SSH (tui/ssh_server.py)
and in a browser (tui/web_server.py)."""

from __future__ import annotations

import asyncio
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
@db_option
@lang_option
def ssh(listen, trusted_ca, idle_timeout, max_session, max_connections, host_key_dir, db_url) -> None:
    """Give each SSH connection its own console, logged in by the operator's key."""
    import asyncssh
    from platformdirs import user_data_dir

    from store.services import operator_keys
    from tui import ssh_server
    from tui.commands.console import open_checked
    from tui.ssh_handoff import HandoffServer

    address = _listen(listen)
    db = open_checked(db_url)
    key = ssh_server.host_key(Path(host_key_dir or user_data_dir("mitra", appauthor=False)))

    async def lookup(_username: str, blob: bytes) -> str | None:
        return await operator_keys.operator_for_key(db, blob)

    state = ssh_server.ServerState(
        ssh_server.Limits(idle_timeout, max_session, max_connections), HandoffServer(),
        ssh_server.console_command(db_url), lookup, partial(operator_keys.active_operator, db),
        trusted_ca=[asyncssh.read_public_key(trusted_ca)] if trusted_ca else [],
    )

    async def main() -> None:
        server = await ssh_server.start_server(address, key, state)
        click.echo(t("cli.serve.ssh_listening", host=address[0], port=address[1],
                     fingerprint=ssh_server.fingerprint(key)), err=True)
        try:
            await server.wait_closed()
        finally:
            await state.handoff.close()
            await db.dispose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


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
