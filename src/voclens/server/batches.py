"""Batches: uploaded files analysed into the store by one background worker thread.

A batch is a row in the store's ``batches`` table (so a restarted server still lists it) and a
folder ``<data-dir>/batches/<batch_id>/`` holding the uploaded files (``input/``) and the run's
report and tables. One worker thread runs ``voclens.analyze`` for one batch at a time, holding the
server's store write lock for the whole run (theme edits wait for it); progress comes from the
analyze progress callback. A batch that was running when the server stopped is marked failed at
the next start; queued batches are picked up again.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import threading
import time
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from voclens.config import Settings
from voclens.errors import InputError, VoclensError
from voclens.ingest.readers import FORMATS, SUPPORTED

log = logging.getLogger("voclens.server")

DDL = [
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id VARCHAR PRIMARY KEY, status VARCHAR, progress DOUBLE, stage VARCHAR, period VARCHAR,
        created TIMESTAMP, started TIMESTAMP, finished TIMESTAMP, counts JSON, alerts INTEGER, error VARCHAR,
        files JSON, options JSON, "user" VARCHAR, run_id VARCHAR)""",
]

# the order analyze reports its stages in; progress = (stage index + done/total) / len(STAGES)
STAGES = ["ingest", "segment", "tokenize", "embed", "sentiment", "lenses", "themes", "identity", "summarize",
          "lens_summary", "goals", "store"]
STATUSES = ("queued", "running", "done", "failed")


def ensure_schema(con) -> None:
    for ddl in DDL:
        con.execute(ddl)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_batch_id() -> str:
    return f"b-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A plain file name from whatever the client sent: the last path part only (``/`` and ``\\``),
    NFKC, unsafe characters replaced, no leading dots, at most 120 characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip("._ ")
    if not base or base.startswith("."):
        base = default
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 110] + dot + ext[:9]) if dot else base[:120]
    return base


def check_file_type(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{name}: unsupported file type '{ext or '(no extension)'}'. Supported: {SUPPORTED}. "
                         "Save the file as CSV (UTF-8), TSV, JSONL, JSON, XLSX, Parquet or TXT.")
    return ext


def unique_name(folder: Path, name: str) -> Path:
    path = folder / name
    stem, ext = Path(name).stem, Path(name).suffix
    i = 2
    while path.exists():
        path = folder / f"{stem}-{i}{ext}"
        i += 1
    return path


def count_rows(paths: list[Path], settings: Settings) -> int:
    """Rows in the files, read as the run will read them; a file the run cannot use (unreadable,
    no text column) raises ``InputError`` here, before the batch is queued."""
    from voclens.ingest.columns import resolve_columns
    from voclens.ingest.readers import read_table

    total = 0
    for p in paths:
        df, _ = read_table(p, settings.ingest)
        resolve_columns(df, settings.ingest, p.name)
        total += len(df)
    return total


class BatchManager:
    """Batch rows in the store plus the worker thread that runs them."""

    def __init__(self, db, store_path: Path, data_dir: Path, settings: Settings, write_lock: threading.Lock):
        self.db = db  # callable -> a Store handle (cursor) for this thread; caller closes it
        self.store_path = store_path
        self.data_dir = data_dir
        self.settings = settings
        self.write_lock = write_lock
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.live: dict[str, dict[str, Any]] = {}  # progress of the running batch, not written on every tick
        self.thread: threading.Thread | None = None
        self.current: str | None = None

    # -- folders -------------------------------------------------------------------------------
    def folder(self, batch_id: str) -> Path:
        if not re.fullmatch(r"b-[0-9T]+-[0-9a-f]+", batch_id or ""):
            raise InputError(f"Not a batch id: {batch_id!r}.")
        return self.data_dir / "batches" / batch_id

    def new(self) -> tuple[str, Path]:
        batch_id = new_batch_id()
        inputs = self.folder(batch_id) / "input"
        inputs.mkdir(parents=True, exist_ok=False)
        return batch_id, inputs

    def settings_for(self, options: dict[str, Any]) -> Settings:
        over = {f"ingest.{k}": v for k, v in options.items() if k in ("channel", "text_column") and v}
        s = self.settings.merge(over) if over else self.settings
        s.validate()
        return s

    # -- rows ----------------------------------------------------------------------------------
    def _execute(self, sql: str, params: list) -> None:
        st = self.db()
        try:
            st.con.execute(sql, params)
        finally:
            st.close()

    def create(self, batch_id: str, files: list[Path], options: dict[str, Any], user: str) -> dict:
        self._execute(
            "INSERT INTO batches VALUES (?, 'queued', 0.0, NULL, ?, ?, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, NULL)",
            [batch_id, options.get("period"), _now(), json.dumps([f.name for f in files], ensure_ascii=False),
             json.dumps(options, ensure_ascii=False), user],
        )
        # the batch as accepted, read before the worker can take it (read after, the 202 response
        # said "running" now and then)
        row = self.get(batch_id)
        self.queue.put(batch_id)
        return row

    def _update(self, batch_id: str, **fields: Any) -> None:
        from voclens.server.queries import py

        cols = ", ".join(f'"{k}" = ?' for k in fields)
        vals = [json.dumps(py(v), ensure_ascii=False) if k == "counts" and v is not None else v for k, v in fields.items()]
        self._execute(f"UPDATE batches SET {cols} WHERE batch_id = ?", [*vals, batch_id])

    def _rows(self, where: str = "", params: list | None = None) -> list[dict]:
        st = self.db()
        try:
            df = st.con.execute(f"SELECT * FROM batches {where} ORDER BY created DESC", params or []).df()
        finally:
            st.close()
        return [self._public(r) for r in df.to_dict("records")]

    def _public(self, r: dict) -> dict:
        from voclens.server.queries import py

        live = self.live.get(r["batch_id"], {}) if r["status"] == "running" else {}
        out = {
            "batch_id": r["batch_id"], "status": r["status"],
            "progress": round(float(live.get("progress", r["progress"] or 0.0)), 3),
            "stage": live.get("stage", r["stage"]), "period": r["period"], "created": py(r["created"], utc=True),
            "started": py(r["started"], utc=True), "finished": py(r["finished"], utc=True),
            "counts": json.loads(r["counts"]) if isinstance(r["counts"], str) else {},
            "alerts": int(r["alerts"]) if py(r["alerts"]) is not None else 0, "error": py(r["error"]),
            "files": json.loads(r["files"]) if isinstance(r["files"], str) else [],
            "options": json.loads(r["options"]) if isinstance(r["options"], str) else {},
            "user": r["user"], "run_id": py(r["run_id"]),
        }
        return out

    def get(self, batch_id: str) -> dict | None:
        rows = self._rows("WHERE batch_id = ?", [batch_id])
        return rows[0] if rows else None

    def list(self, limit: int = 200) -> list[dict]:
        return self._rows()[:limit]

    def latest_report(self, period: str | None) -> Path | None:
        """report.html of the newest finished batch (for ``period`` when given), else of the
        newest run written to the store with an output folder (``voclens analyze --store --out``)
        whose report is still there."""
        where, params = "WHERE status = 'done'", []
        if period:
            where += " AND period = ?"
            params.append(period)
        for r in self._rows(where, params):
            p = self.folder(r["batch_id"]) / "report.html"
            if p.is_file():
                return p
        st = self.db()
        try:
            rows = st.con.execute(
                "SELECT json_extract_string(manifest, '$.report') FROM runs WHERE (? IS NULL OR period = ?) "
                "ORDER BY created DESC", [period, period]).fetchall()
        finally:
            st.close()
        for (path,) in rows:
            p = Path(path) if path else None
            if p is not None and p.name == "report.html" and p.is_file():  # only ever a report file
                return p
        return None

    # -- worker --------------------------------------------------------------------------------
    def start(self) -> None:
        """Mark batches a previous server left running as failed, requeue the queued ones, start
        the worker thread."""
        st = self.db()
        try:
            st.con.execute(
                "UPDATE batches SET status = 'failed', finished = ?, error = ? WHERE status = 'running'",
                [_now(), "Interrupted: the server stopped while this batch was running. Upload the files again."],
            )
            queued = [r[0] for r in st.con.execute("SELECT batch_id FROM batches WHERE status = 'queued' ORDER BY created").fetchall()]
        finally:
            st.close()
        for b in queued:
            self.queue.put(b)
        self.thread = threading.Thread(target=self._loop, name="voclens-batch-worker", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.put(None)
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def busy(self) -> bool:
        return self.current is not None

    def _loop(self) -> None:
        while True:
            batch_id = self.queue.get()
            if batch_id is None:
                return
            self.current = batch_id
            try:
                self._run(batch_id)
            except Exception:  # never let the worker die: the batch is failed, the loop goes on
                log.exception("batch %s: worker error", batch_id)
            finally:
                self.current = None
                self.live.pop(batch_id, None)

    def _progress(self, batch_id: str):
        state = self.live.setdefault(batch_id, {"progress": 0.0, "stage": "queued"})

        def report(stage: str, done: int, total: int) -> None:
            state["stage"] = stage
            if stage in STAGES:  # progress never goes back, and reaches 1.0 only when the run is stored
                frac = (STAGES.index(stage) + (done / total if total else 1.0)) / len(STAGES)
                state["progress"] = max(state["progress"], min(frac, 0.99))

        return state, report

    def _run(self, batch_id: str) -> None:
        from voclens.analyze import analyze

        row = self.get(batch_id)
        if row is None or row["status"] != "queued":
            return
        folder = self.folder(batch_id)
        inputs = [folder / "input" / f for f in row["files"]]
        state, report = self._progress(batch_id)
        state["stage"] = "waiting"
        self._update(batch_id, status="running", started=_now(), stage="waiting")
        t0 = time.perf_counter()
        try:
            settings = self.settings_for(row["options"])
            missing = [p.name for p in inputs if not p.is_file()]
            if missing:
                raise InputError(f"The uploaded files {missing} are gone from {folder / 'input'}. Upload them again.")
            with self.write_lock:  # the run writes the store: edits wait until it is done
                state.update(stage="ingest", progress=0.01)
                corpus = analyze([str(p) for p in inputs], out=folder, settings=settings, store=self.store_path,
                                 period=row["options"].get("period") or None, progress=report)
        except VoclensError as exc:
            log.info("batch %s failed: %s", batch_id, exc)
            self._update(batch_id, status="failed", finished=_now(), error=str(exc), stage=state.get("stage"),
                         progress=state.get("progress", 0.0))
            return
        except Exception as exc:  # a bug: the message for the user, the traceback for the log
            log.exception("batch %s: unexpected error", batch_id)
            self._update(batch_id, status="failed", finished=_now(), stage=state.get("stage"),
                         error=f"Unexpected error ({type(exc).__name__}); see the server log.", progress=state.get("progress", 0.0))
            return
        counts = dict(corpus.meta.get("manifest", {}).get("counts", {}))
        meta = corpus.meta.get("store", {})
        self._update(batch_id, status="done", finished=_now(), progress=1.0, stage="done", counts=counts,
                     alerts=len(corpus.meta.get("alerts", [])), period=meta.get("period"), run_id=meta.get("run_id"))
        log.info("batch %s done in %.1fs: period %s", batch_id, time.perf_counter() - t0, meta.get("period"))
