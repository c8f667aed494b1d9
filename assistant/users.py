"""Staff accounts for the chat UI: name, role and a salted scrypt hash, in abordo's own store (app_url).

Why here and not in the passenger database: abordo only ever *reads* the passenger database, through a
read-only connection; its own writable store already holds the audit log and feedback. Why scrypt from
the standard library: it is memory-hard (costly to brute-force on GPUs) and needs no extra dependency.
Each user gets a random salt; the cost parameters are stored with the hash so they can be raised later
without invalidating existing accounts.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

import sqlalchemy as sa

from assistant.errors import AssistantError
from db.appstore import error_name, store_engine, utcnow
from db.settings import Settings

ROLES = ("agent", "supervisor", "analyst")
# The demo's accounts: printed by `abordo demo`, fixed so the README can name them.
DEMO_USERS = (("agente", "agente-demo", "agent"), ("supervisor", "supervisor-demo", "supervisor"),
              ("analista", "analista-demo", "analyst"))
# scrypt cost: n=2**14, r=8 uses 16 MiB and ~50 ms per check, fine for a sign-in form.
_N, _R, _P = 2 ** 14, 8, 1
_NAME_RE = re.compile(r"[A-Za-z0-9._@-]{2,64}")

metadata = sa.MetaData()
users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("salt", sa.LargeBinary, nullable=False),
    sa.Column("password_hash", sa.LargeBinary, nullable=False),
    sa.Column("params", sa.Text, nullable=False),          # "n,r,p" of the scrypt call
    sa.Column("created", sa.DateTime, nullable=False),
)


class UserError(AssistantError):
    """A user could not be created or read (bad name, unknown role, store unavailable)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


def _engine(app_url: str) -> sa.Engine:
    """The app store's engine, with the user tables created (and an older store's columns added) on first use."""
    return store_engine(app_url, metadata, setup=_migrate,
                        error=lambda name: UserError(f"cannot open the user store: {name}"))


def _hash(password: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def add_user(app_url: str, name: str, role: str, password: str, *, replace: bool = False) -> User:
    """Create (or with `replace`, reset) a user. Raises UserError on a bad name, role or password."""
    if not _NAME_RE.fullmatch(name or ""):
        raise UserError(f"invalid user name {name!r}: 2-64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if len(password or "") < 8:
        raise UserError("the password must have at least 8 characters")
    salt = os.urandom(16)
    row = {"name": name, "role": role, "salt": salt, "password_hash": _hash(password, salt), "params": f"{_N},{_R},{_P}",
               "created": utcnow()}
    try:
        with _engine(app_url).begin() as conn:
            exists = conn.execute(sa.select(users.c.name).where(users.c.name == name)).first()
            if exists and not replace:
                raise UserError(f"user {name!r} already exists")
            if exists:
                conn.execute(users.update().where(users.c.name == name).values(**row))
            else:
                conn.execute(users.insert().values(**row))
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot write the user store: {error_name(exc)}") from None
    return User(name, role)


def get_user(app_url: str, name: str) -> User | None:
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(users.c.name, users.c.role).where(users.c.name == name)).first()
    return User(row.name, row.role) if row else None


def verify(app_url: str, name: str, password: str) -> User | None:
    """The user if the password matches, else None (same answer for unknown names and wrong passwords)."""
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == (name or "").strip())).first()
    if row is None:
        _hash(password or "", b"0" * 16)   # same cost as a real check: no timing hint that the name is unknown
        return None
    n, r, p = (int(x) for x in row.params.split(","))
    if hmac.compare_digest(_hash(password or "", row.salt, n, r, p), row.password_hash):
        return User(row.name, row.role)
    return None


def list_users(app_url: str) -> list[User]:
    with _engine(app_url).connect() as conn:
        rows = conn.execute(sa.select(users.c.name, users.c.role).order_by(users.c.name)).all()
    return [User(r.name, r.role) for r in rows]


def ensure_demo_users(app_url: str) -> list[tuple[str, str, str]]:
    """Create the demo accounts (one per role) if missing; returns (name, password, role) to print.

    An existing demo account keeps its password unless it no longer matches the demo one, in which
    case it is reset: the printed credentials must always work on the demo.
    """
    for name, password, role in DEMO_USERS:
        user = verify(app_url, name, password)
        if user is None or user.role != role:
            add_user(app_url, name, role, password, replace=True)
    return list(DEMO_USERS)


# --------------------------------------------------------------------------------------------------
# API tokens: what `abordo serve` accepts as `Authorization: Bearer …`. A token is random (256 bits), so
# a fast SHA-256 of it is enough to store (no password to brute-force); only the hash is kept, the
# token is shown once. Revoked and expired tokens stay listed (who had access, and until when).
#
# Every token expires (settings.token_days, or `--days` per token). A token made before the `expires`
# column existed has none stored: it is treated as lapsing `legacy_days` (the default lifetime) after it
# was made, never as eternal. All times are naive UTC.

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("user_name", sa.Text, sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("revoked", sa.DateTime),
    sa.Column("expires", sa.DateTime),   # NULL only for tokens made before this column existed
)
# Columns added after the first release: an older store gets them on open (see _migrate).
_ADDED_TOKEN_COLUMNS = ("expires",)
_TOKEN_RE = re.compile(r"abordo_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
DEFAULT_TOKEN_DAYS: int = Settings.token_days
MAX_TOKEN_DAYS = 3650


def _migrate(engine: sa.Engine) -> None:
    """Add the columns a store made by an older abordo lacks (ALTER TABLE ADD COLUMN; no row changes)."""
    present = {c["name"] for c in sa.inspect(engine).get_columns("api_tokens")}
    for name in _ADDED_TOKEN_COLUMNS:
        if name in present:
            continue
        ddl = api_tokens.c[name].type.compile(dialect=engine.dialect)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE api_tokens ADD COLUMN {name} {ddl}")
        except sa.exc.SQLAlchemyError:
            # Another process sharing the store may have added it first.
            if name not in {c["name"] for c in sa.inspect(engine).get_columns("api_tokens")}:
                raise


def _expiry(created: _dt.datetime, expires: _dt.datetime | None, legacy_days: int) -> _dt.datetime:
    return expires if expires is not None else created + _dt.timedelta(days=legacy_days)


@dataclass(frozen=True)
class Token:
    token_id: str
    user: str
    created: _dt.datetime
    revoked: _dt.datetime | None
    expires: _dt.datetime                 # stored, or created + the default lifetime for an older token
    expiry_assumed: bool = False          # True for a token made before expiry was stored

    def state(self, now: _dt.datetime | None = None) -> str:
        """'revoked', 'expired' or 'active'."""
        if self.revoked is not None:
            return "revoked"
        return "expired" if (now or utcnow()) >= self.expires else "active"


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserError(f"a token's lifetime must be 1 to {MAX_TOKEN_DAYS} days, not {days!r}")
    return days


def issue_token(app_url: str, name: str, *, days: int = DEFAULT_TOKEN_DAYS, now: _dt.datetime | None = None) -> str:
    """A new bearer token for user `name` (shown once), valid for `days` days from `now` (UTC).

    Raises UserError for an unknown user or a lifetime outside 1..MAX_TOKEN_DAYS days.
    """
    import secrets

    _check_days(days)
    if get_user(app_url, name) is None:
        raise UserError(f"unknown user {name!r}: create it first with `abordo users add {name} --role agent`")
    created = now or utcnow()
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    try:
        with _engine(app_url).begin() as conn:
            conn.execute(api_tokens.insert().values(
                token_id=token_id, user_name=name, token_hash=hashlib.sha256(secret.encode()).digest(),
                created=created, expires=created + _dt.timedelta(days=days)))
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot write the user store: {error_name(exc)}") from None
    return f"abordo_{token_id}_{secret}"


def verify_token(app_url: str, token: str, *, now: _dt.datetime | None = None,
                 legacy_days: int = DEFAULT_TOKEN_DAYS) -> User | None:
    """The token's user when it is well-formed, known, not revoked and not expired at `now`, else None.

    `legacy_days`: the lifetime assumed for a token made before expiry was stored (pass settings.token_days).
    """
    m = _TOKEN_RE.fullmatch((token or "").strip())
    if not m:
        return None
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(api_tokens.c.token_hash, api_tokens.c.revoked, api_tokens.c.created,
                                     api_tokens.c.expires, users.c.name, users.c.role)
                           .join(users, users.c.name == api_tokens.c.user_name)
                           .where(api_tokens.c.token_id == m.group(1))).first()
    if row is None or row.revoked is not None:
        return None
    if not hmac.compare_digest(hashlib.sha256(m.group(2).encode()).digest(), row.token_hash):
        return None
    if (now or utcnow()) >= _expiry(row.created, row.expires, legacy_days):
        return None
    return User(row.name, row.role)


def revoke_token(app_url: str, token_id: str, *, owner: str | None = None, now: _dt.datetime | None = None) -> bool:
    """Revoke a live token by its id (the 12 hex digits after 'abordo_'); True when it was revoked.

    With `owner`, only a token of that user is revoked: another user's token gives False and stays as it
    is. `owner=None` revokes whoever's token it is (the operator's `abordo users revoke-token --any-user`).
    """
    cond = [api_tokens.c.token_id == token_id, api_tokens.c.revoked.is_(None)]
    if owner is not None:
        cond.append(api_tokens.c.user_name == owner)
    with _engine(app_url).begin() as conn:
        res = conn.execute(api_tokens.update().where(*cond).values(revoked=now or utcnow()))
    return res.rowcount == 1


def get_token(app_url: str, token_id: str, *, legacy_days: int = DEFAULT_TOKEN_DAYS) -> Token | None:
    """One token's record (never its secret), or None."""
    with _engine(app_url).connect() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
    return _token(row, legacy_days) if row else None


def list_tokens(app_url: str, user: str | None = None, *, legacy_days: int = DEFAULT_TOKEN_DAYS) -> list[Token]:
    """Tokens (all, or `user`'s), oldest first; no secrets or hashes."""
    q = sa.select(api_tokens).order_by(api_tokens.c.created)
    if user is not None:
        q = q.where(api_tokens.c.user_name == user)
    with _engine(app_url).connect() as conn:
        rows = conn.execute(q).all()
    return [_token(r, legacy_days) for r in rows]


def _token(row, legacy_days: int) -> Token:
    return Token(row.token_id, row.user_name, row.created, row.revoked,
                 _expiry(row.created, row.expires, legacy_days), row.expires is None)
