"""API tokens: kept in the store as SHA-256 hashes, each with a name and a role.

``viewer`` reads, exports and searches; ``editor`` also creates batches and edits themes. A token
is shown once, when it is created (``voclens token add NAME --role editor --store S``); the store
keeps only its hash, so a leaked store file does not leak usable tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import pandas as pd

from voclens.errors import ConfigError

ROLES = ("viewer", "editor")
RANK = {"viewer": 1, "editor": 2}
PREFIX = "vl_"

DDL = [
    """CREATE TABLE IF NOT EXISTS tokens (
        name VARCHAR, role VARCHAR, token_hash VARCHAR, created TIMESTAMP, revoked TIMESTAMP)""",
]


def ensure_schema(con) -> None:
    for ddl in DDL:
        con.execute(ddl)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def add_token(con, name: str, role: str) -> str:
    """A new token for ``name`` with ``role``; returns the token (the only time it is visible)."""
    name = (name or "").strip()
    if not name:
        raise ConfigError("A token needs a name (who or what uses it), e.g. voclens token add alice --role viewer.")
    if role not in ROLES:
        raise ConfigError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    ensure_schema(con)
    active = con.execute("SELECT count(*) FROM tokens WHERE name = ? AND revoked IS NULL", [name]).fetchone()[0]
    if active:
        raise ConfigError(f"A token named {name!r} exists already. Revoke it first (voclens token revoke {name}) or pick another name.")
    token = PREFIX + secrets.token_urlsafe(32)
    con.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, NULL)", [name, role, hash_token(token), _now()])
    return token


def list_tokens(con) -> pd.DataFrame:
    ensure_schema(con)
    return con.execute("SELECT name, role, created, revoked FROM tokens ORDER BY created").df()


def revoke_token(con, name: str) -> int:
    ensure_schema(con)
    n = con.execute("SELECT count(*) FROM tokens WHERE name = ? AND revoked IS NULL", [name]).fetchone()[0]
    if not n:
        raise ConfigError(f"No active token named {name!r}. List the tokens with: voclens token list --store STORE")
    con.execute("UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", [_now(), name])
    return int(n)


def authenticate(con, token: str | None) -> dict | None:
    """``{"name", "role"}`` for an active token, else None."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = con.execute("SELECT name, role FROM tokens WHERE token_hash = ? AND revoked IS NULL", [hash_token(token)]).fetchone()
    return {"name": row[0], "role": row[1]} if row else None


def allowed(user: dict, role: str) -> bool:
    return RANK.get(user.get("role"), 0) >= RANK[role]
