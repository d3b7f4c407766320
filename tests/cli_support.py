"""Running the real `mitra` command in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MITRA = str(Path(sys.executable).with_name("mitra"))


def mitra(
    *args: str, password: str | None = "demo", stdin: str | None = None, timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    # The test run's audit key and log folder go along (conftest sets them); no other MITRA_ setting does.
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MITRA_")}
    env = {**inherited, "MITRA_AUDIT_KEY": os.environ["MITRA_AUDIT_KEY"],
           "MITRA_LOG_DIR": os.environ["MITRA_LOG_DIR"], **(env or {})}
    env["LANG"] = "C.UTF-8"
    if password is not None:
        env["MITRA_PASSWORD"] = password
    return subprocess.run(
        [MITRA, *args], capture_output=True, text=True, input=stdin, env=env, timeout=timeout,
    )
