"""`mitra serve ssh` with the real OpenSSH client: a known key logs its operator straight into the
console, resizes re-lay it out, a 0x0 window falls back to 80x24, an idle connection is closed,
unknown keys, deactivated operators and clients without a terminal are refused, a burst of keys
over the link arrives in order, and a dropped client's console ends its session."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import time

import pytest
from sqlalchemy import select

from store.models import AuditEvent, OperatorSession
from store.services import operator_keys, operators
from store.uow import read_session
from tests.cli_support import MITRA
from tests.pty_support import in_a_pty, raw_until, screen_of, set_size, stop

pytestmark = pytest.mark.skipif(subprocess.run(["which", "ssh"], capture_output=True).returncode != 0,
                                reason="needs the OpenSSH client (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _key(tmp_path, name: str) -> str:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)


class Server:
    def __init__(self, db_url: str, tmp_path, *extra: str) -> None:
        self.port = _free_port()
        self.tmp_path = tmp_path
        env = {**os.environ, "LANG": "C.UTF-8"}
        env.pop("MITRA_PASSWORD", None)
        self.process = subprocess.Popen(
            [MITRA, "serve", "ssh", "--listen", f"127.0.0.1:{self.port}", "--db", db_url,
             "--host-key-dir", str(tmp_path / "host"), "--lang", "en", *extra],
            stderr=subprocess.PIPE, text=True, env=env)
        self.banner = self.process.stderr.readline()
        assert "Host key fingerprint: SHA256:" in self.banner, self.banner

    def ssh(self, key: str, *options: str, columns: int = 100, lines: int = 30):
        env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        return in_a_pty(self.command(key, *options), env, columns, lines)

    def command(self, key: str, *options: str) -> list[str]:
        return ["ssh", "-p", str(self.port), "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={self.tmp_path / 'known_hosts'}",
                "-o", "LogLevel=ERROR", *options, "field@127.0.0.1"]

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("the SSH side is the same on both back ends; the key lookups are tested on both")


async def _open_sessions(db) -> list[OperatorSession]:
    async with read_session(db) as session:
        return list((await session.execute(select(OperatorSession).order_by(OperatorSession.id))).scalars())


async def test_a_known_key_logs_in_resizes_and_takes_a_burst(sqlite_only, db, db_url, actors, tmp_path):
    key = _key(tmp_path, "coordinator")
    await operator_keys.add_key(db, actors.admin, "coordinator", open(key + ".pub").read())
    server = Server(db_url, tmp_path)
    process, fd, screen, stream = server.ssh(key, "-tt")
    try:
        screen_of(fd, screen, stream, lambda text: "Work waiting for you" in text, timeout=90)
        assert "coordinator (coordinator)" in screen.display[0]  # no password asked: straight in
        # The window shrinks: the console lays itself out again (the language tag at the right edge).
        # (The screen we read keeps its 100 columns: the console's new top line ends at column 60.)
        assert not screen.display[0][:60].rstrip().endswith("EN")
        set_size(fd, 60, 20)
        process.send_signal(signal.SIGWINCH)
        screen_of(fd, screen, stream, lambda _: screen.display[0][:60].rstrip().endswith("EN"))
        # `y` on a list copies its record's reference to the operator's own clipboard: OSC 52,
        # through the SSH link to the client's terminal.
        os.write(fd, b"7")
        screen_of(fd, screen, stream, lambda text: re.search(r"operator \d", text) is not None)
        os.write(fd, b"y")
        raw = raw_until(fd, stream, b"\x1b]52;c;")
        copied = base64.b64decode(re.search(rb"\x1b]52;c;([A-Za-z0-9+/=]*)", raw).group(1)).decode()
        async with read_session(db) as session:
            assert await session.get(AuditEvent, int(copied)) is not None  # the event's number
        # A burst over the link, in one write: the Audit area, then its operators and sessions view.
        os.write(fd, b"7o")
        screen_of(fd, screen, stream, lambda text: "127.0.0.1" in text)
        [row] = await _open_sessions(db)
        assert (row.origin, row.peer, row.ended_at) == ("ssh", "127.0.0.1", None)
        assert row.key_fingerprint.startswith("SHA256:")
        # Dropped without a goodbye: the console ends and its session with it.
        process.kill()
        process.wait()
        deadline = time.monotonic() + 30
        while (await _open_sessions(db))[0].ended_at is None:
            assert time.monotonic() < deadline, "the dropped client's console still runs"
            time.sleep(0.5)
    finally:
        stop(process, fd)
        server.stop()


async def test_refused_unknown_key_deactivated_operator_no_terminal(sqlite_only, db, db_url, actors, tmp_path):
    known, stranger = _key(tmp_path, "reviewer"), _key(tmp_path, "stranger")
    await operator_keys.add_key(db, actors.admin, "reviewer", open(known + ".pub").read())
    server = Server(db_url, tmp_path)
    try:
        refused = subprocess.run(server.command(stranger, "-tt"), capture_output=True, text=True, timeout=30)
        assert refused.returncode == 255 and "Permission denied (publickey)" in refused.stderr
        no_terminal = subprocess.run(server.command(known, "-T"), capture_output=True, text=True, timeout=30)
        assert no_terminal.returncode == 1 and "needs a terminal" in no_terminal.stderr
        await operators.set_active(db, actors.admin, "reviewer", False, "left the program")
        gone = subprocess.run(server.command(known, "-tt"), capture_output=True, text=True, timeout=30)
        assert gone.returncode == 255 and "Permission denied (publickey)" in gone.stderr
        assert await _open_sessions(db) == []
    finally:
        server.stop()


async def test_idle_connections_close_and_a_0x0_window_still_works(sqlite_only, db, db_url, actors, tmp_path):
    key = _key(tmp_path, "finance")
    await operator_keys.add_key(db, actors.admin, "finance", open(key + ".pub").read())
    server = Server(db_url, tmp_path, "--idle-timeout", "8")
    process, fd, screen, stream = server.ssh(key, "-tt", columns=0, lines=0)
    screen.resize(24, 80)
    try:
        screen_of(fd, screen, stream, lambda text: "finance (finance)" in text, timeout=90)
        assert re.search(r"EN\s*$", screen.display[0])  # laid out for 80 columns
        screen_of(fd, screen, stream, lambda text: "idle for too long" in text, timeout=30)
        assert process.wait(timeout=15) is not None
    finally:
        stop(process, fd)
        server.stop()


def _certificate(tmp_path, ca: str, user_key: str, principal: str, validity: str = "+1h") -> None:
    """Sign `user_key`.pub with the CA for `principal` (ssh-keygen writes `user_key`-cert.pub)."""
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", f"{principal}@office", "-n", principal,
                    "-V", validity, user_key + ".pub"], check=True, capture_output=True)


async def test_a_certificate_of_the_trusted_authority_logs_in_its_principal(sqlite_only, db, db_url, actors,
                                                                          tmp_path):
    ca, user = _key(tmp_path, "office_ca"), _key(tmp_path, "field_staff")
    _certificate(tmp_path, ca, user, "coordinator")
    server = Server(db_url, tmp_path, "--trusted-ca", ca + ".pub")

    def as_user(name: str, key: str = user) -> list[str]:
        return [*server.command(key, "-tt", "-o", f"CertificateFile={key}-cert.pub")[:-1], f"{name}@127.0.0.1"]

    try:
        # The certificate names coordinator: as anyone else it is refused (asyncssh checks principals).
        other = subprocess.run(as_user("admin"), capture_output=True, text=True, timeout=30)
        assert other.returncode == 255 and "Permission denied" in other.stderr
        # Signed by another authority: refused.
        rogue_ca, rogue_user = _key(tmp_path, "rogue_ca"), _key(tmp_path, "rogue_user")
        _certificate(tmp_path, rogue_ca, rogue_user, "coordinator")
        rogue = subprocess.run(as_user("coordinator", rogue_user), capture_output=True, text=True, timeout=30)
        assert rogue.returncode == 255 and "Permission denied" in rogue.stderr
        # As its principal: straight into the console, no key registered, the session names the CA.
        env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        process, fd, screen, stream = in_a_pty(as_user("coordinator"), env, 100, 30)
        try:
            screen_of(fd, screen, stream, lambda text: "Work waiting for you" in text, timeout=90)
            assert "coordinator (coordinator)" in screen.display[0]
            [row] = await _open_sessions(db)
            assert (row.origin, row.peer) == ("ssh", "127.0.0.1")
            assert row.key_fingerprint.startswith("ca:SHA256:")
        finally:
            stop(process, fd)
        # A deactivated operator's certificate no longer opens anything.
        await operators.set_active(db, actors.admin, "coordinator", False, "left the program")
        gone = subprocess.run(as_user("coordinator"), capture_output=True, text=True, timeout=30)
        assert gone.returncode == 255 and "Permission denied" in gone.stderr
    finally:
        server.stop()
