"""Small numpy helpers the vectorised stages share."""

from __future__ import annotations

import numpy as np


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """concat(arange(s, s + l) for s, l in zip(starts, lengths)), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    keep = lengths > 0
    starts, lengths = np.asarray(starts, dtype=np.int64)[keep], lengths[keep]
    step = np.ones(total, dtype=np.int64)
    heads = np.cumsum(lengths)[:-1]
    step[0] = starts[0]
    step[heads] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(step)
