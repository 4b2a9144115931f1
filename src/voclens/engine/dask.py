"""The head stages as tasks on a ``dask.distributed`` cluster.

Each chunk of documents is one task (``voclens.engine.run.run_chunk``); a worker loads the models
once per process (the loaders are cached) and returns the chunk's tables and float16
embeddings. At most ``2 x workers`` chunks are in flight, so neither the client nor the
scheduler holds the whole input twice; results are joined in document order as they arrive.
Workers run one thread and one process each (``run.n_jobs=1``, ``embed.threads=1``): the cluster,
not the task, provides the parallelism. Start workers with ``--nthreads 1`` (docs/scaling.md).
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator

from voclens.corpus import Corpus
from voclens.errors import EngineError, MissingDependencyError
from voclens.pipeline import RunContext, Stage

CONNECT_TIMEOUT = "20s"


def connect(scheduler: str | None, workers: int):
    """(client, cluster): a client of ``scheduler``, or of a new LocalCluster (closed by the caller)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingDependencyError("The dask engine", "pip install 'voclens[dask]'") from exc
    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as exc:
            raise EngineError(
                f"Cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}). Start it with "
                "'dask scheduler' and the workers with 'dask worker SCHEDULER --nthreads 1', or omit --scheduler "
                "to run a local cluster."
            ) from exc
    n = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def dask_chunks(head: list[Stage], corpus: Corpus, ctx: RunContext) -> tuple[Iterator, dict[str, Any]]:
    """An iterator of chunk results in document order, and facts about the cluster for the manifest."""
    from voclens.engine.run import document_chunks

    settings = ctx.settings
    client, cluster = connect(settings.engine.scheduler, settings.engine.workers)
    n_workers = len(client.scheduler_info().get("workers", {}))
    info = {"scheduler": settings.engine.scheduler or "LocalCluster", "workers": n_workers}
    if n_workers == 0:
        client.close()
        if cluster is not None:
            cluster.close()
        raise EngineError("The Dask cluster has no workers. Start at least one with 'dask worker SCHEDULER --nthreads 1'.")
    worker_settings = settings.merge({"run.n_jobs": 1, "embed.threads": 1})

    def results() -> Iterator:
        from dask.distributed import as_completed

        try:
            [head_f] = client.scatter([head], broadcast=True, hash=False)
            chunks = enumerate(document_chunks(corpus, settings.engine.chunk_docs, n_workers))
            window = 2 * n_workers
            index_of, done, next_out = {}, {}, 0
            total, finished = corpus.n_documents, 0
            ac = as_completed()

            def submit() -> bool:
                nxt = next(chunks, None)
                if nxt is None:
                    return False
                i, (docs, originals) = nxt
                fut = client.submit(_task, head_f, worker_settings, docs, originals, settings.engine.embeddings_dtype,
                                    pure=False, key=f"voclens-chunk-{i}-{time.time_ns()}")
                index_of[fut.key] = i
                ac.add(fut)
                return True

            for _ in range(window):
                if not submit():
                    break
            for fut in ac:
                try:
                    result = fut.result()
                except Exception as exc:  # a worker's error: name the chunk, keep the cause
                    raise EngineError(
                        f"Chunk {index_of[fut.key]} failed on a Dask worker ({type(exc).__name__}: {exc}). Workers need "
                        "the same voclens version and models as the client ('pip install voclens[dask]' on every node)."
                    ) from exc
                done[index_of.pop(fut.key)] = result
                fut.release()
                submit()
                while next_out in done:
                    r = done.pop(next_out)
                    finished += len(r.documents)
                    ctx.report("chunks", finished, total)
                    yield r
                    next_out += 1
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    return results(), info


def _task(head, settings, documents, originals, dtype):
    from voclens.engine.run import run_chunk

    restore_malloc_thresholds()
    return run_chunk(head, settings, documents, originals, dtype)


_MALLOC_SET = False


def restore_malloc_thresholds() -> bool:
    """Give glibc's allocator back the thresholds its dynamic rule would reach, once per process.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting any malloc
    threshold turns glibc's dynamic mmap threshold off: every numpy temporary above 128 KiB is
    then mapped and unmapped again and its pages zeroed on each use. The embedding makes several
    per batch, and ran 1.85x slower in a worker (5.2 s instead of 2.8 s for one chunk's texts).
    32 MiB / 64 MiB are the dynamic rule's upper values on 64-bit glibc. True when they were set
    (glibc only; elsewhere nothing is done)."""
    global _MALLOC_SET
    if _MALLOC_SET or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return _MALLOC_SET
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
        _MALLOC_SET = bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 64 << 20))
    except (OSError, AttributeError):  # not glibc
        _MALLOC_SET = False
    return _MALLOC_SET
