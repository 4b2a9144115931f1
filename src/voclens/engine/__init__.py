"""Engines: where the per-document stages of a pipeline run.

A pipeline splits into a *head* of ``chunkable`` stages (segment, tokenise, embed, sentiment,
lenses: each document's result depends on that document alone) and a *tail* that needs the
whole corpus (themes, summaries, goals). The engine decides how the head runs:

- ``memory``: the whole corpus at once, in this process (small inputs);
- ``stream``: chunks of documents one after another; a chunk's features are dropped when it is
  done and its embeddings appended to a memory-mapped file, so memory grows with the tables
  only, not with embeddings or n-gram features;
- ``dask``: the same chunks as tasks on a ``dask.distributed`` cluster (a ``LocalCluster``, or a
  scheduler address), results gathered in order into the same memory-mapped file.

The tail then runs once, in this process, on the joined tables. Every engine runs the same
stage code, so results agree (``docs/benchmarks.md`` measures by how much).
"""

from voclens.engine.run import choose_engine, run_pipeline, split_pipeline
from voclens.engine.store import EmbeddingFile, release_pages

__all__ = ["EmbeddingFile", "choose_engine", "release_pages", "run_pipeline", "split_pipeline"]
