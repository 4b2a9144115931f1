"""Run a pipeline's chunkable head on chunks of documents, then its tail on the joined corpus."""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.errors import EngineError
from voclens.engine.store import EmbeddingFile, release_pages
from voclens.parallel import gc_paused
from voclens.pipeline import Pipeline, RunContext, Stage, is_chunkable, is_input_only, peak_rss_mib


def split_pipeline(pipeline: Pipeline) -> tuple[list[Stage], list[Stage]]:
    """(head, tail): the leading run of chunkable stages, and everything after it."""
    stages = pipeline.stages
    n = 0
    while n < len(stages) and is_chunkable(stages[n]):
        n += 1
    return stages[:n], stages[n:]


def hoist(tail: list[Stage]) -> tuple[list[Stage], list[Stage]]:
    """(before, rest): the tail's leading ``input_only`` stages, which may run before the head.

    Only leading ones: a later input-only stage may write columns that an earlier tail stage
    reads when present, and running it first would change that stage's result."""
    n = 0
    while n < len(tail) and is_input_only(tail[n]):
        n += 1
    return tail[:n], tail[n:]


def choose_engine(settings: Settings, n_documents: int) -> str:
    """The engine a run uses: ``auto`` streams once the input is larger than one chunk."""
    name = settings.engine.name
    if name == "auto":
        return "stream" if n_documents > settings.engine.chunk_docs else "memory"
    return name


def run_pipeline(pipeline: Pipeline, corpus: Corpus, ctx: RunContext) -> Corpus:
    """``pipeline(corpus)`` with the engine the settings choose; ``meta['engine']`` says which."""
    engine = choose_engine(ctx.settings, corpus.n_documents)
    head, tail = split_pipeline(pipeline)
    if engine == "memory" or not head:
        corpus = pipeline(corpus, ctx)
        corpus.meta["engine"] = {"name": "memory"}
        return corpus
    before, tail = hoist(tail)
    beside = None
    if before and BesideChunks.possible(before, ctx.settings):
        beside = BesideChunks(before, corpus, ctx.settings)  # forked now, before any pool's threads exist
    elif before:  # corpus-wide work that needs only the documents: run it while they are all we hold
        corpus = Pipeline(before)(corpus, ctx)
    t0 = time.perf_counter()
    try:
        if engine == "dask":
            from voclens.engine.dask import dask_chunks

            results, info = dask_chunks(head, corpus, ctx)
        else:
            results, info = local_chunks(head, corpus, ctx), {}
        joined = join_chunks(corpus, results, ctx.settings, head)
    except BaseException:
        if beside is not None:
            beside.cancel()
        raise
    joined.meta["timings"]["chunks_wall"] = round(time.perf_counter() - t0, 4)
    joined.meta.setdefault("peak_rss_mib", {})["chunks"] = peak_rss_mib()
    if beside is not None:
        joined = beside.join(joined, ctx)
    corpus = joined
    corpus.meta["engine"] = {"name": engine, "chunk_docs": ctx.settings.engine.chunk_docs,
                             "embeddings_dtype": ctx.settings.engine.embeddings_dtype,
                             "before_chunks": [s.name for s in before] if beside is None else [],
                             "beside_chunks": [s.name for s in before] if beside is not None else [],
                             "head": [s.name for s in head], **info}
    if tail:
        timings = corpus.meta["timings"]
        corpus = Pipeline(tail)(corpus, ctx)
        corpus.meta["timings"] = {**timings, **corpus.meta["timings"]}
    release_pages(corpus.embeddings)
    return corpus


# -- input-only stages beside the chunks ----------------------------------------------------------
class BesideChunks:
    """The tail's leading ``input_only`` stages (the duplicate search) in one forked process while
    the chunks run.

    They read only the documents and no chunk stage reads what they write (the contract of
    ``input_only``), so neither has to wait for the other: run first, the duplicate search left
    one core idle for its whole length (2.5 s of 46 s at 50k posts, ~80 s at a million). The
    child inherits the corpus by fork (nothing is pickled on the way in) and sends back only the
    document columns the stages assign, their meta entries and timings. One process without a
    pool: no thread exists in this process when the chunk workers are forked afterwards."""

    def __init__(self, stages: list[Stage], corpus: Corpus, settings: Settings):
        import multiprocessing as mp

        self.stages = stages
        ctx = mp.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        # one process, one core: the chunk workers take the others
        self._proc = ctx.Process(target=_beside_main, args=(send, stages, corpus, settings.merge({"run.n_jobs": 1})),
                                 name="voclens-beside-chunks", daemon=True)
        self._proc.start()
        send.close()

    @staticmethod
    def possible(stages: list[Stage], settings: Settings) -> bool:
        """Worth a process (more than one core), able to fork, and writing document columns only."""
        import multiprocessing as mp

        from voclens.parallel import effective_jobs

        return (effective_jobs(settings.run.n_jobs) > 1 and "fork" in mp.get_all_start_methods()
                and all(f.startswith("documents.") for s in stages for f in s.assigns))

    def join(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        """``corpus`` with the stages' document columns and meta (waits for the child)."""
        t0 = time.perf_counter()
        try:
            status, payload = self._recv.recv()
        except EOFError:
            self._proc.join()
            raise EngineError(
                f"The process running {', '.join(s.name for s in self.stages)} beside the chunks ended without a "
                f"result (exit code {self._proc.exitcode}; -9 is usually the out-of-memory killer). Rerun with a "
                "smaller input or more memory, or turn the stage off (e.g. --no-dedup)."
            ) from None
        finally:
            self._recv.close()
        self._proc.join()
        if status == "error":
            raise payload
        doc_ids, columns, meta, timings = payload
        if not np.array_equal(doc_ids, corpus.documents["doc_id"].to_numpy()):  # pragma: no cover - join keeps order
            raise EngineError("The joined chunks lost the document order. Report this as a bug.")
        corpus.documents = corpus.documents.assign(**columns)
        corpus.meta.update(meta)
        corpus.meta["timings"].update(timings)
        corpus.meta["timings"]["beside_wait"] = round(time.perf_counter() - t0, 4)
        corpus.meta.setdefault("peak_rss_mib", {})[self.stages[-1].name] = peak_rss_mib()
        for stage in self.stages:
            ctx.report(stage.name, 1, 1)
        return corpus

    def cancel(self) -> None:
        self._recv.close()
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()


def _beside_main(send, stages, corpus: Corpus, settings: Settings) -> None:
    try:
        before = set(corpus.documents.columns)
        keys = set(corpus.meta)
        out = Pipeline(stages)(corpus, RunContext(settings=settings))
        names = [f.split(".", 1)[1] for s in stages for f in s.assigns] + [
            c for c in out.documents.columns if c not in before]
        columns = {c: out.documents[c].to_numpy() for c in dict.fromkeys(names)}
        meta = {k: v for k, v in out.meta.items() if k not in keys and k not in ("timings", "peak_rss_mib")}
        timings = {s.name: out.meta["timings"][s.name] for s in stages}
        payload = ("ok", (out.documents["doc_id"].to_numpy(), columns, meta, timings))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises it
        try:  # an exception whose class cannot be rebuilt from its args travels as text
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001
            exc = EngineError(f"{type(exc).__name__} in '{stages[0].name}' beside the chunks: {exc}")
        payload = ("error", exc)
    send.send(payload)
    send.close()


# -- chunks ------------------------------------------------------------------------------------
@dataclass
class ChunkResult:
    """What one chunk of documents gives back: its tables, embeddings (on-disk dtype) and meta."""

    documents: pd.DataFrame
    segments: pd.DataFrame
    embeddings: np.ndarray | None
    meta: dict[str, Any]


def chunk_bounds(n: int, size: int, workers: int = 1) -> list[int]:
    """Chunk boundaries over ``n`` documents: chunks of ``size``, except that the last
    ``workers`` chunks' worth is cut into ``2 x workers`` pieces of decreasing size.

    The workers finish their last chunks at different times, and the one left working holds up
    the whole run: at 50k posts, 10 chunks of ~6.5 s on 2 workers, one core sat idle for 4-5 s
    at the end. Ending on smaller pieces (4000, 3000, 2000, 1000 documents for 2 workers and
    chunks of 5,000: guided self-scheduling) lets them finish within about the last piece of each
    other; only a few pieces are smaller, so the per-chunk reuse of repeated texts barely
    changes (docs/benchmarks.md)."""
    if workers <= 1 or n <= size:
        return list(range(0, n, size)) + [n] if n else [0]
    tail = min(n, workers * size)
    bounds = list(range(0, n - tail, size))
    pieces = 2 * workers
    weights = list(range(pieces, 0, -1))  # 4, 3, 2, 1 for two workers
    total, done = sum(weights), 0
    a = n - tail
    for w in weights:
        bounds.append(a + tail * done // total)
        done += w
    return sorted(set(bounds)) + [n]


def document_chunks(corpus: Corpus, size: int, workers: int = 1) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
    docs = corpus.documents
    originals = corpus.originals if len(corpus.originals) == len(docs) else docs.set_index("doc_id")["text"]
    originals = originals.reindex(docs["doc_id"].to_numpy())
    bounds = chunk_bounds(len(docs), size, workers)
    for a, b in zip(bounds, bounds[1:]):
        yield docs.iloc[a:b].reset_index(drop=True), originals.iloc[a:b]


def run_chunk(head: list[Stage], settings: Settings, documents: pd.DataFrame, originals: pd.Series,
              dtype: str = "float16") -> ChunkResult:
    """The head stages over one chunk of documents (also the Dask task). Features are dropped
    here: they are per-segment inputs of the head's classifiers, not results."""
    sub = Corpus(documents=documents, originals=originals)
    with gc_paused():  # a chunk's objects are short-lived and acyclic (see gc_paused)
        sub = Pipeline(head)(sub, RunContext(settings=settings))
    sub.meta.pop("peak_rss_mib", None)  # a worker's own; chunk metas add up, peaks do not
    emb = None if sub.embeddings is None else np.asarray(sub.embeddings).astype(dtype, copy=False)
    return ChunkResult(share_strings(sub.documents), share_strings(sub.segments), emb, sub.meta)


def share_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """List-of-words columns (terms, nouns, hashtags ...) with one string object per distinct word.

    The tokenizer makes a new string for every occurrence of a word; a million texts' segments
    hold ~20M of them (~80 bytes each). Interned, each occurrence is a pointer, and pickling a
    chunk back to the main process writes each distinct word once. Empty lists (most posts have
    no hashtag, brand or watch term) become one shared empty list per column: 56 bytes each,
    ~0.5 GB over a million texts' two tables. Cells are values: no stage changes one in place."""
    from sys import intern

    for col in frame.columns:
        values = frame[col]
        if values.dtype != object or not len(values):
            continue
        first = next((v for v in values if v is not None), None)
        if isinstance(first, list):
            empty: list = []
            frame[col] = [([intern(t) if type(t) is str else t for t in v] if v else empty) if isinstance(v, list) else v
                          for v in values]
    return frame


def local_chunks(head: list[Stage], corpus: Corpus, ctx: RunContext) -> Iterator[ChunkResult]:
    """Chunks on every core of this machine, one worker process per core, results in order.

    Each worker runs whole chunks single-threaded (one BLAS thread, no inner pool): on 2 cores
    the embedder encodes about twice as many texts per second this way as one process with two
    BLAS threads, whose small matrix products do not split well (docs/benchmarks.md). Workers
    are forked, so they inherit the loaded models (stages' ``preload``, called first); at most 2
    chunks per worker are in flight.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from voclens.parallel import effective_jobs

    settings, dtype = ctx.settings, ctx.settings.engine.embeddings_dtype
    total, done = corpus.n_documents, 0
    jobs = min(effective_jobs(settings.run.n_jobs), -(-total // settings.engine.chunk_docs))
    chunks = document_chunks(corpus, settings.engine.chunk_docs, jobs)
    if jobs <= 1 or "fork" not in mp.get_all_start_methods():
        for docs, originals in chunks:
            yield run_chunk(head, settings, docs, originals, dtype)
            done += len(docs)
            ctx.report("chunks", done, total)
        return
    worker_settings = settings.merge({"run.n_jobs": 1, "embed.threads": 1})
    for stage in head:  # models loaded here are inherited by the forked workers, not loaded by each
        if hasattr(stage, "preload"):
            stage.preload(worker_settings)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_init_worker,
                             initargs=(head, worker_settings, dtype)) as pool:
        pending = [pool.submit(_worker_chunk, d, o) for d, o in _take(chunks, 2 * jobs)]
        while pending:
            result = pending.pop(0).result()
            pending.extend(pool.submit(_worker_chunk, d, o) for d, o in _take(chunks, 1))
            done += len(result.documents)
            ctx.report("chunks", done, total)
            yield result


def _take(it, n: int) -> list:
    out = []
    for _ in range(n):
        nxt = next(it, None)
        if nxt is None:
            break
        out.append(nxt)
    return out


_WORKER: dict[str, Any] = {}


def _init_worker(head, settings, dtype) -> None:
    _WORKER.update(head=head, settings=settings, dtype=dtype)


def _worker_chunk(documents: pd.DataFrame, originals: pd.Series) -> ChunkResult:
    return run_chunk(_WORKER["head"], _WORKER["settings"], documents, originals, _WORKER["dtype"])


def join_chunks(corpus: Corpus, results, settings: Settings, head: list[Stage]) -> Corpus:
    """One corpus from chunk results, in document order: seg_ids renumbered, embeddings appended
    to one memory-mapped file, chunk metas merged (counts and timings add up)."""
    emb_file = EmbeddingFile(dtype=settings.engine.embeddings_dtype, folder=settings.engine.work_dir)
    docs, segs, meta = [], [], {}
    offset = 0
    n_chunks = 0
    for r in results:
        seg = r.segments
        if "seg_id" in seg:
            seg = seg.assign(seg_id=seg["seg_id"].to_numpy() + offset)
        offset += len(seg)
        docs.append(r.documents)
        segs.append(seg)
        if r.embeddings is not None:
            emb_file.append(r.embeddings)
        meta = merge_meta(meta, r.meta)
        n_chunks += 1
    out = Corpus(
        documents=pd.concat(docs, ignore_index=True) if docs else corpus.documents,
        segments=pd.concat(segs, ignore_index=True) if segs else corpus.segments,
        rejects=corpus.rejects, originals=corpus.originals,
        meta={**corpus.meta, **{k: v for k, v in meta.items() if k != "timings"}},
    )
    out.meta["timings"] = {**corpus.meta.get("timings", {}), **meta.get("timings", {})}
    out.meta["chunks"] = n_chunks
    if any(s.name == "embed" or "embeddings" in s.assigns for s in head):
        out.embeddings = emb_file.open()
    else:
        emb_file.open()
    return out


def merge_meta(a: dict, b: dict) -> dict:
    """Numbers add up, dicts merge key by key, anything else keeps its first value."""
    out = dict(a)
    for k, v in b.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, dict) and isinstance(out[k], dict):
            out[k] = merge_meta(out[k], v)
        elif isinstance(v, (int, float)) and isinstance(out[k], (int, float)) and not isinstance(v, bool):
            out[k] = round(out[k] + v, 4) if isinstance(v, float) or isinstance(out[k], float) else out[k] + v
    return out
