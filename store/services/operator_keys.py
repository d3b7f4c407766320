"""Operators' SSH public keys: the keys that log an operator into `mitra serve ssh`.

Admins add, list and remove them; each change is audited. A key is stored as its OpenSSH line
("algorithm base64") and named by its fingerprint as `ssh-keygen -lf` prints it (SHA256:...),
which is how an operator and an admin compare keys over the phone. A key logs in only its own,
active operator (`operator_for_key`)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import struct
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound
from store.models import Operator, OperatorKey
from store.operation import operation
from store.uow import UnitOfWork, read_session

# The key types OpenSSH offers today; DSA and others are refused as too weak or too rare.
ALGORITHMS = frozenset({
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
})


@dataclass(frozen=True)
class KeyView:
    id: int
    operator: str
    algorithm: str
    fingerprint: str
    comment: str
    added_at: dt.datetime


@dataclass(frozen=True)
class ParsedKey:
    algorithm: str
    blob: bytes
    comment: str

    @property
    def line(self) -> str:
        return f"{self.algorithm} {base64.b64encode(self.blob).decode()}"

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.blob)


def fingerprint_of(blob: bytes) -> str:
    """SHA256 of the key's wire form, base64 without padding: what OpenSSH prints."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_public_key(text: str) -> ParsedKey:
    """One OpenSSH public key line ("ssh-ed25519 AAAA... comment"); options before the type (as in
    authorized_keys) are not accepted. The blob must name the same algorithm as the line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip() and not line.strip().startswith("#")]
    if len(lines) != 1:
        raise InvalidInput("input.public_key", field="key")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or parts[0] not in ALGORITHMS:
        raise InvalidInput("input.public_key", field="key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        named = blob[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise InvalidInput("input.public_key", field="key") from None
    if named != parts[0] or len(blob) <= 4 + length:
        raise InvalidInput("input.public_key", field="key")
    return ParsedKey(parts[0], blob, (parts[2] if len(parts) > 2 else "").strip()[:200])


async def _operator(session: AsyncSession, username: str) -> Operator:
    name = (username or "").strip().lower()
    operator = (await session.execute(select(Operator).where(col(Operator.username) == name))).scalar_one_or_none()
    if operator is None:
        raise NotFound("operator.not_found", username=name)
    return operator


@operation
async def add_key(uow: UnitOfWork, username: str, key_text: str) -> KeyView:
    uow.actor.require("operator.manage")
    key = parse_public_key(key_text)
    operator = await _operator(uow.session, username)
    taken = (await uow.session.execute(
        select(col(Operator.username)).join(OperatorKey, col(OperatorKey.operator_id) == col(Operator.id))
        .where(col(OperatorKey.fingerprint) == key.fingerprint)
    )).scalar_one_or_none()
    if taken is not None:
        raise Conflict("operator_key.exists", fingerprint=key.fingerprint, username=taken)
    assert operator.id is not None  # read
    row = OperatorKey(operator_id=operator.id, algorithm=key.algorithm, public_key=key.line,
                      fingerprint=key.fingerprint, comment=key.comment, added_by=uow.actor.operator_id)
    uow.session.add(row)
    await uow.session.flush()
    uow.audit("operator_key.added", "operator", operator.id,
              after={"fingerprint": key.fingerprint, "algorithm": key.algorithm, "comment": key.comment})
    return _view(row, operator.username)


def _view(key: OperatorKey, username: str) -> KeyView:
    assert key.id is not None and key.added_at is not None  # a key read or flushed
    return KeyView(key.id, username, key.algorithm, key.fingerprint, key.comment, key.added_at)


async def list_keys(db: Database, actor: Actor, username: str | None = None) -> list[KeyView]:
    actor.require("operator.read")
    query = (
        select(col(OperatorKey.id), col(Operator.username), col(OperatorKey.algorithm), col(OperatorKey.fingerprint),
               col(OperatorKey.comment), col(OperatorKey.added_at))
        .join(Operator, col(Operator.id) == col(OperatorKey.operator_id))
        .order_by(col(Operator.username), col(OperatorKey.added_at), col(OperatorKey.id))
    )
    async with read_session(db) as session:
        if username:
            query = query.where(col(OperatorKey.operator_id) == (await _operator(session, username)).id)
        return [
            KeyView(row.id, row.username, row.algorithm, row.fingerprint, row.comment, row.added_at)
            for row in await session.execute(query)
        ]


@operation
async def remove_key(uow: UnitOfWork, username: str, fingerprint: str) -> KeyView:
    uow.actor.require("operator.manage")
    fingerprint = (fingerprint or "").strip()
    operator = await _operator(uow.session, username)
    row = (await uow.session.execute(
        select(OperatorKey)
        .where(col(OperatorKey.operator_id) == operator.id, col(OperatorKey.fingerprint) == fingerprint)
    )).scalar_one_or_none()
    if row is None:
        raise NotFound("operator_key.not_found", fingerprint=fingerprint, username=operator.username)
    view = _view(row, operator.username)
    await uow.session.delete(row)
    uow.audit("operator_key.removed", "operator", operator.id,
              before={"fingerprint": row.fingerprint, "algorithm": row.algorithm, "comment": row.comment})
    return view


async def operator_for_key(db: Database, blob: bytes) -> str | None:
    """The active operator this key logs in, or None (unknown key, or operator deactivated).
    For the SSH server, which has no actor before the key is checked."""
    async with read_session(db) as session:
        return (await session.execute(
            select(col(Operator.username)).join(OperatorKey, col(OperatorKey.operator_id) == col(Operator.id))
            .where(col(OperatorKey.fingerprint) == fingerprint_of(blob), col(Operator.is_active).is_(True))
        )).scalar_one_or_none()


async def active_operator(db: Database, username: str) -> str | None:
    """The active operator of this user name, or None. For an SSH certificate from the trusted
    authority, whose principal names the operator (the server checked the certificate)."""
    async with read_session(db) as session:
        return (await session.execute(
            select(col(Operator.username)).where(col(Operator.username) == (username or "").strip().lower(),
                                            col(Operator.is_active).is_(True))
        )).scalar_one_or_none()
