"""Memory and CPU of `mitra serve ssh` per connected operator: N real OpenSSH clients, each in its
own pseudo-terminal, logged in by key and sitting idle on the dashboard; next to one console
started locally (`mitra --db`, same database, same size) in the same run.

    .venv/bin/python bench/ssh_sessions.py [-n 50] [--idle 30]

Prints the resident memory (RSS) of each connection's console process (median, max), the server's
own, and the CPU that all of them use over --idle seconds of idleness, as % of one core.
Goal (issue 14): at most 120 MB per operator, and 50 idle sessions under 1 % of a core.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.pty_screen import memory_mb  # noqa: E402
from tests.pty_support import in_a_pty  # noqa: E402

MITRA = str(Path(sys.executable).with_name("mitra"))
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    return memory_mb(pid) or 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry.name))
            except OSError:
                continue
    return children


def wait_for(fd: int, needle: bytes, timeout: float = 120) -> None:
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                seen = (seen + os.read(fd, 65536))[-200000:]
            except OSError:  # the client ended: say what it printed last
                raise SystemExit(f"the client ended before {needle!r}: {seen[-300:]!r}") from None
            if needle in seen:
                return
    raise SystemExit(f"never saw {needle!r}")


def drain(fds: list[int], seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        for fd in select.select(fds, [], [], min(left, 1.0))[0]:
            os.read(fd, 65536)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--idle", type=float, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mitra-ssh-bench-"))
    env = {**os.environ, "MITRA_AUDIT_KEY": os.environ.get("MITRA_AUDIT_KEY", "bench"), "LANG": "C.UTF-8",
           "TERM": "xterm-256color", "MITRA_PASSWORD": "demo"}
    url = f"sqlite+aiosqlite:///{work / 'demo.db'}"
    subprocess.run([MITRA, "demo", "--build-only", "--participants", "200", "--db", url], env=env, check=True,
                   capture_output=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "key")], check=True)
    subprocess.run([MITRA, "operators", "keys", "add", "coordinator", str(work / "key.pub"), "--db", url,
                    "--operator", "admin"], env=env, check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([MITRA, "serve", "ssh", "--listen", f"127.0.0.1:{port}", "--db", url,
                               "--host-key-dir", str(work / "host")], env=env, stderr=subprocess.PIPE)
    server.stderr.readline()
    # The baseline: one console opened locally, logged in by password.
    local, local_fd, _, _ = in_a_pty([MITRA, "--db", url, "--lang", "en"], env, 80, 24)
    wait_for(local_fd, b"Password")
    time.sleep(1)
    os.write(local_fd, b"coordinator\tdemo\r")
    wait_for(local_fd, b"Work waiting")
    clients, fds = [], [local_fd]
    ssh = ["ssh", "-tt", "-p", str(port), "-i", str(work / "key"), "-o", "IdentitiesOnly=yes",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "field@127.0.0.1"]
    try:
        for _ in range(args.n):
            process, fd, _, _ = in_a_pty(ssh, env, 80, 24)
            wait_for(fd, b"Work waiting")
            drain(fds, 0.1)  # the others' output read, so none of them blocks on a full terminal
            clients.append(process)
            fds.append(fd)
        drain(fds, 5)  # settle: the consoles' startup work is done
        consoles = descendants(server.pid)
        watched = [*consoles, server.pid, local.pid]
        before = {pid: cpu_seconds(pid) for pid in watched}
        drain(fds, args.idle)
        used = {pid: cpu_seconds(pid) - before[pid] for pid in watched}
        sizes = [rss_mb(pid) for pid in consoles]
        ssh_cpu = sum(used[pid] for pid in consoles) + used[server.pid]
        print(f"connections: {len(consoles)} consoles under the SSH server (asked for {args.n})")
        print(f"RSS per console: median {statistics.median(sizes):.1f} MB, max {max(sizes):.1f} MB "
              f"(goal <= 120 MB); server {rss_mb(server.pid):.1f} MB")
        print(f"baseline: a local console {rss_mb(local.pid):.1f} MB "
              f"(ratio ssh/local {statistics.median(sizes) / rss_mb(local.pid):.2f})")
        print(f"CPU idle over {args.idle:.0f} s: all SSH consoles + server {100 * ssh_cpu / args.idle:.2f} % of a core "
              f"(goal < 1 % for 50); one local console {100 * used[local.pid] / args.idle:.2f} %")
    finally:
        for process in [*clients, local]:
            process.kill()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
