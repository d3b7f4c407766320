"""Where an unexpected error leaves its trace: a rotated log file in the user's log directory.

The console cannot print a traceback (it would paint over the screen), and an operator who sees
"Unexpected error" needs something to hand to whoever supports them. So the console and every
command log to `mitra.log` (in `$MITRA_LOG_DIR`, or the platform's user log directory), rotated
at 1 MB with five old files kept, and the error message names that file.

What is written is redacted as a whole, traceback included (an SQL error can quote its
parameters): a NIK or any other run of 16 digits keeps only its first six and last four digits,
and a password (a `password=` value or the password of a database URL) never appears.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

LOG_DIR_ENV = "MITRA_LOG_DIR"
FILE_NAME = "mitra.log"
MAX_BYTES = 1_000_000
BACKUPS = 5

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")
_PASSWORD_VALUE = re.compile(r"""(passw(?:or)?d\w*['"]?\s*[:=]\s*['"]?)[^\s'",)}\]]+""", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")


def redact(text: str) -> str:
    """`text` without full NIKs and without passwords."""
    text = _SIXTEEN_DIGITS.sub(r"\1******\2", text)
    text = _PASSWORD_VALUE.sub(r"\1***", text)
    return _URL_PASSWORD.sub(r"\1***@", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_path() -> Path:
    from platformdirs import user_log_dir

    return Path(os.environ.get(LOG_DIR_ENV) or user_log_dir("mitra", appauthor=False)) / FILE_NAME


_configured: Path | None = None


def setup() -> Path | None:
    """Send the root logger to the log file (once per process); its path, or None when the
    directory cannot be written (then nothing is logged: still never to the screen)."""
    global _configured
    if _configured is not None:
        return _configured
    path = log_path()
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8")
    except OSError:
        root.addHandler(logging.NullHandler())  # no last-resort handler writing to the terminal
        return None
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s pid=%(process)d: %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    _configured = path
    return path


def unexpected(error: Exception, operation: str, actor: object = None):
    """A bug, for the operator: logged with its traceback, the operation and the operator, and
    turned into the error that names the file it went to."""
    from store.errors import MitraError

    where = setup()
    logging.getLogger("mitra").error("%s failed for operator %s", operation,
                                     getattr(actor, "username", "-"), exc_info=error)
    # One line for the operator (a database error's text goes on with its SQL); the rest is logged.
    first_line = (str(error).strip().splitlines() or [""])[0]
    detail = redact(f"{type(error).__name__}: {first_line}")[:200]
    return MitraError("error.unexpected", detail=detail, log=str(where or "-"))
