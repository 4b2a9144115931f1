"""Find which column holds the text, id, date, rating and channel, by name or (for text) content.

Names come from ``resources/columns.toml`` so new spellings are data, not code. Detection is
deliberately conservative: a flag always wins, then a known name, then — only for the text and
only when it is unambiguous — the one column whose values look like prose. When it cannot tell,
it stops and lists the columns, because a silently wrong text column ruins every later stage.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from voclens.config import CHANNELS
from voclens.errors import ColumnNotFoundError, InputError

ROLES = ("text", "id", "date", "rating", "channel")

# A text column's values are mostly longer than this (median, in characters).
MIN_TEXT_MEDIAN_CHARS = 10
_NUMBERISH = re.compile(r"^[\d\s.,:/+\-年月日時分秒()TZ]*$")
_NAME_DROP = re.compile(r"[\s_\-.・･]+")


@lru_cache(maxsize=1)
def aliases() -> dict[str, Any]:
    """The parsed ``columns.toml``: ``columns``, ``channel_values``, ``filename_channels``."""
    try:
        raw = (resources.files("voclens") / "resources" / "columns.toml").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):  # running from an unusual layout
        raw = (Path(__file__).resolve().parent.parent / "resources" / "columns.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


def normalize_name(name: Any) -> str:
    """Fold case, width and separators: 'Review_Text', 'ｒｅｖｉｅｗ text' -> 'reviewtext'."""
    s = unicodedata.normalize("NFKC", str(name)).casefold().replace("\ufeff", "")
    return _NAME_DROP.sub("", s).strip("\"'")


@lru_cache(maxsize=1)
def _role_names() -> dict[str, list[str]]:
    cols = aliases()["columns"]
    return {role: [normalize_name(a) for a in cols.get(role, [])] for role in (*ROLES, "subject")}


def _find_flag(columns: list[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    key = normalize_name(wanted)
    return next((c for c in columns if normalize_name(c) == key), None)


def resolve_columns(df: pd.DataFrame, settings: Any, path: str, *, by_content: bool = True) -> dict[str, str | None]:
    """Map each role in :data:`ROLES` to a column name (None when absent; text is required).

    ``by_content=False`` turns off the guess from values (in-memory records name their keys).

    The result also holds ``"text_how"``: ``flag``, ``name`` or ``content`` — recorded in the
    manifest so a user can see why a column was taken.
    """
    columns = [str(c) for c in df.columns]
    roles: dict[str, str | None] = dict.fromkeys(ROLES)
    taken: set[str] = set()
    how = None
    for role in ROLES:
        wanted = getattr(settings, f"{role}_column", None) if settings is not None else None
        if wanted:
            found = _find_flag(columns, str(wanted))
            if found is None:
                raise ColumnNotFoundError(path, f"'{wanted}' ({role})", columns, flag=f"--{role}-column")
            roles[role] = found
            taken.add(found)
    if roles["text"] is not None:
        how = "flag"

    normalized = {c: normalize_name(c) for c in columns}
    names = _role_names()
    for role in ROLES:
        if roles[role] is not None:
            continue
        for alias in names[role]:
            match = next((c for c in columns if c not in taken and normalized[c] == alias), None)
            if match is not None:
                roles[role] = match
                taken.add(match)
                if role == "text":
                    how = "name"
                break

    if roles["text"] is None and not by_content:
        raise ColumnNotFoundError(path, "text", columns)
    if roles["text"] is None:
        subjects = {c for c in columns if normalized[c] in names["subject"]}
        free = [c for c in columns if c not in taken]
        if len(columns) == 1 and free:
            candidates = free  # a one-column file: that column is the text, whatever its name
        else:
            candidates = [c for c in free if c not in subjects and _looks_like_text(df[c])]
        if len(candidates) == 1:
            roles["text"], how = candidates[0], "content"
        elif candidates:
            raise ColumnNotFoundError(
                path, f"text column with a known name (several columns look like text: {', '.join(candidates)})", columns
            )
        else:
            raise ColumnNotFoundError(path, "text", columns)
    roles["text_how"] = how
    return roles


def _looks_like_text(col: pd.Series) -> bool:
    """Prose: mostly not numbers or dates, and a median length of a short sentence or more."""
    values = col.dropna().astype(str)
    values = values[values.str.strip() != ""].head(2000)
    if values.empty:
        return False
    if values.str.fullmatch(_NUMBERISH).mean() > 0.2:
        return False
    return float(values.str.len().median()) >= MIN_TEXT_MEDIAN_CHARS


# -- channels ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _channel_patterns() -> list[tuple[str, str, re.Pattern[str] | None]]:
    """(channel, folded name, word pattern for ASCII names) sorted longest name first."""
    out = []
    for channel, names in aliases().get("channel_values", {}).items():
        if channel not in CHANNELS:
            raise InputError(f"columns.toml maps values to unknown channel '{channel}'. Use one of {', '.join(CHANNELS)}.")
        for order, name in enumerate([channel, *names]):
            folded = unicodedata.normalize("NFKC", name).casefold().strip()
            pattern = re.compile(rf"(?<![a-z0-9]){re.escape(folded)}(?![a-z0-9])") if folded.isascii() else None
            out.append((channel, folded, pattern))
    # longest first; ties keep file order (review, ticket, sns, interview, other)
    return sorted(out, key=lambda t: -len(t[1]))


def channel_of_value(value: Any) -> str | None:
    """A channel-column value ('電話問い合わせ', 'X (Twitter)', 'App Store review') as a channel."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    folded = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    if not folded:
        return None
    for channel, name, pattern in _channel_patterns():
        if (pattern.search(folded) if pattern is not None else name in folded):
            return channel
    return None


def map_channels(col: pd.Series) -> pd.Series:
    """Channel per row from a channel column (None where the value is unknown); maps uniques only."""
    uniques = pd.unique(col.astype(object))
    table = {u: channel_of_value(u) for u in uniques}
    return col.astype(object).map(table)


def channel_from_filename(name: str) -> str | None:
    """Guess the channel from words in a file name: 'app_reviews.csv' -> review."""
    stem = unicodedata.normalize("NFKC", Path(name).stem).casefold()
    for channel, words in aliases().get("filename_channels", {}).items():
        if any(unicodedata.normalize("NFKC", w).casefold() in stem for w in words):
            return channel
    return None


# -- engagement (SNS exports) -------------------------------------------------------------------
ENGAGEMENT = ("likes", "reposts", "replies", "quotes", "followers", "views")


@lru_cache(maxsize=1)
def _engagement_names() -> dict[str, list[str]]:
    table = aliases().get("engagement", {})
    return {f: [normalize_name(a) for a in table.get(f, [])] for f in ENGAGEMENT}


def engagement_columns(columns: list[str], flags: dict[str, str] | None = None) -> dict[str, str]:
    """Which of ``columns`` hold each engagement count: ``flags`` (field -> column) first, then
    the names in columns.toml ``[engagement]`` (first listed wins). Absent fields are left out."""
    normalized = {c: normalize_name(c) for c in columns}
    found: dict[str, str] = {}
    for f, wanted in (flags or {}).items():
        hit = _find_flag(columns, wanted)
        if hit is not None:
            found[f] = hit
    taken = set(found.values())
    for f, names in _engagement_names().items():
        if f in found or f in (flags or {}):
            continue
        for alias in names:
            hit = next((c for c in columns if c not in taken and normalized[c] == alias), None)
            if hit is not None:
                found[f] = hit
                taken.add(hit)
                break
    return found
