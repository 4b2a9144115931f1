"""Editing actions on themes: rename, merge, split, move, status, owner, notes.

Rename, merge, split and move change the period's tables in the store at once (segments,
documents, themes, goals, weekly aggregates; sizes, sentiment, pain, impact and ranks recomputed
for the themes they touch) and append the matching store edit (``Store.add_edits``, author = the
token's name), so that the identity stage applies them to every later run. They run in one
transaction under the server's store write lock: while a batch is writing the store they wait
(up to ``lock_timeout`` seconds, then 503 ``store_busy``).

Status, owner and notes are kept per theme id (``theme_review`` and ``notes`` tables) across
periods. Every action appends a row to ``audit`` (at, user, action, theme_uid, payload JSON).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
import pandas as pd

from voclens.server import ApiError
from voclens.server.queries import STATUSES, resolve_period, theme_items

DDL = [
    """CREATE TABLE IF NOT EXISTS theme_review (
        theme_uid VARCHAR PRIMARY KEY, status VARCHAR, owner VARCHAR, updated TIMESTAMP, updated_by VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS notes (theme_uid VARCHAR, text VARCHAR, author VARCHAR, created TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS audit ("at" TIMESTAMP, "user" VARCHAR, action VARCHAR, theme_uid VARCHAR, payload JSON)""",
]

THEME_COLUMNS = ["period", "run_id", "theme_uid", "local_id", "label", "keywords", "size", "share", "net_sentiment",
                 "pain_score", "pxp", "impact", "impact_rank", "departments", "match_score", "matched"]
MAX_LABEL, MAX_NOTE, MAX_SPLIT = 200, 5000, 10


def ensure_schema(con) -> None:
    for ddl in DDL:
        con.execute(ddl)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _audit(con, user: str, action: str, theme_uid: str | None, payload: dict) -> None:
    con.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?)",
                [_now(), user, action, theme_uid, json.dumps(payload, ensure_ascii=False, default=str)])


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid_input", f"'{what}' must be a non-empty string.")
    value = value.strip()
    if len(value) > limit:
        raise ApiError(422, "invalid_input", f"'{what}' is {len(value)} characters long; at most {limit} are allowed.")
    return value


# -- recomputing a period's theme rows ---------------------------------------------------------
def _segment_stats(con, period: str) -> pd.DataFrame:
    return con.execute(
        """SELECT theme_uid, count(*) AS n,
                  avg(CASE sentiment WHEN 'positive' THEN 1.0 WHEN 'mixed' THEN 0.5 ELSE 0.0 END) AS pos,
                  avg(CASE sentiment WHEN 'negative' THEN 1.0 WHEN 'mixed' THEN 0.5 ELSE 0.0 END) AS neg,
                  avg(COALESCE(pain_point, 0)) AS pain
           FROM segments WHERE period = ? AND theme_uid IS NOT NULL GROUP BY theme_uid""", [period]).df().set_index("theme_uid")


def _growth_factors(con, period: str) -> dict[str, float]:
    """impact / (size x (negative + pain/2)) per theme: the pipeline's (1 + growth), kept when a
    theme's segments change (growth needs the weeks before, which an edit does not change)."""
    t = con.execute("SELECT theme_uid, size, impact FROM themes WHERE period = ?", [period]).df().set_index("theme_uid")
    s = _segment_stats(con, period)
    out = {}
    for u, r in t.iterrows():
        if u in s.index and r["impact"] is not None and not pd.isna(r["impact"]):
            base = float(r["size"]) * (s.at[u, "neg"] + 0.5 * s.at[u, "pain"])
            out[u] = float(np.clip(r["impact"] / base, 1.0, 3.0)) if base > 0 else 1.0
    return out


def _refresh_themes(con, period: str, factors: dict[str, float], new_rows: list[dict] = (),
                    keep: dict[str, dict] | None = None) -> None:
    """Rewrite the period's themes rows from its segments: size, share, net sentiment, pain,
    impact, POF/POP/POD and impact ranks; themes left without segments go."""
    from voclens.lenses.themes import pxp_tag

    t = con.execute(f"SELECT {', '.join(THEME_COLUMNS)} FROM themes WHERE period = ?", [period]).df()
    rows = {r["theme_uid"]: r for r in t.to_dict("records")}
    for r in new_rows:
        rows[r["theme_uid"]] = {c: r.get(c) for c in THEME_COLUMNS}
    for u, changes in (keep or {}).items():
        if u in rows:
            rows[u].update(changes)
    stats = _segment_stats(con, period)
    n_content = con.execute("SELECT count(*) FROM segments WHERE period = ? AND kind = 'content'", [period]).fetchone()[0]
    out = []
    for u, r in rows.items():
        if u not in stats.index:
            continue  # emptied by a merge, split or move
        s = stats.loc[u]
        n = int(s["n"])
        r["size"], r["share"] = n, n / max(int(n_content), 1)
        r["net_sentiment"] = round(float(s["pos"] - s["neg"]), 4)
        r["pain_score"] = round(float(s["pain"]), 4)
        r["impact"] = round(n * (float(s["neg"]) + 0.5 * float(s["pain"])) * factors.get(u, 1.0), 3)
        r["pxp"] = pxp_tag(r["net_sentiment"], r["pain_score"], r["share"])
        r["_pos"] = float(s["pos"]) * n
        out.append(r)
    frame = pd.DataFrame(out)
    if len(frame):  # problems ranked by impact, strengths (POD) after them by volume x positivity
        n = frame["size"].to_numpy(dtype=float)
        problem = (frame["pxp"] != "POD").to_numpy()
        rank = np.zeros(len(frame), dtype=np.int64)
        r_ = 1
        for i in np.lexsort((-n, -frame["impact"].to_numpy(dtype=float))):
            if problem[i]:
                rank[i], r_ = r_, r_ + 1
        for i in np.lexsort((-n, -frame["_pos"].to_numpy(dtype=float))):
            if not problem[i]:
                rank[i], r_ = r_, r_ + 1
        frame["impact_rank"] = rank
        frame = frame.drop(columns="_pos")
        for c in ("keywords", "departments"):
            frame[c] = frame[c].map(lambda v: [str(x) for x in v] if v is not None and not isinstance(v, float) else [])
    con.execute("DELETE FROM themes WHERE period = ?", [period])
    if len(frame):
        con.register("_themes", frame[THEME_COLUMNS])
        cols = ", ".join(f'"{c}"' for c in THEME_COLUMNS)
        con.execute(f"INSERT INTO themes ({cols}) SELECT {cols} FROM _themes")
        con.unregister("_themes")


def _rebuild_weekly(con, period: str) -> None:
    """The period's weekly aggregates from its segments, for the weeks the period still defines."""
    weeks = [r[0] for r in con.execute("SELECT DISTINCT week FROM theme_weekly WHERE period = ?", [period]).fetchall()]
    if not weeks:
        return
    con.execute("DELETE FROM theme_weekly WHERE period = ?", [period])
    con.execute(
        """INSERT INTO theme_weekly
           WITH s AS (
             SELECT COALESCE(s.theme_uid, 'unassigned') AS theme_uid, d.week, s.doc_id, s.sentiment, s.pain_point, s.intent
             FROM segments s JOIN documents d ON d.period = s.period AND d.doc_id = s.doc_id
             WHERE s.period = ? AND s.kind = 'content' AND list_contains(?, d.week)),
           tot AS (SELECT week, count(*) AS total_segments FROM s GROUP BY week)
           SELECT ? AS period, theme_uid, week, count(*) AS n_segments, count(DISTINCT doc_id) AS n_documents,
                  sum(CASE sentiment WHEN 'negative' THEN 1.0 WHEN 'mixed' THEN 0.5 ELSE 0.0 END) AS n_negative,
                  sum(CASE sentiment WHEN 'positive' THEN 1.0 WHEN 'mixed' THEN 0.5 ELSE 0.0 END) AS n_positive,
                  CAST(sum(COALESCE(pain_point, 0)) AS BIGINT) AS n_pain,
                  CAST(sum(CASE WHEN intent = 'complaint' THEN 1 ELSE 0 END) AS BIGINT) AS n_complaint,
                  max(tot.total_segments) AS total_segments
           FROM s JOIN tot USING (week) GROUP BY theme_uid, week""", [period, weeks, period])


def _update_map(con, table: str, key: str, period: str, mapping: pd.DataFrame) -> None:
    """Set theme_uid per ``key`` (seg_id / doc_id) from ``mapping`` [key, theme_uid]."""
    if mapping.empty:
        return
    con.register("_map", mapping)
    con.execute(f"UPDATE {table} SET theme_uid = m.theme_uid FROM _map m WHERE {table}.period = ? AND {table}.{key} = m.{key}",
                [period])
    con.unregister("_map")


def _split_labels(texts: list[str], parts: np.ndarray, k: int, n_keywords: int = 10) -> tuple[list[str], list[list[str]]]:
    """Labels and keywords of the parts, as the themes stage makes them (c-TF-IDF over terms)."""
    from voclens.text.normalize import normalize
    from voclens.text.tokenize import content_terms, noun_terms, tokenize
    from voclens.themes.label import class_tfidf, make_label, top_keywords
    from voclens.themes.stage import _unique_labels

    terms, nouns = [], set()
    for t in texts:
        toks = tokenize(normalize(t).text)
        terms.append(content_terms(toks))
        nouns.update(noun_terms(toks))
    ctfidf, words = class_tfidf(terms, parts, k)
    keywords = top_keywords(ctfidf, words, n_keywords)
    return _unique_labels([make_label(kw, nouns=nouns) for kw in keywords], keywords), keywords


def _period_with(con, period: str | None, uids: list[str], required: bool = True) -> str | None:
    """The period asked for, else the latest period (by run time) whose themes hold every one of
    ``uids``: an edit made from a theme page changes the period that shows the theme."""
    if period:
        return resolve_period(con, period)
    row = con.execute(
        """SELECT t.period FROM themes t JOIN runs r ON r.period = t.period AND r.run_id = t.run_id
           WHERE list_contains(?, t.theme_uid) GROUP BY t.period, r.created HAVING count(DISTINCT t.theme_uid) = ?
           ORDER BY r.created DESC LIMIT 1""", [list(uids), len(set(uids))]).fetchone()
    if row is None and required:
        raise ApiError(404, "not_found", f"No stored period holds {' and '.join(uids)}. List the themes with GET /api/themes.")
    return row[0] if row else None


class Review:
    """The editing actions, over the shared store (``db()`` gives a handle for this thread)."""

    def __init__(self, db: Callable, write_lock: threading.Lock, settings, embed: Callable[[list[str]], np.ndarray],
                 lock_timeout: float = 30.0):
        self.db, self.write_lock, self.settings, self.embed = db, write_lock, settings, embed
        self.lock_timeout = lock_timeout
        self.review_lock = threading.Lock()  # status/owner/notes: small writes, never blocked by a batch

    @contextmanager
    def _tx(self, lock: threading.Lock, timeout: float | None = None):
        if not lock.acquire(timeout=self.lock_timeout if timeout is None else timeout):
            raise ApiError(503, "store_busy", "A batch is writing the store right now. Retry when it has finished "
                                              "(GET /api/batches shows its progress).")
        st = self.db()
        try:
            st.con.execute("BEGIN TRANSACTION")
            try:
                yield st
                st.con.execute("COMMIT")
            except BaseException:
                st.con.execute("ROLLBACK")
                raise
        finally:
            st.close()
            lock.release()

    @staticmethod
    def _period_theme(con, period: str, uid: str) -> dict:
        row = con.execute("SELECT label, keywords, departments, run_id, local_id FROM themes WHERE period = ? AND theme_uid = ?",
                          [period, uid]).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"No theme {uid!r} in period {period}. List the themes with GET /api/themes?period={period}.")
        return {"label": row[0], "keywords": list(row[1] or []), "departments": list(row[2] or []), "run_id": row[3], "local_id": row[4]}

    @staticmethod
    def _known_theme(con, uid: str) -> None:
        if not isinstance(uid, str) or not (
            con.execute("SELECT 1 FROM registry WHERE theme_uid = ?", [uid]).fetchone()
            or con.execute("SELECT 1 FROM themes WHERE theme_uid = ? LIMIT 1", [uid]).fetchone()
        ):
            raise ApiError(404, "not_found", f"No theme {uid!r} in the store. List the themes with GET /api/themes.")

    # -- rename --------------------------------------------------------------------------------
    def rename(self, user: str, uid: str, label: Any, period: str | None = None) -> dict:
        """A label is per theme id: every stored period showing the theme gets it (and the registry)."""
        label = _text(label, "label", MAX_LABEL)
        with self._tx(self.write_lock) as st:
            con = st.con
            self._known_theme(con, uid)
            period = _period_with(con, period, [uid], required=False)
            old = con.execute("SELECT label FROM registry WHERE theme_uid = ?", [uid]).fetchone() or \
                con.execute("SELECT label FROM themes WHERE theme_uid = ? ORDER BY run_id DESC LIMIT 1", [uid]).fetchone()
            periods = [r[0] for r in con.execute("SELECT DISTINCT period FROM themes WHERE theme_uid = ?", [uid]).fetchall()]
            con.execute("UPDATE themes SET label = ? WHERE theme_uid = ?", [label, uid])
            con.execute("UPDATE registry SET label = ?, pinned_label = true WHERE theme_uid = ?", [label, uid])
            st.add_edits([{"op": "rename", "theme": uid, "label": label}], author=user)
            _audit(con, user, "rename", uid, {"label": label, "old_label": old[0] if old else None, "periods": sorted(periods)})
            items = theme_items(con, period, [uid]) if period else []
        return {"period": period, "theme": items[0] if items else {"theme_uid": uid, "label": label}}

    # -- merge ---------------------------------------------------------------------------------
    def merge(self, user: str, themes: Any, into: Any, period: str | None = None) -> dict:
        if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes) or len(set(themes)) < 2:
            raise ApiError(422, "invalid_input", "'themes' must list at least two different theme ids, e.g. [\"T0004\", \"T0009\"].")
        themes = list(dict.fromkeys(themes))
        if into not in themes:
            raise ApiError(422, "invalid_input", f"'into' ({into!r}) must be one of 'themes' {themes}.")
        others = [t for t in themes if t != into]
        with self._tx(self.write_lock) as st:
            con = st.con
            period = _period_with(con, period, themes)
            rows = {u: self._period_theme(con, period, u) for u in themes}
            factors = _growth_factors(con, period)
            for table in ("segments", "documents"):
                con.execute(f"UPDATE {table} SET theme_uid = ? WHERE period = ? AND list_contains(?, theme_uid)", [into, period, others])
            keywords = list(dict.fromkeys(k for u in themes for k in rows[u]["keywords"]))[:10]
            departments = list(dict.fromkeys(d for u in themes for d in rows[u]["departments"]))
            _refresh_themes(con, period, factors, keep={into: {"keywords": keywords, "departments": departments}})
            con.execute("DELETE FROM goals WHERE period = ? AND list_contains(?, theme_uid)", [period, others])
            con.execute("UPDATE registry SET status = 'merged', merged_into = ? WHERE list_contains(?, theme_uid)", [into, others])
            _rebuild_weekly(con, period)
            st.add_edits([{"op": "merge", "themes": themes, "into": into}], author=user)
            _audit(con, user, "merge", into, {"period": period, "themes": themes, "into": into})
            items = theme_items(con, period, [into])
        return {"period": period, "theme": items[0] if items else None, "removed": others}

    # -- split ---------------------------------------------------------------------------------
    def split(self, user: str, uid: str, into: Any, period: str | None = None) -> dict:
        from sklearn.cluster import KMeans

        from voclens.embed.base import unit_rows

        if not isinstance(into, int) or isinstance(into, bool) or not 2 <= into <= MAX_SPLIT:
            raise ApiError(422, "invalid_input", f"'into' must be an integer from 2 to {MAX_SPLIT}, got {into!r}.")
        with self._tx(self.write_lock) as st:
            con = st.con
            period = _period_with(con, period, [uid])
            parent = self._period_theme(con, period, uid)
            seg = con.execute("SELECT seg_id, doc_id, text FROM segments WHERE period = ? AND theme_uid = ? ORDER BY seg_id",
                              [period, uid]).df()
            if len(seg) < 2 * into:
                raise ApiError(422, "invalid_input", f"Theme {uid} has {len(seg)} segments in {period}: too few to split into {into} "
                                                     f"(at least {2 * into} needed).")
            emb = self.embed(seg["text"].tolist())
            ref = st.reference()
            x = emb - (ref if ref is not None and len(ref) == emb.shape[1] else emb.mean(axis=0))
            parts = KMeans(into, n_init=10, random_state=self.settings.themes.seed).fit_predict(x)
            order = np.argsort(-np.bincount(parts, minlength=into), kind="stable")  # part 1 is the largest
            parts = np.argsort(order)[parts]
            kids = [f"{uid}-{j + 1}" for j in range(into)]
            labels, keywords = _split_labels(seg["text"].tolist(), parts, into)
            factors = _growth_factors(con, period)
            f = factors.get(uid, 1.0)
            factors.update({k: f for k in kids})
            seg["theme_uid"] = [kids[p] for p in parts]
            _update_map(con, "segments", "seg_id", period, seg[["seg_id", "theme_uid"]])
            # a document goes with the part holding most of its segments (the largest part otherwise)
            doc_part = seg.groupby("doc_id")["theme_uid"].agg(lambda s: s.value_counts().index[0])
            docs = con.execute("SELECT doc_id FROM documents WHERE period = ? AND theme_uid = ?", [period, uid]).df()
            docs["theme_uid"] = docs["doc_id"].map(doc_part).fillna(kids[0])
            _update_map(con, "documents", "doc_id", period, docs)
            local = int(con.execute("SELECT COALESCE(max(local_id), 0) FROM themes WHERE period = ?", [period]).fetchone()[0])
            new_rows = [{"period": period, "run_id": parent["run_id"], "theme_uid": k, "local_id": local + 1 + j,
                         "label": labels[j], "keywords": keywords[j], "departments": parent["departments"],
                         "match_score": None, "matched": "split"} for j, k in enumerate(kids)]
            _refresh_themes(con, period, factors, new_rows=new_rows)
            con.execute("DELETE FROM goals WHERE period = ? AND theme_uid = ?", [period, uid])
            # children join the registry (centroid = their segments' mean stored embedding), so
            # that the next run's split keeps each part on its id
            vec = emb
            stored = con.execute("SELECT seg_id, vec FROM segment_vectors WHERE period = ? AND list_contains(?, seg_id)",
                                 [period, seg["seg_id"].astype(int).tolist()]).fetchall()
            if len(stored) == len(seg):
                by_id = {int(s): v for s, v in stored}
                vec = np.vstack([np.asarray(by_id[int(s)], np.float32) for s in seg["seg_id"]])
            for j, k in enumerate(kids):
                c = unit_rows(vec[parts == j].mean(axis=0, keepdims=True))[0]
                con.execute("DELETE FROM registry WHERE theme_uid = ?", [k])
                con.execute("INSERT INTO registry VALUES (?, ?, ?, ?, 1, ?, ?, 'active', NULL, false, ?)",
                            [k, labels[j], keywords[j], c.astype(np.float32).tolist(), period, period, uid])
            _rebuild_weekly(con, period)
            st.add_edits([{"op": "split", "theme": uid, "into": into}], author=user)
            _audit(con, user, "split", uid, {"period": period, "into": into, "children": kids,
                                             "sizes": np.bincount(parts, minlength=into).tolist()})
            items = theme_items(con, period, kids)
        return {"period": period, "parent": uid, "themes": items}

    # -- move ----------------------------------------------------------------------------------
    def move(self, user: str, period: str, seg_id: int, theme: Any) -> dict:
        if not isinstance(theme, str):
            raise ApiError(422, "invalid_input", "'theme' must be a theme id, e.g. \"T0001\".")
        with self._tx(self.write_lock) as st:
            con = st.con
            period = resolve_period(con, period)
            row = con.execute("SELECT s.doc_id, s.theme_uid, d.id FROM segments s JOIN documents d ON d.period = s.period "
                              "AND d.doc_id = s.doc_id WHERE s.period = ? AND s.seg_id = ?", [period, seg_id]).fetchone()
            if row is None:
                raise ApiError(404, "not_found", f"No segment {seg_id} in period {period}.")
            doc_id, current, document = row
            if current is None:
                raise ApiError(422, "invalid_input", f"Segment {seg_id} is in no theme (a greeting, closing or outlier); "
                                                     "only segments in a theme can be moved.")
            self._period_theme(con, period, theme)
            moved = [int(r[0]) for r in con.execute(
                "SELECT seg_id FROM segments WHERE period = ? AND doc_id = ? AND theme_uid IS NOT NULL ORDER BY seg_id",
                [period, doc_id]).fetchall()]
            before = sorted({r[0] for r in con.execute("SELECT theme_uid FROM segments WHERE period = ? AND doc_id = ? "
                                                        "AND theme_uid IS NOT NULL", [period, doc_id]).fetchall()})
            factors = _growth_factors(con, period)
            # the stored edit moves a document (every later run applies it to the same document),
            # so the move takes the segment's whole document, as the identity stage will
            con.execute("UPDATE segments SET theme_uid = ? WHERE period = ? AND doc_id = ? AND theme_uid IS NOT NULL",
                        [theme, period, doc_id])
            con.execute("UPDATE documents SET theme_uid = ? WHERE period = ? AND doc_id = ?", [theme, period, doc_id])
            _refresh_themes(con, period, factors)
            _rebuild_weekly(con, period)
            st.add_edits([{"op": "move", "document": str(document), "theme": theme}], author=user)
            _audit(con, user, "move", theme, {"period": period, "seg_id": int(seg_id), "document": str(document),
                                               "from": before, "theme": theme, "segments": moved})
        return {"period": period, "seg_id": int(seg_id), "document": str(document), "theme": theme, "from": before,
                "moved_segments": moved}

    # -- review fields -------------------------------------------------------------------------
    def _review_field(self, user: str, uid: str, field: str, value: str | None) -> dict:
        with self._tx(self.review_lock, timeout=10) as st:
            con = st.con
            self._known_theme(con, uid)
            old = con.execute(f"SELECT {field} FROM theme_review WHERE theme_uid = ?", [uid]).fetchone()
            con.execute(
                f"""INSERT INTO theme_review (theme_uid, {field}, updated, updated_by) VALUES (?, ?, ?, ?)
                    ON CONFLICT (theme_uid) DO UPDATE SET {field} = excluded.{field}, updated = excluded.updated,
                    updated_by = excluded.updated_by""", [uid, value, _now(), user])
            _audit(con, user, field, uid, {field: value, "old": old[0] if old else None})
            row = con.execute("SELECT status, owner FROM theme_review WHERE theme_uid = ?", [uid]).fetchone()
        return {"theme_uid": uid, "status": row[0] or "new", "owner": row[1]}

    def status(self, user: str, uid: str, status: Any) -> dict:
        if status not in STATUSES:
            raise ApiError(422, "invalid_input", f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
        return self._review_field(user, uid, "status", status)

    def owner(self, user: str, uid: str, department: Any) -> dict:
        """Set the owning department; None or a blank string clears it (unassigned again)."""
        if department is None or (isinstance(department, str) and not department.strip()):
            return self._review_field(user, uid, "owner", None)
        return self._review_field(user, uid, "owner", _text(department, "department", MAX_LABEL))

    def add_note(self, user: str, uid: str, text: Any) -> dict:
        text = _text(text, "text", MAX_NOTE)
        with self._tx(self.review_lock, timeout=10) as st:
            con = st.con
            self._known_theme(con, uid)
            con.execute("INSERT INTO notes VALUES (?, ?, ?, ?)", [uid, text, user, _now()])
            _audit(con, user, "note", uid, {"text": text})
            from voclens.server.queries import records

            notes = records(con.execute("SELECT text, author, created FROM notes WHERE theme_uid = ? ORDER BY created", [uid]).df())
        return {"theme_uid": uid, "notes": notes}
