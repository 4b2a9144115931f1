"""Stable theme ids across runs: match this run's themes to the registry.

A theme is described by its centroid in the embedding space (the mean of its segments'
embeddings, compared after subtracting the store's reference mean embedding: unlike the per-run
PCA space it means the same thing every week) and its keywords.
score = 0.7 · cos(centred centroids) + 0.3 · keyword overlap (|A∩B| / min(|A|, |B|), top 10).
The clustering is warm-started from the known themes (``ThemeStage(prior=...)``): a theme grown
from a known one keeps its id while its score stays ≥ WARM_KEEP_THRESHOLD. The others are
assigned one-to-one to the remaining registry themes by the Hungarian method, kept when
score ≥ MATCH_THRESHOLD; the rest get new ids. A registry theme left unmatched whose best
partner (≥ ABSORB_THRESHOLD) took another id is recorded as absorbed into it.
The thresholds were set on livedoor dev split into consecutive periods
(``scripts/evaluate_store.py``), where they keep a gold topic on the same id most of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

MATCH_THRESHOLD = 0.50
ABSORB_THRESHOLD = 0.60
# a theme whose clustering started from a known theme's centre keeps that id at this lower bar
WARM_KEEP_THRESHOLD = 0.35
W_CENTROID, W_KEYWORDS = 0.7, 0.3
CENTROID_MOMENTUM = 0.7  # registry centroid = 0.7 · old + 0.3 · new: ids drift slowly with their theme


@dataclass
class Match:
    local_id: int
    uid: str
    score: float
    how: str  # "matched" | "new"


def keyword_overlap(a, b, top: int = 10) -> float:
    a, b = set(list(a)[:top]), set(list(b)[:top])
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def score_matrix(new_centroids: np.ndarray, new_keywords: list, reg_centroids: np.ndarray, reg_keywords: list) -> np.ndarray:
    if len(new_centroids) == 0 or len(reg_centroids) == 0:
        return np.zeros((len(new_centroids), len(reg_centroids)))
    cos = new_centroids @ reg_centroids.T
    kw = np.array([[keyword_overlap(a, b) for b in reg_keywords] for a in new_keywords])
    return W_CENTROID * cos + W_KEYWORDS * kw


def assign(scores: np.ndarray, threshold: float | None = None) -> dict[int, int]:
    """Row -> column pairs of a one-to-one assignment maximising the total score, above threshold."""
    threshold = MATCH_THRESHOLD if threshold is None else threshold
    if scores.size == 0:
        return {}
    rows, cols = linear_sum_assignment(-scores)
    return {int(r): int(c) for r, c in zip(rows, cols) if scores[r, c] >= threshold}


def absorbed(scores: np.ndarray, pairs: dict[int, int], threshold: float | None = None) -> dict[int, int]:
    """Registry columns left unmatched whose best new theme matched another column: column -> that column."""
    threshold = ABSORB_THRESHOLD if threshold is None else threshold
    taken = set(pairs.values())
    out = {}
    for c in range(scores.shape[1]):
        if c in taken or scores.shape[0] == 0:
            continue
        r = int(scores[:, c].argmax())
        if scores[r, c] >= threshold and r in pairs:
            out[c] = pairs[r]
    return out
