"""The audit chain's key, kept outside the database.

Each event's hash is an HMAC under this key, so a login to the database alone cannot append a
forged event with a hash that verifies, nor rewrite the chain. The key comes from
$MITRA_AUDIT_KEY (the secret itself), else the file named by $MITRA_AUDIT_KEY_FILE, else
`audit.key` in the user's configuration directory, created (mode 0600) on first use. Every Mitra
writing to one database needs the same key: an office copies the key file to each machine, like a
certificate. The database records the key's fingerprint, never the key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from platformdirs import user_config_dir

from store.errors import ConfigError

KEY_ENV = "MITRA_AUDIT_KEY"
KEY_FILE_ENV = "MITRA_AUDIT_KEY_FILE"


@dataclass(frozen=True)
class AuditKey:
    secret: bytes
    source: str  # where it came from, for `audit verify` to say

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(b"mitra-audit-key:" + self.secret).hexdigest()[:16]


def default_key_file() -> Path:
    return Path(user_config_dir("mitra", appauthor=False)) / "audit.key"


def load_key() -> AuditKey:
    return _load(os.environ.get(KEY_ENV, ""), os.environ.get(KEY_FILE_ENV, ""))


@lru_cache(maxsize=4)
def _load(value: str, file_name: str) -> AuditKey:
    if value:
        return AuditKey(value.strip().encode("utf-8"), f"${KEY_ENV}")
    path = Path(file_name).expanduser() if file_name else default_key_file()
    if not path.exists():
        if file_name:  # a key file named explicitly must exist: creating one would fork the chain
            raise ConfigError("audit.key_missing", path=str(path))
        _create(path)
    try:
        secret = path.read_text(encoding="utf-8").strip().encode("utf-8")
    except OSError as error:
        raise ConfigError("audit.key_unreadable", path=str(path), reason=error.strerror or str(error)) from None
    if len(secret) < 32:
        raise ConfigError("audit.key_short", path=str(path))
    return AuditKey(secret, str(path))


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
