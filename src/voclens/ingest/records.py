"""Turn raw string tables into the ``documents`` / ``rejects`` tables every later stage reads.

One code path serves files and in-memory records, so ``Corpus.from_texts`` behaves exactly like
loading a CSV. All per-row work is vectorised or done once per distinct value (dates, ratings and
channels repeat a lot), which keeps 100k-row files within a few seconds.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from voclens.config import IngestSettings
from voclens.corpus import DOCUMENT_COLUMNS, REJECT_COLUMNS, Corpus
from voclens.errors import ColumnNotFoundError, InputError
from voclens.ingest.columns import ROLES, channel_from_filename, map_channels, resolve_columns
from voclens.ingest.readers import UNDECODABLE, _frame_from_objects, read_table

# Order matters: a row is rejected for the first reason that applies.
REASONS = ("undecodable", "malformed", "not_text", "empty_text")
TIMEZONE = "Asia/Tokyo"


# -- public API --------------------------------------------------------------------------------
def load_corpus(paths: Iterable[str | Path], settings: IngestSettings | None = None) -> Corpus:
    """Read every file into one Corpus; any file that cannot be used stops the run with its name.

    Files are never skipped silently: a bad file raises, a bad row goes to ``rejects`` with its
    reason, and ``meta["ingest"]`` accounts for every row (rows_in == rows_ok + rows_rejected).
    """
    settings = settings or IngestSettings()
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise InputError("No input files given. Pass one or more .csv, .tsv, .txt, .jsonl, .json, .xlsx or .parquet files.")
    parts = []
    for path in paths:
        df, info = read_table(path, settings)
        roles = resolve_columns(df, settings, str(path))
        parts.append(_build(df, info, roles, path.name, settings))
    corpus = _assemble(parts)
    _release_arrow_pool()
    if corpus.n_documents == 0:
        totals = corpus.meta["ingest"]
        if totals["rows_in"] == 0:
            why = "the files have a header but no data rows"
        else:
            why = f"{totals['rows_in']} rows, all rejected: " + ", ".join(f"{k} {v}" for k, v in totals["rejected"].items())
        raise InputError(
            f"No usable texts in {', '.join(map(str, paths))} ({why}). "
            "Check that the files hold the feedback and that the text column is right (name it with --text-column NAME)."
        )
    return corpus


def _release_arrow_pool() -> None:
    """pandas keeps text in Arrow buffers; parsing leaves the Arrow allocator holding freed
    blocks (~150 MB per 200k texts), which it returns only when asked."""
    try:
        import pyarrow as pa
    except ImportError:
        return
    pa.default_memory_pool().release_unused()


def corpus_from_records(
    records: list[dict[str, Any]] | list[Any], source: str = "<memory>", settings: IngestSettings | None = None
) -> Corpus:
    """A Corpus from in-memory dicts (keys text/id/date/rating/channel, others kept as extras).

    Values may be Python objects (datetime, float, None); they are rendered as a file would hold
    them and then go through the same path as a file, so results are identical.
    """
    settings = settings or IngestSettings()
    records = list(records)
    df, not_text = _frame_from_objects(records)
    info = {"path": source, "format": "records", "encoding": None, "undecodable_lines": 0, "not_text": not_text, "malformed": []}
    try:
        roles = resolve_columns(df, settings, source, by_content=False)
    except ColumnNotFoundError as exc:
        exc.args = (f"{source}: no 'text' key in the records. Keys found: {', '.join(exc.found) or '(none)'}. "
                    "Give each record a 'text' key (or set IngestSettings(text_column=KEY)).",)
        raise
    return _assemble([_build(df, info, roles, source, settings)])


# -- building ----------------------------------------------------------------------------------
def _as_str(col: pd.Series) -> pd.Series:
    """Cells as ``str`` with missing ones as ''; one fast dtype for the string operations below."""
    return col.astype(object).where(col.notna(), "").astype(str)


def _build(df: pd.DataFrame, info: dict[str, Any], roles: dict[str, Any], source: str, settings: IngestSettings):
    n = len(df)
    text_col = roles["text"]
    raw_text = _as_str(df[text_col]) if n else pd.Series([], dtype=str)
    text = raw_text.str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False).str.replace("\x00", "", regex=False)

    reason = pd.Series([None] * n, index=df.index, dtype=object)
    if info.get("undecodable_lines"):
        bad = np.zeros(n, dtype=bool)
        for c in df.columns:
            bad |= _as_str(df[c]).str.contains(UNDECODABLE, regex=False).to_numpy()
        reason[bad] = "undecodable"
    if info.get("malformed"):
        rows = [r for r in info["malformed"] if reason.iat[r] is None]
        reason.iloc[rows] = "malformed"
    structured = info.get("not_text", {}).get(text_col, [])
    if structured:
        rows = [r for r in structured if reason.iat[r] is None]
        reason.iloc[rows] = "not_text"
    blank = _blank(text) & reason.isna().to_numpy()
    reason[blank] = "empty_text"

    ok = reason.isna().to_numpy()
    ids = _as_str(df[roles["id"]]).str.strip() if roles["id"] is not None else pd.Series([""] * n, index=df.index, dtype=str)
    row = pd.Series(np.arange(1, n + 1, dtype="int64"), index=df.index)

    rejects = pd.DataFrame(
        {
            "source": source,
            "row": row[~ok],
            "id": ids[~ok],
            "reason": reason[~ok],
            "text": text[~ok].str.replace(UNDECODABLE, "\ufffd", regex=False),
        },
        columns=REJECT_COLUMNS,
    )

    kept = text[ok]
    too_long = kept.str.len() > settings.max_chars
    truncated = int(too_long.sum())
    if truncated:
        kept = kept.where(~too_long, kept.str.slice(0, settings.max_chars))

    kept_ids = ids[ok]
    missing_id = (kept_ids == "").to_numpy()
    if missing_id.any():
        kept_ids = kept_ids.copy()
        kept_ids[missing_id] = _stable_ids(source, kept[missing_id])

    if roles["date"] is not None:
        dates, unparsed = parse_dates(df.loc[ok, roles["date"]])
    else:
        dates, unparsed = pd.Series(pd.NaT, index=kept.index, dtype="datetime64[ns]"), 0
    ratings = parse_ratings(df.loc[ok, roles["rating"]]) if roles["rating"] is not None else pd.Series(np.nan, index=kept.index)

    default_channel = settings.channel or channel_from_filename(source) or "other"
    if roles["channel"] is not None:
        channels = map_channels(df.loc[ok, roles["channel"]]).fillna(default_channel)
    else:
        channels = pd.Series(default_channel, index=kept.index)

    used = {roles[r] for r in ROLES if roles[r] is not None}
    others = [c for c in df.columns if c not in used]
    extra = _extras(df.loc[ok, others]) if others else pd.Series("{}", index=kept.index)

    docs = pd.DataFrame(
        {
            "id": kept_ids.astype(str),
            "source": source,
            "row": row[ok],
            "channel": channels.astype(str),
            "date": dates.astype("datetime64[ns]"),
            "rating": ratings.astype("float64"),
            "text": kept.astype(str),
            "extra": extra.astype(str),
        },
        index=kept.index,
    )
    counts = reason[~ok].value_counts()
    file_meta = {
        "path": info["path"],
        "format": info["format"],
        "encoding": info["encoding"],
        "rows_in": n,
        "rows_ok": int(ok.sum()),
        "rows_rejected": int((~ok).sum()),
        "text_column": text_col,
        "text_found_by": roles.get("text_how"),
        "id_column": roles["id"],
        "date_column": roles["date"],
        "rating_column": roles["rating"],
        "channel_column": roles["channel"],
        "channel_default": default_channel,
        "columns": [str(c) for c in df.columns],
        "truncated": truncated,
        "dates_unparsed": unparsed,
        # scales differ by source (5 stars, NPS 0-10): consumers must not pool them blindly
        "rating_range": [float(ratings.min()), float(ratings.max())] if ratings.notna().any() else None,
        "rejected": {r: int(counts[r]) for r in REASONS if r in counts.index},
    }
    return docs, rejects, file_meta


def _blank(text: pd.Series) -> np.ndarray:
    """Missing, blank, or only whitespace/punctuation/control characters ('。。', '-', '　')."""
    blank = (text.str.strip() == "").to_numpy(dtype=bool, copy=True)
    values = text.to_numpy(dtype=object)
    for i in np.flatnonzero(~blank):  # stops at the first letter, digit or symbol: cheap per row
        if not any(unicodedata.category(ch)[0] not in "PZC" for ch in values[i]):
            blank[i] = True
    return blank


def _stable_ids(source: str, texts: pd.Series) -> list[str]:
    """sha1(file name + NUL + text)[:12], '-2', '-3'… for repeats: the same file gives the same ids."""
    prefix = source.encode("utf-8") + b"\x00"
    base = pd.Series([hashlib.sha1(prefix + t.encode("utf-8")).hexdigest()[:12] for t in texts], dtype=object)
    nth = base.groupby(base, sort=False).cumcount().to_numpy()
    return [b if k == 0 else f"{b}-{k + 1}" for b, k in zip(base, nth)]


def _extras(frame: pd.DataFrame) -> pd.Series:
    """Other columns of each row as a JSON object, original names and raw values.

    pandas' C JSON writer is ~5x faster than ``json.dumps`` per row; it escapes '/' as '\\/',
    which we undo (a literal backslash is always written '\\\\', so the swap is exact).
    """
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        return pd.Series([], index=frame.index, dtype=object)
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).replace("\\/", "/")
    out = lines.rstrip("\n").split("\n")
    return pd.Series(out, index=frame.index, dtype=object)


def _assemble(parts: list[tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]]) -> Corpus:
    docs = [p[0] for p in parts]
    rejects = [p[1] for p in parts if len(p[1])]
    files = [p[2] for p in parts]
    documents = pd.concat(docs, ignore_index=True) if docs else pd.DataFrame(columns=DOCUMENT_COLUMNS[1:])
    documents.insert(0, "doc_id", np.arange(len(documents), dtype="int64"))
    documents = documents[DOCUMENT_COLUMNS]
    corpus = Corpus()
    corpus.documents = documents
    if rejects:
        corpus.rejects = pd.concat(rejects, ignore_index=True)[REJECT_COLUMNS]
    corpus.originals = pd.Series(documents["text"].to_numpy(), index=pd.Index(documents["doc_id"], name="doc_id"), name="text")
    rejected: dict[str, int] = {}
    for f in files:
        for r, k in f["rejected"].items():
            rejected[r] = rejected.get(r, 0) + k
    corpus.meta["ingest"] = {
        "files": files,
        "rows_in": sum(f["rows_in"] for f in files),
        "rows_ok": sum(f["rows_ok"] for f in files),
        "rows_rejected": sum(f["rows_rejected"] for f in files),
        "truncated": sum(f["truncated"] for f in files),
        "dates_unparsed": sum(f["dates_unparsed"] for f in files),
        "rejected": rejected,
    }
    return corpus


# -- values ------------------------------------------------------------------------------------
_ERA = {"令和": 2018, "平成": 1988, "昭和": 1925}
_RE_WEEKDAY = re.compile(r"\s*\((?:[月火水木金土日]|mon|tue|wed|thu|fri|sat|sun)[a-z]*\)\s*", re.I)
_RE_ERA = re.compile(r"(令和|平成|昭和)(\d{1,2}|元)年")
_RE_JP_DATE = re.compile(r"(\d{4})年\s*(\d{1,2})月(?:\s*(\d{1,2})日)?")
_RE_JP_TIME = re.compile(r"(?:(午前|午後)\s*)?(\d{1,2})時(?:\s*(\d{1,2})分)?(?:\s*(\d{1,2})秒)?")
_RE_YMD = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?=$|[ T])")
_RE_OFFSET = re.compile(r"(?:\d)(?:Z|[+-]\d{2}:?\d{2})$")
_RE_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_RE_DATEISH = re.compile(r"\d{4}|\d{1,2}[/\-]\d{1,2}[/\-]\d{2}\b")


def _normalize_date_string(s: str) -> str:
    """Rewrite Japanese and slashed forms into ISO 8601 so pandas' fast parser takes them."""
    s = s.strip()
    if not s.isascii():  # full-width digits, 年月日, 時分, eras, (月)
        s = unicodedata.normalize("NFKC", s)
        s = _RE_WEEKDAY.sub(" ", s).strip()
        s = _RE_ERA.sub(lambda m: f"{_ERA[m[1]] + (1 if m[2] == '元' else int(m[2]))}年", s)
        s = _RE_JP_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3] or 1):02d} ", s)
        s = _RE_JP_TIME.sub(_jp_time, s)
        s = re.sub(r"\s+", " ", s).strip()
    elif "(" in s:
        s = _RE_WEEKDAY.sub(" ", s).strip()
    if s.endswith("JST"):
        s = s[:-3].rstrip() + "+09:00"
    return _RE_YMD.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", s)


def _jp_time(m: re.Match[str]) -> str:
    hour = int(m[2]) + (12 if m[1] == "午後" and int(m[2]) < 12 else 0)
    return f"{hour:02d}:{int(m[3] or 0):02d}:{int(m[4] or 0):02d}"


def parse_dates(col: pd.Series) -> tuple[pd.Series, int]:
    """Dates as datetime64[ns] in Japan local time (NaT if missing), and how many failed to parse.

    Offsets are converted to Asia/Tokyo then dropped, so '2026-09-28T01:00:00Z' and
    '2026-09-28 10:00' are the same moment. Excel serial numbers (45000) and 20260928 are read
    too. Each distinct string is parsed once.
    """
    s = _as_str(col).str.strip()
    present = (s != "").to_numpy()
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if not present.any():
        return out, 0
    uniq = pd.Series(pd.unique(s[present].to_numpy(dtype=object)), dtype=object)
    norm = uniq.map(_normalize_date_string)
    parsed = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")

    serial = norm.str.fullmatch(_RE_SERIAL)
    if serial.any():
        days = norm[serial].astype(float)
        days = days[(days >= 20000) & (days <= 80000)]
        parsed[days.index] = pd.to_datetime(days, unit="D", origin="1899-12-30").astype("datetime64[ns]")
    compact = norm.str.fullmatch(r"\d{8}")
    if compact.any():
        parsed[compact] = _ns(pd.to_datetime(norm[compact], format="%Y%m%d", errors="coerce"))
    rest = ~serial & ~compact
    aware = rest & norm.str.contains(_RE_OFFSET)
    if aware.any():
        t = pd.to_datetime(norm[aware], format="ISO8601", errors="coerce", utc=True)
        retry = t.isna() & norm[aware].str.contains(_RE_DATEISH)
        if retry.any():
            t[retry] = pd.to_datetime(norm[aware][retry], format="mixed", errors="coerce", utc=True)
        parsed[aware] = _ns(t.dt.tz_convert(TIMEZONE).dt.tz_localize(None))
    naive = rest & ~aware
    if naive.any():
        t = _ns(pd.to_datetime(norm[naive], format="ISO8601", errors="coerce"))
        retry = t.isna() & norm[naive].str.contains(_RE_DATEISH)
        if retry.any():
            t[retry] = _ns(pd.to_datetime(norm[naive][retry], format="mixed", errors="coerce"))
        parsed[naive] = t
    lookup = pd.Series(parsed.to_numpy(), index=uniq.to_numpy())
    out[present] = lookup.reindex(s[present].to_numpy(dtype=object)).to_numpy()
    return out, int(out[present].isna().sum())


def _ns(t: pd.Series) -> pd.Series:
    """To nanoseconds, turning dates outside its range (year 1677–2262) into NaT, not errors."""
    t = t.where((t.dt.year >= 1678) & (t.dt.year <= 2261))
    return t.astype("datetime64[ns]")


_RE_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _rating_of(value: str) -> float:
    s = unicodedata.normalize("NFKC", value).strip()
    if s and set(s) <= set("★☆ "):
        return float(s.count("★"))
    m = _RE_NUMBER.search(s)
    return float(m[0]) if m else np.nan


def parse_ratings(col: pd.Series) -> pd.Series:
    """Ratings as floats: '4', '4.5', '５', '★★★★☆', '4/5', '星4つ' (NaN when missing)."""
    s = _as_str(col)
    uniq = pd.unique(s.to_numpy(dtype=object))
    table = {u: _rating_of(u) for u in uniq}
    return s.map(table).astype("float64")
