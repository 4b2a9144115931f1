"""The Embedder protocol, the factory, and the stage that embeds segments."""

from __future__ import annotations

import functools
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from voclens.corpus import Corpus
from voclens.errors import ConfigError
from voclens.pipeline import RunContext


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


@functools.lru_cache(maxsize=4)
def make_embedder(spec: str = "use", threads: int = 2) -> Embedder:
    """An embedder from its spec: ``use`` or ``st:NAME_OR_PATH`` (cached per process)."""
    if spec in ("use", "usem3", "default"):
        from voclens.embed.use import UseEmbedder

        return UseEmbedder(threads=threads)
    if spec.startswith("st:") and len(spec) > 3:
        from voclens.embed.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:], threads=threads)
    raise ConfigError(f"Unknown embedder '{spec}'. Use 'use' (default, offline) or 'st:NAME_OR_PATH'.")


def embed_texts(embedder: Embedder, texts: Sequence[str], batch_size: int = 256, progress=None) -> np.ndarray:
    """Embed unique texts once (reposts and repeated phrases are common) in batches."""
    texts = list(texts)
    uniq: dict[str, int] = {}
    index = np.fromiter((uniq.setdefault(t, len(uniq)) for t in texts), dtype=np.int64, count=len(texts))
    keys = list(uniq)
    out = np.zeros((len(keys), embedder.dim), dtype=np.float32)
    for a in range(0, len(keys), batch_size):
        out[a:a + batch_size] = embedder.encode(keys[a:a + batch_size])
        if progress is not None:
            progress(min(a + batch_size, len(keys)), len(keys))
    return out[index] if len(texts) else out


class EmbedStage:
    """Segments -> embeddings (rows aligned with ``segments``)."""

    name = "embed"
    chunkable = True
    requires = ("segments.norm",)
    assigns = ("embeddings",)

    def __init__(self, embedder: Embedder | None = None):
        self.embedder = embedder

    def preload(self, settings) -> None:
        """Load the model before the engine forks its chunk workers, so that they share it.
        Only embedders that say they can (``load``): the default one is numpy and OpenBLAS,
        safe to fork after use; torch's thread pools are not."""
        embedder = self.embedder or make_embedder(settings.embed.embedder, settings.embed.threads)
        if hasattr(embedder, "load"):
            embedder.load()

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        opts = ctx.settings.embed
        embedder = self.embedder or make_embedder(opts.embedder, opts.threads)
        texts = corpus.segments["norm"].tolist()
        corpus.embeddings = embed_texts(embedder, texts, opts.batch_size, lambda d, t: ctx.report(self.name, d, t))
        # what the model actually ran on (repeats are embedded once per run or chunk; the chunk
        # counts add up): benchmark readers need it to compare with a system that embeds every text
        corpus.meta["embedded_texts"] = len(set(texts))
        corpus.meta["embedder"] = {"name": embedder.name, "dim": int(embedder.dim)}
        return corpus
