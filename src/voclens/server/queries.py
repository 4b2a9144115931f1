"""Read side of the API: periods, themes, segments and documents with filters and paging,
semantic search over the stored segment embeddings, exports (CSV formula-safe, Parquet, JSON).

Every function takes a ``Store`` handle (one cursor per request) and returns plain Python data.
"""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from voclens.server import ApiError

STATUSES = ("new", "triaged", "in_progress", "resolved")
TREND_WEEKS = 8
EXPORT_TABLES = ("documents", "segments", "themes", "goals")
EXPORT_FORMATS = ("csv", "parquet", "json")
FILTERS = ("theme", "sentiment", "journey_stage", "job_type", "intent", "channel", "q")


# -- plain values ------------------------------------------------------------------------------
UTC_COLUMNS = frozenset({"created", "at", "started", "finished", "updated", "revoked"})  # written by voclens in UTC


def py(v: Any, utc: bool = False) -> Any:
    """A JSON-ready value: numpy scalars and arrays, timestamps as ISO 8601 (with 'Z' when ``utc``:
    the store keeps its own timestamps in UTC, document dates as written in the data), NaN/NaT -> None."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, dict):
        return {str(k): py(x, utc) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [py(x, utc) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") + ("Z" if utc and v.tzinfo is None else "")
    if isinstance(v, date):
        return v.isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def records(df: pd.DataFrame) -> list[dict]:
    cols = list(df.columns)
    utc = [c in UTC_COLUMNS for c in cols]
    return [{c: py(v, u) for c, u, v in zip(cols, utc, row)} for row in df.itertuples(index=False, name=None)]


# -- periods -----------------------------------------------------------------------------------
def latest_period(con) -> str | None:
    row = con.execute("SELECT period FROM runs ORDER BY created DESC LIMIT 1").fetchone()
    return row[0] if row else None


def resolve_period(con, period: str | None, allow_all: bool = False) -> str | None:
    """The period asked for (404 when the store has no such period), or the latest one.
    With ``allow_all``, ``all`` means every period (returns None)."""
    if allow_all and period == "all":
        return None
    if not period:
        p = latest_period(con)
        if p is None:
            raise ApiError(404, "not_found", "The store holds no runs yet. Upload files with POST /api/batches first.")
        return p
    if not con.execute("SELECT 1 FROM runs WHERE period = ?", [period]).fetchone():
        known = [r[0] for r in con.execute("SELECT period FROM runs ORDER BY created").fetchall()]
        raise ApiError(404, "not_found", f"No period {period!r} in the store. Periods: {', '.join(known) or '(none)'}.")
    return period


def periods(con) -> list[dict]:
    df = con.execute("SELECT period, run_id, created, n_documents, n_segments, n_themes FROM runs ORDER BY created").df()
    return records(df)


# -- themes ------------------------------------------------------------------------------------
def _weeks_back(latest: str, n: int) -> list[str]:
    from voclens.trends.weekly import week_start

    start = week_start(latest)
    out = []
    for i in range(n - 1, -1, -1):
        y, w, _ = (start - pd.Timedelta(days=7 * i)).isocalendar()
        out.append(f"{y}-W{w:02d}")
    return out


def _review(con) -> dict[str, dict]:
    df = con.execute("SELECT theme_uid, status, owner FROM theme_review").df()
    return {r["theme_uid"]: r for r in records(df)}


def theme_items(con, period: str, uids: list[str] | None = None) -> list[dict]:
    """The period's themes as API items (status/owner from the review table, trend and goal)."""
    sql = "SELECT * FROM themes WHERE period = ?"
    params: list = [period]
    if uids is not None:
        sql += " AND list_contains(?, theme_uid)"
        params.append(list(uids))
    t = con.execute(sql + " ORDER BY impact_rank NULLS LAST, size DESC", params).df()
    if t.empty:
        return []
    review = _review(con)
    goals = con.execute("SELECT theme_uid, kpi, current, target FROM goals WHERE period = ?", [period]).df()
    goal_of = {r["theme_uid"]: {"kpi": r["kpi"], "current": r["current"], "target": r["target"]} for r in records(goals)}
    latest = con.execute("SELECT max(week) FROM theme_weekly WHERE period = ?", [period]).fetchone()[0] \
        or con.execute("SELECT max(week) FROM theme_weekly").fetchone()[0]
    weeks = _weeks_back(latest, TREND_WEEKS) if latest else []
    counts: dict[tuple[str, str], int] = {}
    if weeks:
        w = con.execute(
            "SELECT theme_uid, week, sum(n_segments) AS n FROM theme_weekly WHERE list_contains(?, week) "
            "AND list_contains(?, theme_uid) GROUP BY 1, 2", [weeks, t["theme_uid"].tolist()]).fetchall()
        counts = {(u, wk): int(n) for u, wk, n in w}
    items = []
    for r in records(t):
        u = r["theme_uid"]
        rv = review.get(u, {})
        items.append({
            "theme_uid": u, "label": r["label"], "keywords": r["keywords"] or [], "size": r["size"],
            "share": round(r["share"], 4) if r["share"] is not None else None, "net_sentiment": r["net_sentiment"],
            "pain_score": r["pain_score"], "pxp": r["pxp"], "impact_rank": r["impact_rank"],
            "departments": r["departments"] or [], "status": rv.get("status") or "new", "owner": rv.get("owner"),
            "trend": [{"week": wk, "n": counts.get((u, wk), 0)} for wk in weeks], "goal": goal_of.get(u),
        })
    return items


SORTS = {
    "impact": (lambda i: (i["impact_rank"] is None, i["impact_rank"] or 0, -(i["size"] or 0))),
    "size": (lambda i: (-(i["size"] or 0), i["theme_uid"])),
    "net": (lambda i: (i["net_sentiment"] is None, i["net_sentiment"] or 0.0, -(i["size"] or 0))),  # most negative first
    "pain": (lambda i: (-(i["pain_score"] or 0.0), -(i["size"] or 0))),
}


def list_themes(con, period: str | None, status: str | None = None, q: str | None = None, sort: str = "impact") -> dict:
    period = resolve_period(con, period)
    if status and status not in STATUSES:
        raise ApiError(422, "invalid_input", f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    items = theme_items(con, period)
    if status:
        items = [i for i in items if i["status"] == status]
    if q:
        ql = q.lower()
        items = [i for i in items if ql in (i["label"] or "").lower() or any(ql in k.lower() for k in i["keywords"])
                 or ql in i["theme_uid"].lower()]
    items.sort(key=SORTS[sort])
    return {"period": period, "items": items}


def _mix(df: pd.DataFrame, col: str) -> dict[str, float]:
    if df.empty:
        return {}
    vc = df[col].fillna("none").value_counts(normalize=True)
    return {str(k): round(float(v), 4) for k, v in vc.items()}


def quotes(st, period: str, uid: str, limit: int = 5) -> list[dict]:
    """Representative quotes: the theme's segments nearest to its registry centroid (masked
    text), each text once: reposts and stock phrases (ありがとうございました。) would otherwise
    fill the list with one sentence, most of all in a merged theme."""
    row = st.con.execute("SELECT centroid FROM registry WHERE theme_uid = ?", [uid]).fetchone()
    if row and row[0] is not None and len(row[0]):
        try:
            df = st.similar_segments(np.asarray(row[0], np.float32), limit * _QUOTE_POOL,
                                     "s.period = ? AND s.theme_uid = ? AND s.kind = 'content'", [period, uid])
            if len(df):
                return _distinct_texts([{"seg_id": r["seg_id"], "doc_id": r["doc_id"], "text": r["text"],
                                         "sentiment": r["sentiment"]} for r in records(df)], limit)
        except Exception:  # vectors of another embedder (other dimension): fall back to plain order
            pass
    df = st.con.execute("SELECT seg_id, doc_id, text, sentiment FROM segments WHERE period = ? AND theme_uid = ? "
                        "AND kind = 'content' ORDER BY seg_id LIMIT ?", [period, uid, limit * _QUOTE_POOL]).df()
    return _distinct_texts(records(df), limit)


_QUOTE_POOL = 8  # candidates per quote shown, so that repeats can be skipped


def _distinct_texts(rows: list[dict], limit: int) -> list[dict]:
    out, seen = [], set()
    for r in rows:
        if r["text"] not in seen:
            seen.add(r["text"])
            out.append(r)
            if len(out) == limit:
                break
    return out


def theme_detail(st, uid: str, period: str | None) -> dict:
    con = st.con
    period = resolve_period(con, period)
    items = theme_items(con, period, [uid])
    if not items:
        raise ApiError(404, "not_found", f"No theme {uid!r} in period {period}. List the themes with GET /api/themes?period={period}.")
    item = items[0]
    seg = con.execute("SELECT journey_stage, job_type, intent FROM segments WHERE period = ? AND theme_uid = ?", [period, uid]).df()
    notes = con.execute("SELECT text, author, created FROM notes WHERE theme_uid = ? ORDER BY created", [uid]).df()
    hist = con.execute("SELECT week, sum(n_segments) AS n, sum(n_negative) AS n_negative FROM theme_weekly "
                       "WHERE theme_uid = ? GROUP BY week ORDER BY week", [uid]).df()
    item.update({
        "period": period, "quotes": quotes(st, period, uid), "stage_mix": _mix(seg, "journey_stage"),
        "job_mix": _mix(seg, "job_type"), "intent_mix": _mix(seg, "intent"), "notes": records(notes),
        "history": [{"week": h["week"], "n": int(h["n"] or 0), "n_negative": round(float(h["n_negative"] or 0), 2)}
                    for h in records(hist)],
    })
    return item


# -- segments and documents --------------------------------------------------------------------
SEGMENT_SELECT = """SELECT s.period, s.seg_id, s.doc_id, d.id, d.channel, s.start, s."end", s.text, s.kind, s.theme_uid,
       t.label AS theme_label, s.sentiment, s.sentiment_score, s.job_type, s.journey_stage, s.intent, s.pain_point, s.emotion
  FROM segments s
  LEFT JOIN documents d ON d.period = s.period AND d.doc_id = s.doc_id
  LEFT JOIN themes t ON t.period = s.period AND t.theme_uid = s.theme_uid"""
DOCUMENT_SELECT = """SELECT d.period, d.doc_id, d.id, d.source, d."row", d.channel, d.date, d.week, d.rating, d.theme_uid,
       t.label AS theme_label, d.sentiment, d.sentiment_score, d.job_type, d.journey_stage, d.intent, d.pain_point,
       d.emotion, d.text
  FROM documents d
  LEFT JOIN themes t ON t.period = d.period AND t.theme_uid = d.theme_uid"""


def _where(table: str, period: str | None, filters: dict[str, Any]) -> tuple[str, list]:
    a = "s" if table == "segments" else "d"
    conds, params = [], []
    if period is not None:
        conds.append(f"{a}.period = ?")
        params.append(period)
    for key in FILTERS:
        v = filters.get(key)
        if v in (None, ""):
            continue
        if key == "q":
            conds.append(f"strpos({a}.text, ?) > 0")
        elif key == "theme":
            conds.append(f"{a}.theme_uid = ?")
        elif key == "channel":
            conds.append("d.channel = ?")
        else:
            conds.append(f"{a}.{key} = ?")
        params.append(v)
    return ("WHERE " + " AND ".join(conds)) if conds else "", params


def list_rows(con, table: str, period: str | None, filters: dict[str, Any], limit: int, offset: int) -> dict:
    period = resolve_period(con, period, allow_all=True)
    where, params = _where(table, period, filters)
    base = SEGMENT_SELECT if table == "segments" else DOCUMENT_SELECT
    order = "s.period, s.seg_id" if table == "segments" else "d.period, d.doc_id"
    total = con.execute(f"SELECT count(*) FROM ({base} {where})", params).fetchone()[0]
    df = con.execute(f"{base} {where} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]).df()
    return {"period": period, "items": records(df), "total": int(total), "limit": limit, "offset": offset}


# -- semantic search ---------------------------------------------------------------------------
def query_vector(embedder, text: str) -> np.ndarray:
    """The query embedded as segments are (normalised analysis text)."""
    from voclens.text.normalize import analysis_text, normalize

    return embedder.encode([analysis_text(normalize(text).text) or text])[0]


def search(st, vector: np.ndarray, limit: int, period: str | None, sentiment: str | None) -> list[dict]:
    conds, params = ["s.kind = 'content'"], []
    if period:
        resolve_period(st.con, period)
        conds.append("s.period = ?")
        params.append(period)
    if sentiment:
        conds.append("s.sentiment = ?")
        params.append(sentiment)
    try:
        df = st.similar_segments(vector, limit, " AND ".join(conds), params)
    except Exception as exc:
        if "dimension" in str(exc).lower() or "size" in str(exc).lower():
            raise ApiError(422, "invalid_input", "The store's embeddings come from another embedder than the server's "
                           "(different dimensions). Start the server with the embedder the runs used (--config).") from exc
        raise
    labels = dict(st.con.execute("SELECT period || '|' || theme_uid, label FROM themes").fetchall())
    return [{"seg_id": r["seg_id"], "period": r["period"], "doc_id": r["doc_id"], "text": r["text"],
             "theme_uid": r["theme_uid"], "theme_label": labels.get(f"{r['period']}|{r['theme_uid']}"),
             "sentiment": r["sentiment"], "similarity": round(r["similarity"], 4) if r["similarity"] is not None else None}
            for r in records(df)]


# -- audit -------------------------------------------------------------------------------------
def audit(con, theme: str | None, limit: int = 500) -> list[dict]:
    sql = 'SELECT "at", "user", action, theme_uid, payload FROM audit'
    params: list = []
    if theme:
        sql += " WHERE theme_uid = ? OR strpos(payload::VARCHAR, ?) > 0"
        params += [theme, json.dumps(theme, ensure_ascii=False)]
    df = con.execute(sql + ' ORDER BY "at" DESC LIMIT ?', [*params, limit]).df()
    out = records(df)
    for r in out:
        r["payload"] = json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
    return out


# -- exports -----------------------------------------------------------------------------------
def export_frame(con, table: str, period: str | None, filters: dict[str, Any]) -> pd.DataFrame:
    period = resolve_period(con, period, allow_all=True)
    if table in ("segments", "documents"):
        where, params = _where(table, period, filters)
        order = "s.period, s.seg_id" if table == "segments" else "d.period, d.doc_id"
        return con.execute(f"{SEGMENT_SELECT if table == 'segments' else DOCUMENT_SELECT} {where} ORDER BY {order}", params).df()
    conds, params = [], []
    if period is not None:
        conds.append("x.period = ?")
        params.append(period)
    if filters.get("theme"):
        conds.append("x.theme_uid = ?")
        params.append(filters["theme"])
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    if table == "themes":
        return con.execute(
            f"""SELECT x.period, x.theme_uid, x.label, x.keywords, x.size, x.share, x.net_sentiment, x.pain_score, x.pxp,
                       x.impact, x.impact_rank, x.departments, COALESCE(r.status, 'new') AS status, r.owner
                FROM themes x LEFT JOIN theme_review r USING (theme_uid) {where}
                ORDER BY x.period, x.impact_rank NULLS LAST""", params).df()
    return con.execute(f"SELECT x.* EXCLUDE (run_id) FROM goals x {where} ORDER BY x.period, x.theme_uid", params).df()


def export_bytes(frame: pd.DataFrame, fmt: str) -> tuple[bytes, str]:
    """(body, media type): CSV is UTF-8 with BOM and formula-safe (cells starting with = + - @,
    tab or CR get a leading apostrophe, as in the CLI's outputs); Parquet; JSON records."""
    from voclens.outputs import _write_csv, _write_parquet

    if fmt == "csv":
        # pandas 3 reads DuckDB text as the 'str' dtype; _write_csv escapes object columns only
        frame = frame.astype({c: object for c in frame.columns if frame[c].dtype != object and pd.api.types.is_string_dtype(frame[c])})
        buf = io.BytesIO()
        _write_csv(frame, buf)
        return buf.getvalue(), "text/csv; charset=utf-8"
    if fmt == "parquet":
        buf = io.BytesIO()
        _write_parquet(frame, buf)
        return buf.getvalue(), "application/vnd.apache.parquet"
    return json.dumps(records(frame), ensure_ascii=False).encode("utf-8"), "application/json"
