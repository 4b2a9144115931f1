"""Embeddings on disk: appended chunk by chunk, read back as one memory-mapped array.

float16 halves the file and the page cache it occupies; cosine similarities move by < 1e-3,
below anything the clustering or the classifiers can see (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np


class EmbeddingFile:
    """Append-only (n, dim) array file; ``open()`` maps it read-only as an ``np.memmap``.

    Without a ``folder`` the file lives in a temporary folder and is unlinked as soon as it is
    mapped: the mapping stays valid, and the disk space is returned when the array is freed, so
    nothing is left behind however the run ends.
    """

    def __init__(self, dim: int | None = None, dtype: str = "float16", folder: str | Path | None = None):
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self.keep = folder is not None
        base = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="voclens-emb-"))
        base.mkdir(parents=True, exist_ok=True)
        self.path = base / f"embeddings.{self.dtype.name}"
        self._fh = open(self.path, "wb")
        self.rows = 0

    def append(self, block: np.ndarray) -> None:
        block = np.asarray(block)
        if block.ndim != 2:
            raise ValueError(f"embedding block must be 2-D, got shape {block.shape}")
        if self.dim is None:
            self.dim = int(block.shape[1])
        if len(block) == 0:
            return
        if block.shape[1] != self.dim:
            raise ValueError(f"embedding block has {block.shape[1]} columns, the file has {self.dim}")
        self._fh.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.rows += len(block)

    def open(self) -> np.ndarray:
        """The whole array, memory-mapped (a plain empty array when no row was written)."""
        self._fh.close()
        if self.rows == 0:
            arr = np.zeros((0, self.dim or 0), dtype=np.float32)
        else:
            arr = np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.rows, self.dim))
        if not self.keep:
            os.unlink(self.path)
            try:
                self.path.parent.rmdir()
            except OSError:
                pass
        return arr


def release_pages(arr) -> None:
    """Drop the resident pages of a memory-mapped array after a pass over it (Linux madvise);
    a no-op for in-memory arrays. Pages are read again from the file when next touched."""
    mm = getattr(arr, "_mmap", None)
    if mm is None and isinstance(getattr(arr, "base", None), mmap.mmap):
        mm = arr.base
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def row_blocks(arr, rows: np.ndarray | None = None, size: int = 50_000):
    """(start, stop, float32 block) over ``arr`` (or its ``rows``), ``size`` rows at a time,
    giving back a memory-mapped file's pages after each block: a pass over a million-text run's
    embeddings (2.4 GB in float16) would otherwise leave all of them resident at once."""
    n = len(arr) if rows is None else len(rows)
    for a in range(0, n, size):
        b = min(a + size, n)
        block = arr[a:b] if rows is None else arr[rows[a:b]]
        yield a, b, np.asarray(block, dtype=np.float32)
        release_pages(arr)

