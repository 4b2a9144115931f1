"""The history store: every run's results in one embedded DuckDB file.

Writing a period is one transaction: the period's old rows go, the new ones come, the theme
registry is updated; an error or an interrupted process leaves the file as it was (DuckDB's
write-ahead log). Weekly aggregates are written with each run, so trends and alerts read a few
rows per theme and week, never the texts of earlier weeks.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from voclens.errors import InputError, MissingDependencyError
from voclens.store.schema import DDL, PERIOD_TABLES, SCHEMA_VERSION, WEEKLY_TABLES


def iso_week(dates: pd.Series) -> pd.Series:
    """'2026-W47' per date (ISO year and week; NaT -> None)."""
    d = pd.to_datetime(dates, errors="coerce")
    iso = d.dt.isocalendar()
    out = (iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)).astype(object)
    return out.where(d.notna(), None)


def infer_period(dates: pd.Series) -> str:
    """The ISO week of the data, or 'first..last' when it spans several; the run date's week without dates."""
    weeks = iso_week(dates).dropna()
    if weeks.empty:
        return iso_week(pd.Series([pd.Timestamp.now()])).iat[0]
    lo, hi = weeks.min(), weeks.max()
    return lo if lo == hi else f"{lo}..{hi}"


class Store:
    """A DuckDB history file. Use as a context manager, or call ``close``."""

    def __init__(self, path: str | Path, read_only: bool = False):
        try:
            import duckdb
        except ImportError as exc:
            raise MissingDependencyError("The history store", "pip install duckdb") from exc
        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise InputError(f"No history store at {self.path}. Create one with: voclens analyze FILES --store {self.path} --out DIR")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(f"Cannot open the history store {self.path} ({exc}). Is another voclens run using it?") from exc
        if not read_only:
            for ddl in DDL:
                self.con.execute(ddl)
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def cursor(self) -> "Store":
        """Another handle on this open database, for another thread (a DuckDB connection must not
        be shared between threads; a cursor shares the database and sees every committed write)."""
        other = object.__new__(Store)
        other.path, other.con = self.path, self.con.cursor()
        return other

    # -- reading ---------------------------------------------------------------------------------
    def registry(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM registry ORDER BY theme_uid").df()

    def reference(self):
        """The mean embedding theme centroids are compared around (None before the first run)."""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'embedding_reference'").fetchone()
        return np.asarray(json.loads(row[0]), dtype=np.float32) if row else None

    def edits(self) -> list[dict]:
        rows = self.con.execute("SELECT op, payload FROM edits ORDER BY edit_id").fetchall()
        return [{"op": op, **json.loads(payload)} for op, payload in rows]

    def periods(self) -> pd.DataFrame:
        return self.con.execute("SELECT period, run_id, created, n_documents, n_segments, n_themes FROM runs ORDER BY created").df()

    def weekly(self) -> pd.DataFrame:
        """Theme x week aggregates over the whole history (a few rows per theme and week)."""
        df = self.con.execute(
            """SELECT w.theme_uid, w.week, w.n_segments, w.n_documents, w.n_negative, w.n_positive, w.n_pain,
                      w.n_complaint, w.total_segments, COALESCE(r.label, w.theme_uid) AS label
               FROM theme_weekly w LEFT JOIN registry r USING (theme_uid) ORDER BY w.week, w.theme_uid"""
        ).df()
        return df

    def brand_weekly(self) -> pd.DataFrame:
        """Brand x week mentions, sentiment and reach over the whole history (voclens.social)."""
        return self.con.execute("SELECT * EXCLUDE (period) FROM brand_weekly ORDER BY week, brand").df()

    def watch_weekly(self) -> pd.DataFrame:
        """Alert term x week hits over the whole history (voclens.social)."""
        return self.con.execute("SELECT * EXCLUDE (period) FROM watch_weekly ORDER BY week, term").df()

    def write_alerts(self, period: str, alerts: list[dict]) -> None:
        self.con.execute("DELETE FROM alerts WHERE period = ?", [period])
        for a in alerts:
            self.con.execute(
                "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [period, a["week"], a["theme_uid"], a["label"], a["kind"], a["sensitivity"], a["observed"], a["expected"],
                 a["p_value"], a["message"], datetime.now(timezone.utc).replace(tzinfo=None)],
            )

    def similar_segments(self, vector: np.ndarray, limit: int = 20, where: str = "", params: list | None = None) -> pd.DataFrame:
        """Segments nearest to ``vector`` (cosine), with their text and labels; ``where`` filters
        on segments columns (``s.sentiment = ?``)."""
        sql = f"""SELECT s.period, s.seg_id, s.doc_id, s.text, s.theme_uid, s.sentiment, s.journey_stage, s.job_type,
                         list_cosine_similarity(v.vec, ?::FLOAT[]) AS similarity
                  FROM segment_vectors v JOIN segments s USING (period, seg_id)
                  {('WHERE ' + where) if where else ''} ORDER BY similarity DESC LIMIT ?"""
        return self.con.execute(sql, [np.asarray(vector, np.float32).tolist(), *(params or []), int(limit)]).df()

    def count_rows(self, table: str, period: str | None = None) -> int:
        if period is None:
            return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return int(self.con.execute(f"SELECT count(*) FROM {table} WHERE period = ?", [period]).fetchone()[0])

    # -- writing ---------------------------------------------------------------------------------
    def add_edits(self, edits: list[dict], author: str = "edits-file") -> int:
        """Append edits (``{"op": "rename", "theme": "T0003", "label": "配送遅延"}`` ...); they
        apply from the next run on. Inside ``write_run`` they join the run's transaction."""
        from voclens.store.edits import validate_edit

        start = int(self.con.execute("SELECT COALESCE(max(edit_id), 0) FROM edits").fetchone()[0])
        now = datetime.now(timezone.utc)
        for i, e in enumerate(edits, 1):
            validate_edit(e)
            payload = {k: v for k, v in e.items() if k != "op"}
            self.con.execute("INSERT INTO edits VALUES (?, ?, ?, ?, ?)", [start + i, now, author, e["op"], json.dumps(payload, ensure_ascii=False)])
        return len(edits)

    def write_run(self, corpus, period: str, run_id: str, manifest: dict, registry: pd.DataFrame,
                  new_edits: list[dict] = ()) -> None:
        """Replace ``period`` with this run, atomically: its rows, the updated registry and the
        edits it applied for the first time commit together or not at all."""
        tables = _period_frames(corpus, period, run_id, manifest)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if new_edits:
                self.add_edits(list(new_edits))
            for t in PERIOD_TABLES:
                con.execute(f"DELETE FROM {t} WHERE period = ?", [period])
            weeks = tables["theme_weekly"]["week"].dropna().unique().tolist()
            if weeks:  # the newest run covering a week defines that week
                for t in WEEKLY_TABLES:
                    con.execute(f"DELETE FROM {t} WHERE list_contains(?, week)", [weeks])
            for name, frame in tables.items():
                if len(frame):
                    con.register("_frame", frame)
                    cols = ", ".join(f'"{c}"' for c in frame.columns)
                    con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _frame")
                    con.unregister("_frame")
            if corpus.embeddings is not None and len(corpus.embeddings):
                _insert_vectors(con, period, corpus.segments["seg_id"].to_numpy(), corpus.embeddings)
            if corpus.meta.get("embedding_reference") is not None:
                con.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_reference', ?)", [json.dumps(corpus.meta["embedding_reference"])])
            con.execute("DELETE FROM registry")
            if len(registry):
                reg = registry.copy()
                reg["centroid"] = reg["centroid"].map(lambda v: [float(x) for x in v])
                con.register("_reg", reg)
                cols = ", ".join(reg.columns)
                con.execute(f"INSERT INTO registry ({cols}) SELECT {cols} FROM _reg")
                con.unregister("_reg")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _insert_vectors(con, period: str, seg_ids: np.ndarray, emb: np.ndarray) -> None:
    """Segment embeddings for semantic search, through Arrow (100k rows in about a second)."""
    import pyarrow as pa

    emb = np.ascontiguousarray(emb, dtype=np.float32)
    vec = pa.ListArray.from_arrays(pa.array(np.arange(0, emb.size + 1, emb.shape[1], dtype=np.int32)), pa.array(emb.ravel()))
    table = pa.table({"period": pa.array([period] * len(seg_ids)), "seg_id": pa.array(seg_ids.astype(np.int64)), "vec": vec})
    con.register("_vectors", table)
    con.execute("INSERT INTO segment_vectors SELECT * FROM _vectors")
    con.unregister("_vectors")


def _period_frames(corpus, period: str, run_id: str, manifest: dict) -> dict[str, pd.DataFrame]:
    docs, seg, themes = corpus.documents, corpus.segments, corpus.themes
    uid_of = dict(zip(themes["theme_id"], themes["theme_uid"])) if "theme_uid" in themes else {}
    doc_week = iso_week(docs["date"]) if "date" in docs else pd.Series([None] * len(docs))
    d = pd.DataFrame({
        "period": period, "run_id": run_id, "doc_id": docs["doc_id"].astype("int64"), "id": docs["id"].astype(str),
        "source": docs["source"], "row": docs["row"].astype("int64"), "channel": docs["channel"],
        "date": pd.to_datetime(docs.get("date"), errors="coerce"), "week": doc_week.to_numpy(),
        "rating": pd.to_numeric(docs.get("rating"), errors="coerce"), "theme_uid": docs["theme_id"].map(uid_of),
        "sentiment": docs.get("sentiment"), "sentiment_score": docs.get("sentiment_score"),
        "job_type": docs.get("job_type"), "journey_stage": docs.get("journey_stage"), "intent": docs.get("intent"),
        "pain_point": docs.get("pain_point"), "emotion": docs.get("emotion"), "text": docs["text"],
    })
    s = pd.DataFrame({
        "period": period, "run_id": run_id, "seg_id": seg["seg_id"].astype("int64"), "doc_id": seg["doc_id"].astype("int64"),
        "start": seg["start"], "end": seg["end"], "text": seg["text"], "kind": seg.get("kind"),
        "theme_uid": seg["theme_id"].map(uid_of), "sentiment": seg.get("sentiment"), "sentiment_score": seg.get("sentiment_score"),
        "job_type": seg.get("job_type"), "journey_stage": seg.get("journey_stage"), "intent": seg.get("intent"),
        "pain_point": seg.get("pain_point"), "emotion": seg.get("emotion"),
    })
    t = pd.DataFrame({
        "period": period, "run_id": run_id, "theme_uid": themes.get("theme_uid"), "local_id": themes["theme_id"],
        "label": themes["label"], "keywords": themes["keywords"].map(list), "size": themes["size"], "share": themes["share"],
        "net_sentiment": themes.get("net_sentiment"), "pain_score": themes.get("pain_score"), "pxp": themes.get("pxp"),
        "impact": themes.get("impact"), "impact_rank": themes.get("impact_rank"),
        "departments": themes["departments"].map(list) if "departments" in themes else None,
        "match_score": themes.get("match_score"), "matched": themes.get("matched"),
    })
    g = corpus.goals
    goals = pd.DataFrame({
        "period": period, "run_id": run_id, "theme_uid": g["theme_id"].map(uid_of) if len(g) else [],
        **{c: g[c] if c in g else None for c in ("pxp", "kpi", "kpi_id", "current", "current_value", "target",
                                                  "target_value", "better", "horizon", "outcome")},
        "departments": g["departments"].map(list) if "departments" in g and len(g) else [],
        "actions": g["actions"].map(list) if "actions" in g and len(g) else [],
    }) if len(g) else pd.DataFrame()
    run = pd.DataFrame([{
        "run_id": run_id, "period": period, "created": datetime.now(timezone.utc).replace(tzinfo=None),
        "manifest": json.dumps(manifest, ensure_ascii=False, default=str), "n_documents": len(docs), "n_segments": len(seg),
        "n_themes": len(themes),
    }])
    from voclens.social.history import social_frames

    return {"runs": run, "documents": d, "segments": s, "themes": t, "goals": goals, "theme_weekly": weekly_rows(corpus, period, uid_of),
            **social_frames(corpus, period)}


def weekly_rows(corpus, period: str, uid_of: dict) -> pd.DataFrame:
    """Per theme and ISO week of the documents' dates: volumes and the counts trends need."""
    seg, docs = corpus.segments, corpus.documents
    if "date" not in docs or docs["date"].isna().all():
        return pd.DataFrame(columns=["period", "theme_uid", "week", "n_segments", "n_documents", "n_negative", "n_positive",
                                     "n_pain", "n_complaint", "total_segments"])
    week = seg["doc_id"].map(dict(zip(docs["doc_id"], iso_week(docs["date"]))))
    content = seg["kind"] == "content" if "kind" in seg else pd.Series(True, index=seg.index)
    frame = pd.DataFrame({
        "week": week, "theme_uid": seg["theme_id"].map(uid_of).fillna("unassigned"), "doc_id": seg["doc_id"],
        "neg": (seg["sentiment"] == "negative") + 0.5 * (seg["sentiment"] == "mixed"),
        "pos": (seg["sentiment"] == "positive") + 0.5 * (seg["sentiment"] == "mixed"),
        "pain": seg.get("pain_point", 0), "complaint": seg.get("intent", pd.Series("", index=seg.index)) == "complaint",
    })[content.to_numpy() & week.notna().to_numpy()]
    totals = frame.groupby("week").size().rename("total_segments")
    agg = frame.groupby(["theme_uid", "week"]).agg(
        n_segments=("doc_id", "size"), n_documents=("doc_id", "nunique"), n_negative=("neg", "sum"),
        n_positive=("pos", "sum"), n_pain=("pain", "sum"), n_complaint=("complaint", "sum"),
    ).reset_index().join(totals, on="week")
    agg.insert(0, "period", period)
    return agg.astype({"n_pain": "int64", "n_complaint": "int64"})

