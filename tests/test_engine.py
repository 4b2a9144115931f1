"""Engines: the streamed and the Dask runs give the in-memory results, with bounded state."""

from __future__ import annotations

import numpy as np
import pytest

import voclens
from voclens.config import Settings
from voclens.engine import EmbeddingFile, choose_engine, split_pipeline
from voclens.engine.run import BesideChunks, chunk_bounds, merge_meta
from voclens.errors import EngineError, StageContractError

CHUNK = {"engine.chunk_docs": 300}


def _bounds(n: int, workers: int | None = None) -> list[int]:
    """The chunk boundaries a run over n documents uses (one worker per core by default)."""
    from voclens.parallel import effective_jobs

    size = CHUNK["engine.chunk_docs"]
    return chunk_bounds(n, size, min(workers or effective_jobs(0), -(-n // size)))


@pytest.fixture(scope="module")
def memory_run(demo_files):
    return voclens.analyze(demo_files, **{"engine.name": "memory"})


def _same(a, b, *, emb_tol: float):
    from sklearn.metrics import adjusted_rand_score

    assert len(a.documents) == len(b.documents) and len(a.segments) == len(b.segments)
    assert (a.segments["seg_id"].to_numpy() == b.segments["seg_id"].to_numpy()).all()
    assert (a.segments["text"].to_numpy() == b.segments["text"].to_numpy()).all()
    # per-document stages see the same inputs: identical labels
    for col in ("sentiment", "job_type", "journey_stage", "intent"):
        assert (a.segments[col].to_numpy() == b.segments[col].to_numpy()).all(), col
    # the dedup stage runs beside the chunks in the streaming engines, after them in memory
    for col in ("dup_group", "dup_count", "dup_kind", "campaign"):
        assert (a.documents[col].to_numpy() == b.documents[col].to_numpy()).all(), col
    assert a.meta["duplicates"] == b.meta["duplicates"]
    assert np.abs(np.asarray(a.embeddings, np.float32) - np.asarray(b.embeddings, np.float32)).max() < emb_tol
    # the documented tolerance for themes: ARI >= 0.95 against the in-memory clustering
    assert adjusted_rand_score(a.segments["theme_id"], b.segments["theme_id"]) >= 0.95


def test_split_keeps_the_chunkable_prefix():
    from voclens.analyze import default_pipeline

    head, tail = split_pipeline(default_pipeline())
    assert [s.name for s in head][:5] == ["segment", "tokenize", "embed", "sentiment", "lenses"]
    assert all(s.chunkable for s in head) and not getattr(tail[0], "chunkable", False)
    assert "themes" in [s.name for s in tail]


def test_only_leading_input_only_stages_are_hoisted():
    from voclens.engine.run import hoist

    class S:
        def __init__(self, name, **flags):
            self.name, self.requires, self.assigns = name, (), ()
            self.__dict__.update(flags)

    a, b, c, d = S("a", input_only=True), S("b", input_only=True), S("c"), S("d", input_only=True)
    before, rest = hoist([a, b, c, d])
    assert [s.name for s in before] == ["a", "b"] and [s.name for s in rest] == ["c", "d"]
    assert hoist([S("x", input_only=True, chunkable=True)])[0] == []  # chunkable stages belong to the head


class _Marker:
    """An input-only stage that writes one document column (or, with ``fail``, raises)."""

    name, requires, chunkable, input_only = "marker", ("documents.text",), False, True

    def __init__(self, fail: bool = False, assigns=("documents.marker",)):
        self.fail, self.assigns = fail, assigns

    def __call__(self, corpus, ctx):
        import os

        if self.fail:
            raise ValueError("marker failed: fix the marker")
        corpus.documents = corpus.documents.assign(marker=corpus.documents["text"].str.len(), marker_pid=os.getpid())
        corpus.meta["marker"] = {"documents": len(corpus.documents)}
        return corpus


def _head_and(stage):
    from voclens.pipeline import Pipeline
    from voclens.text.stages import Segmenter

    return Pipeline([Segmenter(), stage])


def test_input_only_stages_run_beside_the_chunks():
    import os

    from voclens.corpus import Corpus
    from voclens.engine import run_pipeline
    from voclens.pipeline import RunContext

    import pandas as pd

    docs = pd.DataFrame({"doc_id": np.arange(40), "text": [f"配送は早かったが梱包が雑でした。{i}" for i in range(40)]})
    settings = Settings.load(overrides={"engine.name": "stream", "engine.chunk_docs": 10, "run.n_jobs": 2})
    out = run_pipeline(_head_and(_Marker()), Corpus(documents=docs.copy()), RunContext(settings=settings))
    assert out.meta["engine"]["beside_chunks"] == ["marker"] and out.meta["engine"]["before_chunks"] == []
    assert (out.documents["marker"].to_numpy() == docs["text"].str.len().to_numpy()).all()
    assert (out.documents["marker_pid"] != os.getpid()).all()  # it ran in its own process
    assert out.meta["marker"] == {"documents": 40} and "marker" in out.meta["timings"]
    assert out.segments["doc_id"].nunique() == 40 and out.meta["chunks"] == len(chunk_bounds(40, 10, 2)) - 1
    # its error reaches the caller as raised
    with pytest.raises(ValueError, match="fix the marker"):
        run_pipeline(_head_and(_Marker(fail=True)), Corpus(documents=docs.copy()), RunContext(settings=settings))
    # one core: it runs before the chunks, in this process
    out = run_pipeline(_head_and(_Marker()), Corpus(documents=docs.copy()),
                       RunContext(settings=settings.merge({"run.n_jobs": 1})))
    assert out.meta["engine"]["before_chunks"] == ["marker"] and (out.documents["marker_pid"] == os.getpid()).all()
    # a stage writing more than document columns cannot hand its result back from beside: before, too
    assert BesideChunks.possible([_Marker()], settings)
    assert not BesideChunks.possible([_Marker(assigns=("documents.marker", "segments.x"))], settings)


def test_auto_streams_only_above_one_chunk():
    s = Settings.load(overrides={"engine.chunk_docs": 100})
    assert choose_engine(s, 100) == "memory" and choose_engine(s, 101) == "stream"
    assert choose_engine(Settings.load(overrides={"engine.name": "memory"}), 10**7) == "memory"


def test_stream_matches_memory(demo_files, memory_run, tmp_path):
    run = voclens.analyze(demo_files, out=tmp_path, **{"engine.name": "stream", **CHUNK})
    bounds = _bounds(len(memory_run.documents))
    assert run.meta["engine"]["name"] == "stream" and run.meta["chunks"] == len(bounds) - 1
    assert isinstance(run.embeddings, np.memmap) and run.embeddings.dtype == np.float16
    assert not run.features  # n-gram features were dropped chunk by chunk
    _same(memory_run, run, emb_tol=2e-3)
    import json

    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"]["name"] == "stream" and manifest["engine"]["head"][0] == "segment"
    assert manifest["engine"]["beside_chunks"] == ["dedup"] and "dedup" in manifest["timings_s"]
    peaks = manifest["peak_rss_mib"]  # the main process's peak after each step: it never falls
    assert list(peaks)[:3] == ["ingest", "chunks", "dedup"] and "themes" in peaks
    assert all(a <= b for a, b in zip(list(peaks.values()), list(peaks.values())[1:]))
    # a repeated segment text is embedded once per chunk: the counts add up over the chunks
    ids = memory_run.documents["doc_id"].to_numpy()
    per_chunk = sum(len(set(memory_run.segments.loc[memory_run.segments["doc_id"].isin(ids[a:b]), "norm"]))
                    for a, b in zip(bounds, bounds[1:]))
    assert manifest["counts"]["embedded_texts"] == run.meta["embedded_texts"] == per_chunk
    assert memory_run.meta["embedded_texts"] == memory_run.segments["norm"].nunique() < len(memory_run.segments)
    assert (tmp_path / "report.html").exists()


def test_stream_float32_keeps_files_in_work_dir(demo_files, memory_run, tmp_path):
    run = voclens.analyze(demo_files, **{"engine.name": "stream", "engine.embeddings_dtype": "float32",
                                         "engine.work_dir": str(tmp_path), **CHUNK})
    assert (tmp_path / "embeddings.float32").stat().st_size == len(run.segments) * 512 * 4
    _same(memory_run, run, emb_tol=1e-4)


def test_dask_matches_memory(demo_files, memory_run):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run = voclens.analyze(demo_files, **{"engine.name": "dask", "engine.scheduler": cluster.scheduler_address, **CHUNK})
    assert run.meta["engine"]["workers"] == 2 and run.meta["chunks"] == len(_bounds(len(memory_run.documents), 2)) - 1
    _same(memory_run, run, emb_tol=2e-3)


def test_unreachable_scheduler_says_how_to_fix(demo_files, monkeypatch):
    pytest.importorskip("distributed")
    import voclens.engine.dask as engine_dask

    monkeypatch.setattr(engine_dask, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(EngineError, match="dask scheduler"):
        voclens.analyze(demo_files[:1], **{"engine.name": "dask", "engine.scheduler": "tcp://127.0.0.1:9"})


def test_a_stage_contract_is_checked_inside_chunks(demo_files):
    from voclens.analyze import default_pipeline

    pipe = default_pipeline()
    pipe.stages[2].requires = ("segments.no_such_column",)  # the embed stage, first chunk
    with pytest.raises(StageContractError, match="no_such_column"):
        voclens.analyze(demo_files, pipeline=pipe, **{"engine.name": "stream", **CHUNK})


def test_embedding_file_appends_and_unlinks(tmp_path):
    f = EmbeddingFile(dtype="float16")
    f.append(np.ones((3, 4), np.float32))
    f.append(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="columns"):
        f.append(np.zeros((1, 5)))
    arr = f.open()
    assert arr.shape == (5, 4) and arr.dtype == np.float16 and arr[:3].sum() == 12
    assert not f.path.exists()  # unlinked once mapped: nothing left behind


def test_row_blocks_read_a_mapped_file_block_by_block(tmp_path):
    from voclens.engine.store import row_blocks

    f = EmbeddingFile(dtype="float16", folder=tmp_path)
    data = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    f.append(data)
    arr = f.open()
    blocks = list(row_blocks(arr, size=3))
    assert [(a, b) for a, b, _ in blocks] == [(0, 3), (3, 6), (6, 7)]
    assert all(x.dtype == np.float32 for *_, x in blocks)
    assert np.array_equal(np.vstack([x for *_, x in blocks]), data)
    rows = np.array([6, 1, 4])
    picked = np.vstack([x for *_, x in row_blocks(arr, rows, size=2)])
    assert np.array_equal(picked, data[rows])
    assert np.array_equal(arr[:], data)  # released pages are read again from the file


def test_chunk_word_lists_share_strings_and_empties():
    import pandas as pd

    from voclens.engine.run import share_strings

    words = ["".join(["配", "送"]), "".join(["配", "送"])]  # equal, distinct objects
    frame = pd.DataFrame({"terms": [[words[0]], [words[1], "梱包"], []], "brands": [[], [], []], "n": [1, 2, 3]})
    out = share_strings(frame.copy())
    assert out["terms"].tolist() == [["配送"], ["配送", "梱包"], []] and out["n"].tolist() == [1, 2, 3]
    assert out["terms"].iat[0][0] is out["terms"].iat[1][0]  # one string object per distinct word
    assert out["brands"].iat[0] is out["brands"].iat[2] == []  # one empty list per column


def test_chunk_metas_add_up():
    merged = merge_meta({"pii_masked": {"email": 2}, "timings": {"embed": 1.5}, "embedder": {"name": "use"}},
                        {"pii_masked": {"email": 1, "phone": 4}, "timings": {"embed": 0.5}, "embedder": {"name": "use"}})
    assert merged == {"pii_masked": {"email": 3, "phone": 4}, "timings": {"embed": 2.0}, "embedder": {"name": "use"}}


def test_cli_engine_flags(demo_files, tmp_path):
    from voclens.cli import main

    out = tmp_path / "out"
    assert main(["analyze", str(demo_files[0]), "--out", str(out), "--no-progress", "--engine", "stream",
                 "--chunk-docs", "50"]) == 0
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["engine"]["name"] == "stream" and manifest["settings"]["engine"]["chunk_docs"] == 50


def test_chunks_end_on_smaller_pieces_so_the_workers_finish_together():
    assert chunk_bounds(50_000, 5_000, 2) == [*range(0, 45_000, 5_000), 44_000, 47_000, 49_000, 50_000]
    for n, size, workers in [(0, 300, 2), (1, 300, 2), (299, 300, 2), (301, 300, 2), (12_345, 5_000, 2),
                             (1_000_000, 5_000, 3), (750, 300, 1), (10, 3, 4)]:
        b = chunk_bounds(n, size, workers)
        assert b[0] == 0 and b[-1] == n and all(x < y for x, y in zip(b, b[1:]))  # contiguous, in order, none empty
        assert max((y - x for x, y in zip(b, b[1:])), default=0) <= size
        if workers > 1 and n > workers * size:  # the tail: 2 x workers pieces, each no larger than the one before
            sizes = [y - x for x, y in zip(b, b[1:])][-2 * workers:]
            assert sizes == sorted(sizes, reverse=True) and sizes[-1] < size / workers


def test_dask_workers_get_glibc_malloc_thresholds_back():
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which turns glibc's dynamic mmap threshold off
    (numpy temporaries mapped and zeroed on every use); the chunk task restores the thresholds."""
    import subprocess
    import sys

    code = "from voclens.engine.dask import restore_malloc_thresholds as r; print(r(), r())"
    env = {k: v for k, v in __import__("os").environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert plain == ["False", "False"]  # nothing set: nothing to restore
    if sys.platform.startswith("linux"):
        dask_like = subprocess.run([sys.executable, "-c", code], env={**env, "MALLOC_TRIM_THRESHOLD_": "65536"},
                                   capture_output=True, text=True, check=True).stdout.split()
        assert dask_like == ["True", "True"]


class _Loaded:
    """A chunkable stage that loads a "model" in ``preload``: workers report whether they inherited it."""

    name = "loaded"
    chunkable = True
    requires = ("documents.text",)
    assigns = ("documents.loaded_by",)
    model_pid: int | None = None

    def preload(self, settings) -> None:
        import os

        assert settings.run.n_jobs == 1 and settings.embed.threads == 1  # the workers' settings
        type(self).model_pid = os.getpid()

    def __call__(self, corpus, ctx):
        corpus.documents = corpus.documents.assign(loaded_by=type(self).model_pid)
        return corpus


def test_stream_workers_inherit_models_loaded_before_forking():
    import os

    import pandas as pd

    from voclens.corpus import Corpus
    from voclens.engine import run_pipeline
    from voclens.pipeline import RunContext

    docs = pd.DataFrame({"doc_id": np.arange(40), "text": [f"配送は早かったが梱包が雑でした。{i}" for i in range(40)]})
    settings = Settings.load(overrides={"engine.name": "stream", "engine.chunk_docs": 10, "run.n_jobs": 2})
    out = run_pipeline(_head_and(_Loaded()), Corpus(documents=docs), RunContext(settings=settings))
    assert (out.documents["loaded_by"] == os.getpid()).all()  # loaded once, here, before the workers forked


def test_a_chunk_runs_without_cyclic_gc_and_gives_it_back():
    """Chunks allocate many short-lived acyclic objects: the collector is paused for the chunk
    (a full collection cost ~0.2 s of most 5k-document chunks) and restored after it."""
    import gc

    import pandas as pd

    from voclens.engine.run import run_chunk

    seen = []

    class _Probe:
        name, chunkable, requires, assigns = "probe", True, ("documents.text",), ()

        def __call__(self, corpus, ctx):
            seen.append(gc.isenabled())
            return corpus

    docs = pd.DataFrame({"doc_id": [0, 1], "text": ["配送が早い", "梱包が雑"]})
    assert gc.isenabled()
    run_chunk([_Probe()], Settings.load(), docs, docs.set_index("doc_id")["text"])
    assert seen == [False] and gc.isenabled()
