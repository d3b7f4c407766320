"""The SSH server hands its authenticated operator to the console by a one-time ticket: redeemed
once, then never again; a guessed ticket or a missing server yields nothing (the console then
shows its login screen)."""

from __future__ import annotations

import asyncio
import os

from tui import ssh_handoff
from tui.ssh_handoff import Handed, HandoffServer


async def _redeem_with(environment: dict[str, str]) -> Handed | None:
    os.environ.update(environment)
    try:
        return await asyncio.to_thread(ssh_handoff.redeem)
    finally:
        for key in environment:
            os.environ.pop(key, None)


async def test_a_ticket_is_redeemed_once_and_guesses_yield_nothing():
    server = HandoffServer()
    await server.start()
    try:
        handed = Handed("coordinator", "SHA256:abc", "10.0.0.7")
        environment = server.environment(handed)
        assert oct(os.stat(server.path).st_mode & 0o777) == "0o600"
        assert await _redeem_with(environment) == handed
        assert ssh_handoff.TICKET_ENV not in os.environ  # taken out: no child of the console inherits it
        assert await _redeem_with(environment) is None  # once only
        guessed = {**server.environment(handed), ssh_handoff.TICKET_ENV: "0" * 32}
        assert await _redeem_with(guessed) is None
    finally:
        await server.close()
    assert await _redeem_with(environment) is None  # no server: nothing
    assert not os.path.exists(server.path)
