"""Where this console runs from: a local terminal, over SSH, or in a browser.

Light on purpose (no database layer): the console reads it before its first paint, to keep the
text cursor still over a field link, and the sessions record it with each login.
"""

from __future__ import annotations

import os
import socket

ORIGINS = ("terminal", "ssh", "web")


def where_from() -> tuple[str, str]:
    """This process's origin and peer: a browser session says so (MITRA_ORIGIN=web, set by
    `mitra serve web`), an SSH login names its client's address, else the local host."""
    origin = os.environ.get("MITRA_ORIGIN", "")
    if origin in ORIGINS:
        return origin, os.environ.get("MITRA_PEER", "")[:200]
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    if ssh:
        return "ssh", ssh[0]
    return "terminal", socket.gethostname()[:200]
