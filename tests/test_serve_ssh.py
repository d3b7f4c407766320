"""`mitra serve ssh` with the real OpenSSH client: a known key logs its operator straight into the
console, resizes re-lay it out, a 0x0 window falls back to 80x24, an idle connection is closed,
unknown keys, deactivated operators and clients without a terminal are refused, a burst of keys
over the link arrives in order, and a dropped client's console ends its session. A demo server
(`--demo`) gives every connection a sandbox of its own: two trainees at once each approve a
batch in their own copy and see only their own approval; a sandbox is deleted with its connection
or when its time is up; a real database is refused."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import closing

import pytest
from sqlalchemy import select

from store.models import AuditEvent, OperatorSession
from store.services import operator_keys, operators
from store.uow import read_session
from tests.cli_support import DEMO_ARGS, MITRA, mitra
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
        os.write(fd, b"7s")
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


async def test_typing_keeps_a_session_past_its_idle_limit_until_its_maximum_length(sqlite_only, db, db_url, actors,
                                                                                   tmp_path):
    """The server sleeps until a session's nearest limit (not a tick a second): a key typed moves
    the idle limit on, and the maximum length still ends a session that never idles."""
    key = _key(tmp_path, "finance")
    await operator_keys.add_key(db, actors.admin, "finance", open(key + ".pub").read())
    server = Server(db_url, tmp_path, "--idle-timeout", "6", "--max-session", "20")
    process, fd, screen, stream = server.ssh(key, "-tt")
    try:
        screen_of(fd, screen, stream, lambda text: "finance (finance)" in text, timeout=90)
        typing_since = time.monotonic()
        text = ""
        while "disconnected" not in text and time.monotonic() < typing_since + 40:
            os.write(fd, b"\x1b[B")  # a key that changes nothing on the dashboard
            try:
                text = screen_of(fd, screen, stream, lambda shown: "disconnected" in shown, timeout=1)
            except AssertionError:
                continue  # a second more typed, still connected
        assert "maximum session length reached" in text, text
        assert time.monotonic() - typing_since > 6 + 2  # typed on well past the idle limit
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


# --- a demo server: a sandbox per trainee --------------------------------------------------------

class DemoServer(Server):
    def __init__(self, tmp_path, cache, *extra: str) -> None:
        self.port = _free_port()
        self.tmp_path = tmp_path
        self.sandboxes = tmp_path / "sandboxes"  # the server makes its own folder in here
        env = {key: value for key, value in os.environ.items()
               if key not in ("MITRA_PASSWORD", "MITRA_DATABASE_URL", "MITRA_READ_DATABASE_URL")}
        env.update(LANG="C.UTF-8", MITRA_CACHE_DIR=str(cache))
        self.process = subprocess.Popen(
            [MITRA, "serve", "ssh", "--demo", *DEMO_ARGS, "--listen", f"127.0.0.1:{self.port}",
             "--host-key-dir", str(tmp_path / "host"), "--sandbox-dir", str(self.sandboxes), "--lang", "en", *extra],
            stderr=subprocess.PIPE, text=True, env=env)
        # The demo is built (or found in the cache) before the server listens; then the banner.
        for line in self.process.stderr:
            if "Host key fingerprint: SHA256:" in line:
                self.banner = line
                break
        else:
            raise AssertionError(f"the demo server ended before it listened: {self.process.wait()}")

    def command(self, user: str, *options: str) -> list[str]:
        """As `user`, with no key at all: a demo server asks for none."""
        return ["ssh", "-p", str(self.port), "-o", "PubkeyAuthentication=no", "-o", "PasswordAuthentication=no",
                "-o", "KbdInteractiveAuthentication=no", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={self.tmp_path / 'known_hosts'}", "-o", "LogLevel=ERROR", *options,
                f"{user}@127.0.0.1"]

    def folders(self) -> list:
        """The server's folder of sandboxes (made under --sandbox-dir), or none."""
        return list(self.sandboxes.glob("mitra-sandboxes-*"))

    def sandbox(self, name: str):
        [root] = self.folders()
        return root / name / "demo.db"


def _rows(path, query: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(query, args).fetchall()


def _batch(path, batch_id: int) -> tuple[str, list[str]]:
    """The batch's state and who approved it."""
    [(state,)] = _rows(path, "SELECT state FROM payment_batch WHERE id = ?", batch_id)
    approvers = _rows(path, "SELECT o.username FROM batch_approval a JOIN operator o ON o.id = a.approver_id"
                            " WHERE a.batch_id = ? ORDER BY a.id", batch_id)
    return state, [name for (name,) in approvers]


def _to_approve(path, approver: str, other_than: int | None = None) -> int:
    """A submitted batch `approver` has not approved yet (and not `other_than`)."""
    found = _rows(path, "SELECT b.id FROM payment_batch b WHERE b.state = 'submitted' AND b.id IS NOT ?"
                        " AND NOT EXISTS (SELECT 1 FROM batch_approval a JOIN operator o ON o.id = a.approver_id"
                        " WHERE a.batch_id = b.id AND o.username = ?) ORDER BY b.id DESC", other_than, approver)
    assert found, f"the demo has no submitted batch left for {approver}"
    return found[0][0]


def _list_state(text: str, batch_id: int) -> str | None:
    """The state the batches list shows for `batch_id`."""
    found = re.search(rf"^\s*{batch_id}\s+\S.*?\s(draft|submitted|approved|rejected|cancelled|sent|reconciled)\s",
                      text, re.MULTILINE)
    return found.group(1) if found else None


@pytest.mark.slow  # builds the demo (once per session)
def test_a_class_over_ssh_each_trainee_approves_in_a_sandbox_of_their_own(tmp_path, demo_cache):
    server = DemoServer(tmp_path, demo_cache)
    try:
        assert "demo" in server.banner and "sandbox of its own" in server.banner
        env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        clients = {user: in_a_pty(server.command(user, "-tt"), env, 100, 30) for user in ("ani", "budi")}  # at once
        sandboxes, batches = {}, {}
        try:
            # Each on the login screen of a sandbox named after them, the name in the DEMO badge.
            for user, (_, fd, screen, stream) in clients.items():
                screen_of(fd, screen, stream, lambda text, badge=rf"DEMO · {user}-\d+":
                          "Demo operators" in text and re.search(badge, text.splitlines()[0]) is not None, timeout=90)
                sandboxes[user] = re.search(rf"DEMO · ({user}-\d+)", screen.display[0]).group(1)
            assert sandboxes["ani"] != sandboxes["budi"]
            template = server.folders()[0] / "template.db"
            batches["ani"] = _to_approve(template, "approver")
            batches["budi"] = _to_approve(template, "approver2", other_than=batches["ani"])
            # Logged in as a demo approver each (user name, Tab, password, Enter: one burst), in Payments.
            for user, operator in (("ani", "approver"), ("budi", "approver2")):
                _, fd, screen, stream = clients[user]
                os.write(fd, operator.encode() + b"\tdemo\r")
                screen_of(fd, screen, stream, lambda text, who=f"{operator} (approver)": who in text.splitlines()[0])
                os.write(fd, b"6")
                screen_of(fd, screen, stream, lambda text: "batches shown, newest first" in text)
            # Each approves a different batch: down the list (newest first) to it, open, approve, confirm.
            for user in ("ani", "budi"):
                _, fd, screen, stream = clients[user]
                batch_id = batches[user]
                newer = _rows(template, "SELECT count(*) FROM payment_batch WHERE id > ?", batch_id)[0][0]
                os.write(fd, b"j" * newer + b"\r")
                screen_of(fd, screen, stream, lambda text, b=batch_id: f"Batch {b} · " in text)
                os.write(fd, b"a")
                screen_of(fd, screen, stream, lambda text, b=batch_id: f"Approve batch {b}?" in text)
                os.write(fd, b"y")
                screen_of(fd, screen, stream, lambda text: "State: approved" in text)
            # Back on the list, refreshed: each sees their own batch approved, the other's untouched.
            for user, other in (("ani", "budi"), ("budi", "ani")):
                _, fd, screen, stream = clients[user]
                os.write(fd, b"\x1b")
                time.sleep(0.5)  # a lone Escape is told from a key sequence by a pause
                os.write(fd, b"r")
                screen_of(fd, screen, stream, lambda text, mine=batches[user], theirs=batches[other]:
                          _list_state(text, mine) == "approved" and _list_state(text, theirs) == "submitted")
                assert f"DEMO · {sandboxes[user]}" in screen.display[0]
            # The databases say the same: each sandbox holds its own approval, by its own approver.
            ani, budi = server.sandbox(sandboxes["ani"]), server.sandbox(sandboxes["budi"])
            assert _batch(ani, batches["ani"]) == ("approved", [*_batch(template, batches["ani"])[1], "approver"])
            assert _batch(ani, batches["budi"]) == _batch(template, batches["budi"])
            assert _batch(budi, batches["budi"]) == ("approved", [*_batch(template, batches["budi"])[1], "approver2"])
            assert _batch(budi, batches["ani"]) == _batch(template, batches["ani"])
            assert _batch(template, batches["ani"])[0] == _batch(template, batches["budi"])[0] == "submitted"
        finally:
            for process, fd, _, _ in clients.values():
                stop(process, fd)
        # Both gone: their sandboxes with them.
        deadline = time.monotonic() + 15
        while [path for path in server.folders()[0].iterdir() if path.name != "template.db"]:
            assert time.monotonic() < deadline, "a closed connection's sandbox is still there"
            time.sleep(0.2)
    finally:
        server.stop()  # also when a step above failed: a server left running outlives the suite
    assert server.folders() == []  # the server's folder goes when it stops


@pytest.mark.slow  # builds the demo (once per session)
def test_a_sandbox_is_deleted_when_its_time_is_up(tmp_path, demo_cache):
    server = DemoServer(tmp_path, demo_cache, "--sandbox-lifetime", "6")
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    # Any user name makes a sandbox name of letters, digits and dashes.
    process, fd, screen, stream = in_a_pty(server.command("Trainee.With.A.Long.Name", "-tt"), env, 100, 30)
    try:
        screen_of(fd, screen, stream, lambda text: "DEMO · trainee-with-a-l-1" in screen.display[0], timeout=90)
        assert server.sandbox("trainee-with-a-l-1").exists()
        screen_of(fd, screen, stream, lambda text: "this demo sandbox has reached its time and is deleted" in text,
                  timeout=30)
        assert process.wait(timeout=15) == 0
        assert not server.sandbox("trainee-with-a-l-1").parent.exists()
    finally:
        stop(process, fd)
        server.stop()


def test_a_demo_server_never_opens_a_real_database(tmp_path):
    refused = "A demo server never opens a real database"
    by_option = mitra("serve", "ssh", "--demo", "--db", str(tmp_path / "office.db"), "--lang", "en", password=None)
    assert by_option.returncode == 1 and by_option.stderr.startswith(refused), by_option.stderr
    by_environment = mitra("serve", "ssh", "--demo", "--lang", "en", password=None,
                           env={"MITRA_DATABASE_URL": str(tmp_path / "office.db")})
    assert by_environment.returncode == 1 and by_environment.stderr.startswith(refused), by_environment.stderr
    assert not (tmp_path / "office.db").exists()
