"""`mitra serve ssh`: an SSH server that gives every connection its own console.

Each connection's console runs in its own process under a pseudo-terminal (a crash or a leak
stays in one operator's session; the SSH server itself stays small). The server checks the
client's key against the operators' keys (store/services/operator_keys.py) and hands the
operator to the console by a one-time ticket (tui/ssh_handoff.py): a known key logs straight in,
an unknown key or a deactivated operator is refused before any console starts.

A demo server (`mitra serve ssh --demo`) asks for no key: every connection gets a sandbox of its
own, a copy of the demo database in a folder of the server's, with the console on it in demo mode
(its name in the DEMO badge), and the folder is deleted when that console ends.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import re
import shutil
import signal
import struct
import sys
import termios
import time
import warnings
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

with warnings.catch_warnings():
    # asyncssh still names DSA keys, which cryptography 51 deprecates as it is imported: a word
    # for asyncssh's maintainers, not for an operator starting a server (it led the server's output).
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

from tui.ssh_handoff import Handed, HandoffServer

FALLBACK_SIZE = (80, 24)  # for a client that reports a 0x0 window
KEEPALIVE_SECONDS = 10  # with 2 unanswered: a dropped client's console ends within 30 s
# What a console's environment never carries from the server's: the SSH server's own settings, a
# size that would override the pty's, and, for a demo's sandbox, any real database.
REAL_DATABASES = ("MITRA_DATABASE_URL", "MITRA_READ_DATABASE_URL")
SANDBOX_EXPIRED = b"\r\nMitra: this demo sandbox has reached its time and is deleted.\r\n"


@dataclass
class Limits:
    idle_timeout: float = 15 * 60
    max_session: float = 8 * 3600
    max_connections: int = 100
    failures_per_minute: int = 10  # failed authentications per client address


@dataclass(frozen=True)
class Sandbox:
    name: str  # shown in the console's DEMO badge
    folder: Path
    database: Path


@dataclass
class Sandboxes:
    """A demo server's sandboxes: one folder per connection under `root` (the server's own,
    owner-only), each with its own copy of `template`; a sandbox lasts `lifetime` seconds at most."""
    root: Path
    template: Path
    lifetime: float
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @staticmethod
    def base_name(username: str) -> str:
        """The SSH user name as letters, digits and dashes (16 at most), else "trainee"."""
        return re.sub(r"[^a-z0-9-]+", "-", username.lower()).strip("-")[:16].strip("-") or "trainee"

    async def make(self, username: str) -> Sandbox:
        from fixtures.template import copy_sqlite

        name = f"{self.base_name(username)}-{next(self.numbers)}"
        folder = self.root / name
        folder.mkdir(mode=0o700)
        sandbox = Sandbox(name, folder, folder / "demo.db")
        try:
            await asyncio.to_thread(copy_sqlite, self.template, sandbox.database)
        except BaseException:
            self.remove(sandbox)
            raise
        return sandbox

    @staticmethod
    def remove(sandbox: Sandbox) -> None:
        shutil.rmtree(sandbox.folder, ignore_errors=True)


@dataclass
class ServerState:
    limits: Limits
    handoff: HandoffServer | None  # None on a demo server: nobody is handed in
    console_command: list[str]
    # (user name, key blob) -> the operator's name or None; None on a demo server (nobody logs in)
    lookup: Callable[[str, bytes], Awaitable[str | None]] | None
    # (user name) -> that active operator's name or None (certificates)
    active: Callable[[str], Awaitable[str | None]] | None = None
    trusted_ca: list = field(default_factory=list)
    sandboxes: Sandboxes | None = None  # a demo server's
    connections: int = 0
    failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    consoles: dict[asyncio.Task, asyncio.Event] = field(default_factory=dict)  # running: their "end" events
    stopping: bool = False

    def too_many_failures(self, address: str) -> bool:
        recent = self.failures[address]
        while recent and recent[0] < time.monotonic() - 60:
            recent.popleft()
        return len(recent) >= self.limits.failures_per_minute

    def failed(self, address: str) -> None:
        self.failures[address].append(time.monotonic())


def host_key(folder: Path) -> asyncssh.SSHKey:
    """The server's host key, made on first run and kept (owner-only) in the data directory."""
    path = folder / "ssh_host_ed25519_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        path.write_bytes(key.export_private_key())
        path.chmod(0o600)
    return asyncssh.read_private_key(str(path))


def fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


class Gate(asyncssh.SSHServer):
    """One connection's authentication: public keys (or a trusted CA's certificates) only."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.address = ""
        self.username = ""
        self.handed: Handed | None = None
        self.counted = False

    def connection_made(self, connection: asyncssh.SSHServerConnection) -> None:
        self.connection = connection
        self.address = (connection.get_extra_info("peername") or ("?",))[0]
        if self.state.connections >= self.state.limits.max_connections:
            connection.close()
            return
        self.state.connections += 1
        self.counted = True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.state.connections -= 1
            self.counted = False

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.state.sandboxes is not None:
            return False  # a demo server: no authentication, everyone gets a sandbox of their own
        if self.state.too_many_failures(self.address):
            self.connection.close()
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        lookup = self.state.lookup
        operator = await lookup(username, key.public_data) if lookup is not None else None
        if operator is None:
            self.state.failed(self.address)
            return False
        self.handed = Handed(operator, fingerprint(key), self.address)
        return True

    async def validate_ca_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # A certificate signed by the trusted CA for an active operator; asyncssh then checks that
        # the certificate names this user name as a principal (and its validity period).
        trusted = any(key.public_data == ca.public_data for ca in self.state.trusted_ca)
        active = self.state.active
        operator = await active(username) if trusted and active is not None else None
        if operator is None:
            self.state.failed(self.address)
            return False
        self.handed = Handed(operator, "ca:" + fingerprint(key), self.address, "certificate")
        return True


def _set_size(fd: int, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        width, height = FALLBACK_SIZE
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _controlling_tty() -> None:
    """In the child, after setsid: the pseudo-terminal becomes its controlling terminal, so a
    resize reaches the console as SIGWINCH and a hang-up as SIGHUP."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def serve_console(state: ServerState, gate: Gate, process: asyncssh.SSHServerProcess) -> None:
    """One connection's console: a child process on a pseudo-terminal, bytes pumped both ways;
    on a demo server, on a sandbox of its own, deleted when the console has ended."""
    if process.get_terminal_type() is None:
        process.stderr.write(b"Mitra needs a terminal: connect with ssh -t (or without a command).\r\n")
        process.exit(1)
        return
    if state.stopping:
        process.exit(1)
        return
    ended = asyncio.Event()  # set: the console is to end (its client gone, a limit reached, the server stops)
    this = asyncio.current_task()
    assert this is not None  # asyncssh runs each process handler as a task
    state.consoles[this] = ended
    sandbox = None
    try:
        if state.sandboxes is not None:
            sandbox = await state.sandboxes.make(gate.username)
        await _run_console(state, gate, process, sandbox, ended)
    finally:
        state.consoles.pop(this, None)
        if sandbox is not None:
            Sandboxes.remove(sandbox)
        # Only now is the client told that the session is over: what it was told ("deleted") is
        # done by then.
        try:
            process.exit(0)
        except (OSError, asyncssh.Error):
            pass


async def _run_console(state: ServerState, gate: Gate, process: asyncssh.SSHServerProcess,
                       sandbox: Sandbox | None, ended: asyncio.Event) -> None:
    width, height, _, _ = process.get_terminal_size()
    master, slave = os.openpty()
    _set_size(master, width, height)
    # COLUMNS and LINES would override the window's size in the console: the pty says it.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MITRA_SSH", "SSH_")) and key not in ("COLUMNS", "LINES")}
    command = state.console_command
    if sandbox is not None:
        # The sandbox's file and nothing else: no real database reaches a demo console, and what
        # it writes to its working folder (an export) goes with the sandbox.
        for name in REAL_DATABASES:
            env.pop(name, None)
        command = [*command, "--db", str(sandbox.database), "--sandbox", sandbox.name]
    if gate.handed is not None and state.handoff is not None:  # a demo server hands nobody in
        env.update(state.handoff.environment(gate.handed))
    env.update(TERM=process.get_terminal_type() or "xterm-256color",
               MITRA_ORIGIN="ssh", MITRA_PEER=gate.address, COLORTERM="truecolor")
    try:
        child = await asyncio.create_subprocess_exec(
            *command, stdin=slave, stdout=slave, stderr=slave, env=env,
            cwd=sandbox.folder if sandbox is not None else None,
            start_new_session=True, preexec_fn=_controlling_tty,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    loop = asyncio.get_running_loop()
    last_input = [time.monotonic()]
    started = time.monotonic()
    lifetime = state.sandboxes.lifetime if state.sandboxes is not None else None  # a demo sandbox's, at most

    def from_console() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            ended.set()
            return
        process.stdout.write(data)

    loop.add_reader(master, from_console)

    async def from_client() -> None:
        try:
            while not ended.is_set():
                try:
                    data = await process.stdin.read(4096)
                except asyncssh.TerminalSizeChanged as change:
                    _set_size(master, change.width, change.height)
                    continue
                except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                    continue
                if not data:
                    break
                last_input[0] = time.monotonic()
                os.write(master, data)
        finally:  # end of input, or the connection lost: the console goes too
            ended.set()

    async def clock() -> None:
        # Asleep until the nearest limit, not awake every second: fifty idle sessions ticking once a
        # second cost the server about 1 % of a core. Input only moves the idle limit later, so
        # waking at the one it had finds it not reached and sleeps on to the new one.
        while not ended.is_set():
            limits = [(last_input[0] + state.limits.idle_timeout, b"\r\nMitra: idle for too long, disconnected.\r\n")]
            if sandbox is not None and lifetime is not None:
                limits.append((started + lifetime, SANDBOX_EXPIRED))
            limits.append((started + state.limits.max_session,
                           b"\r\nMitra: maximum session length reached, disconnected.\r\n"))
            now = time.monotonic()
            reached = [reason for limit, reason in limits if now >= limit]
            if not reached:
                await asyncio.sleep(min(limit for limit, _ in limits) - now)
                continue
            process.stdout.write(reached[0])
            ended.set()

    tasks = [asyncio.create_task(from_client()), asyncio.create_task(clock())]
    try:
        await ended.wait()
    finally:
        loop.remove_reader(master)
        for task in tasks:
            task.cancel()
        await _end_child(child)
        os.close(master)


async def end_consoles(state: ServerState, timeout: float = 20) -> None:
    """The server stops: no new console starts, every running one is hung up (each logs its
    session out, a sandbox is deleted), waited for up to `timeout` seconds."""
    state.stopping = True
    for ended in list(state.consoles.values()):
        ended.set()
    running = list(state.consoles)
    if running:
        await asyncio.wait(running, timeout=timeout)


async def _end_child(child: asyncio.subprocess.Process) -> None:
    """Hang up the console (it logs its session out on the way), then make sure it is gone."""
    if child.returncode is None:
        try:
            os.killpg(child.pid, signal.SIGHUP)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(child.wait(), 10)
        except TimeoutError:
            os.killpg(child.pid, signal.SIGKILL)
            await child.wait()


async def start_server(listen: tuple[str, int], key: asyncssh.SSHKey, state: ServerState) -> asyncssh.SSHAcceptor:
    if state.handoff is not None:
        await state.handoff.start()

    async def handle(process: asyncssh.SSHServerProcess) -> None:
        gate = process.get_extra_info("connection").get_owner()
        await serve_console(state, gate, process)

    return await asyncssh.create_server(
        lambda: Gate(state), listen[0], listen[1], server_host_keys=[key], process_factory=handle,
        encoding=None, keepalive_interval=KEEPALIVE_SECONDS, keepalive_count_max=2,
        login_timeout=60, allow_scp=False, agent_forwarding=False, x11_forwarding=False,
        line_editor=False,
    )


def console_command(db_url: str | None) -> list[str]:
    command = [str(Path(sys.executable).with_name("mitra")), "console"]
    return command + (["--db", db_url] if db_url else [])
