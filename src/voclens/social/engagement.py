"""Engagement counts of SNS exports and the reach weight of each document.

Ingest keeps columns it does not use in ``documents.extra``; this stage finds the engagement
counts there by name (``resources/columns.toml`` ``[engagement]``: likes/いいね/favorite_count,
reposts/retweets/リポスト, replies/返信, quotes/引用, followers/フォロワー数, views/impressions/
インプレッション/表示回数) or by ``ingest.engagement_columns`` (``["likes=お気に入り"]``), reads
"1,234", "1.2万" and "3.4K", and gives each document a reach weight:

    audience A = views when the export has them, else max(50 × (likes + reposts + replies + quotes),
                 0.05 × followers)       (≈2% of viewers interact; a post reaches ≈5% of followers)
    reach      = sqrt(1 + A / 50)        (1 for a post nobody reacted to, and for any survey answer)

Why a square root: reach is heavy-tailed. Linear weights let one viral post decide every figure
(2.5 million against 1); log weights make a post with 50k likes count like a dozen silent ones,
which is not what a team watching SNS sees. With the square root a 50k-like post counts as ~224
silent posts: it leads its theme without drowning a corpus of thousands. Documents without any
engagement count 1, so a run without engagement columns is simply unweighted (and the report
says so).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.errors import ConfigError, InputError
from voclens.ingest.columns import ENGAGEMENT, engagement_columns
from voclens.pipeline import RunContext

AUDIENCE_PER_INTERACTION = 50.0
AUDIENCE_PER_FOLLOWER = 0.05
AUDIENCE_UNIT = 50.0
_COUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(万|千|億|k|m|b)?$", re.I)
_SCALE = {"万": 1e4, "千": 1e3, "億": 1e8, "k": 1e3, "m": 1e6, "b": 1e9}


def parse_flags(values) -> dict[str, str]:
    """``["likes=お気に入り", ...]`` -> {"likes": "お気に入り"}; bad entries are ConfigErrors."""
    out = {}
    for v in values or []:
        field, sep, column = str(v).partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or field not in ENGAGEMENT or not column:
            raise ConfigError(f"ingest.engagement_columns entry {v!r} is not FIELD=COLUMN with FIELD one of "
                              f"{', '.join(ENGAGEMENT)}. Write it as likes=お気に入り数.")
        out[field] = column
    return out


def parse_count(value) -> float:
    """A count as a float: 12, '1,234', '1.2万', '3.4K' (NaN when missing or not a count)."""
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value) if value == value and value >= 0 else math.nan
    s = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    m = _COUNT.match(s)
    if not m:
        return math.nan
    return float(m[1]) * _SCALE.get((m[2] or "").lower(), 1.0)


def reach_weight(frame: pd.DataFrame) -> np.ndarray:
    """The reach weight of each row of a frame with (some of) the engagement columns."""
    n = len(frame)
    col = lambda f: frame[f].to_numpy(dtype=float) if f in frame else np.full(n, np.nan)  # noqa: E731
    inter = np.nansum(np.vstack([col(f) for f in ("likes", "reposts", "replies", "quotes")]), axis=0) if n else np.zeros(0)
    estimate = np.maximum(AUDIENCE_PER_INTERACTION * inter, AUDIENCE_PER_FOLLOWER * np.nan_to_num(col("followers")))
    views = col("views")
    audience = np.where(np.isnan(views), estimate, views)
    return np.sqrt(1.0 + audience / AUDIENCE_UNIT)


class EngagementStage:
    """documents.extra -> numeric likes/reposts/replies/quotes/followers/views (those found) and
    ``documents.reach``. Per document only, so it may run on chunks."""

    name = "engagement"
    chunkable = True
    requires = ("documents.extra",)
    assigns = ("documents.reach",)

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        flags = parse_flags(getattr(ctx.settings.ingest, "engagement_columns", []))
        docs = corpus.documents
        values: dict[str, list[float]] = {f: [] for f in ENGAGEMENT}
        mapping_of: dict[tuple, dict[str, str]] = {}
        seen_keys: set[str] = set()
        for extra in docs["extra"].tolist():
            try:
                row = json.loads(extra) if isinstance(extra, str) and extra not in ("", "{}") else {}
            except ValueError:
                row = {}
            row = row if isinstance(row, dict) else {}
            keys = tuple(k for k, v in row.items() if v is not None and v != "")  # files with ragged records
            mapping = mapping_of.get(keys)
            if mapping is None:
                mapping = mapping_of[keys] = engagement_columns(list(keys), flags)
                seen_keys.update(keys)
            for f in ENGAGEMENT:
                values[f].append(parse_count(row.get(mapping[f])) if f in mapping else math.nan)
        missing = [f"{f}={c}" for f, c in flags.items() if not any(c == v for m in mapping_of.values() for v in m.values())]
        if missing and len(docs):
            raise InputError(f"Engagement column(s) {', '.join(missing)} named by --engagement-column are not in the data "
                             f"(other columns found: {', '.join(sorted(seen_keys)) or '(none)'}). Fix the column name.")
        found = {f: np.asarray(v, dtype=float) for f, v in values.items() if len(v) and not np.isnan(v).all()}
        frame = pd.DataFrame(found, index=docs.index)
        corpus.documents = docs.assign(**{f: frame[f].to_numpy() for f in found}, reach=reach_weight(frame).round(4))
        used = sorted({c for m in mapping_of.values() for c in m.values()})
        corpus.meta["engagement"] = {"fields": sorted(found), "columns": used,
                                     "documents": int(frame.notna().any(axis=1).sum()) if found else 0}
        return corpus


def is_weighted(docs: pd.DataFrame) -> bool:
    """True when any document carries an engagement count (else every figure is unweighted)."""
    return any(f in docs and docs[f].notna().any() for f in ENGAGEMENT)
