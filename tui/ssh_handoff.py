"""Handing an SSH-authenticated operator to the console process that serves the connection.

`mitra serve ssh` checks the client's key, then starts a console under a pseudo-terminal. The
console must learn who logged in without anything an ordinary user could pass to skip the login
screen: the server issues a one-time ticket (128 random bits, valid for a minute), the child gets
it in its environment with the path of a Unix socket the server listens on (in a directory only
the server's user can enter), and redeems it there once. A ticket redeemed, expired or guessed
yields nothing, and the console falls back to its login screen.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TICKET_ENV = "MITRA_SSH_TICKET"
SOCKET_ENV = "MITRA_SSH_HANDOFF"
TICKET_LIFETIME = 60.0


@dataclass(frozen=True)
class Handed:
    """Who the server authenticated: an operator by one of their keys (`method` "key"), or by a
    certificate of the trusted authority naming them as principal ("certificate")."""
    username: str
    fingerprint: str
    peer: str
    method: str = "key"


class HandoffServer:
    """The server's side: issue tickets, answer each one once."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="mitra-ssh-")  # mode 0700: only this user enters
        self.path = str(Path(self._folder) / "handoff.sock")
        self._tickets: dict[str, tuple[float, Handed]] = {}
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._answer, path=self.path)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for leftover in (self.path, self._folder):
            try:
                os.unlink(leftover) if leftover == self.path else os.rmdir(leftover)
            except OSError:
                pass

    def issue(self, handed: Handed) -> str:
        now = time.monotonic()
        for ticket, (at, _) in list(self._tickets.items()):
            if now - at > TICKET_LIFETIME:
                del self._tickets[ticket]
        ticket = secrets.token_hex(16)
        self._tickets[ticket] = (now, handed)
        return ticket

    def environment(self, handed: Handed) -> dict[str, str]:
        return {TICKET_ENV: self.issue(handed), SOCKET_ENV: self.path}

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ticket = (await asyncio.wait_for(reader.readline(), 5)).decode("ascii", "replace").strip()
            issued = self._tickets.pop(ticket, None)
            answer = {}
            if issued is not None and time.monotonic() - issued[0] <= TICKET_LIFETIME:
                answer = {"username": issued[1].username, "fingerprint": issued[1].fingerprint,
                          "peer": issued[1].peer, "method": issued[1].method}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


def redeem() -> Handed | None:
    """The console's side: take the ticket out of the environment (no child of the console
    inherits it) and redeem it; None without one, or when the server does not honour it."""
    ticket, path = os.environ.pop(TICKET_ENV, ""), os.environ.pop(SOCKET_ENV, "")
    if not ticket or not path:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(path)
            connection.sendall(ticket.encode("ascii", "replace") + b"\n")
            answer = json.loads(connection.makefile("rb").readline() or b"{}")
    except (OSError, ValueError):
        return None
    if not answer.get("username"):
        return None
    return Handed(answer["username"], answer.get("fingerprint", ""), answer.get("peer", ""),
                  "certificate" if answer.get("method") == "certificate" else "key")
