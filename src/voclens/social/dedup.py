"""Exact and near-duplicate posts, grouped, and suspected coordinated campaigns.

SNS exports repeat themselves: reposts, quote posts, copy-paste campaigns, templated bot posts.
Counted as separate voices they would make one text look like a theme of thousands, so every
post gets a group (its earliest copy), and theme discovery counts each group once while the
tables keep the volume.

How, and why:

- **Exact**: a hash of a canonical form (``canonical``: NFKC, lower case, katakana as hiragana,
  repost prefixes, URLs, @mentions and trailing hashtags removed, everything but letters and
  digits dropped, repeated characters folded). Reposts, ``RT @user:`` copies and copies with
  another emoji or link are then one text. The rules are data (``resources/social/dedup.toml``).
- **Near**: MinHash over character 3-gram shingles of the canonical form with digit runs folded
  (so templates that differ in numbers meet), LSH banding for candidates, then an exact check
  on the shingle sets: Jaccard, or containment for quote posts (a comment plus the original: the
  Jaccard falls with the comment's length, but the original stays contained; it must be most of
  the post). Character shingles because Japanese has no spaces to split words on; MinHash
  rather than SimHash because a 64-bit SimHash of a 30-character post moves many bits for one
  edited character, so its Hamming threshold either misses edits or merges posts on one topic
  (measured in ``scripts/evaluate_dedup.py``).
- Groups are the connected components of the duplicate pairs (what union-find computes, done by
  scipy in C); the representative is the earliest document by date, then input order.

Everything after the per-post canonical form is numpy over flat arrays: 1M short posts take
well under two minutes on two cores (``docs/figures.md``).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any, Sequence

import numpy as np
import pandas as pd

from voclens.arrays import concat_ranges as _ranges
from voclens.text.normalize import MENTION_RE, URL_RE

_KATA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}  # ァ..ヶ -> ぁ..ゖ
_NOT_WORD = re.compile(r"[\W_]+")
_REPEATS = re.compile(r"(\D)\1+")
_DIGITS = re.compile(r"\d+")
_TRAILING_TAGS = re.compile(r"(?:#\w+[^\w#]*)+\Z")
_U64 = np.uint64


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The parsed ``resources/social/dedup.toml`` with its patterns compiled."""
    raw = resources.files("voclens.resources").joinpath("social", "dedup.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    data["repost_re"] = re.compile("|".join(f"(?:{p})" for p in data["repost_prefixes"]), re.IGNORECASE)
    data["quote_re"] = re.compile("|".join(f"(?:{p})" for p in data["quote_markers"]), re.IGNORECASE)
    data["marker_re"] = re.compile("|".join(f"(?:{p})" for p in data["campaign"]["markers"]), re.IGNORECASE)
    return data


def canonical(text: str) -> tuple[str, bool]:
    """(canonical form, is a repost or quote post). Equal forms are exact duplicates."""
    r = rules()
    t = unicodedata.normalize("NFKC", text or "").lower()
    repost = False
    while True:
        m = r["repost_re"].match(t.lstrip())
        if m is None:
            break
        t, repost = t.lstrip()[m.end():], True
    t, n_quotes = r["quote_re"].subn(" ", t)
    # each pattern only where it can match (most posts have no link, mention or hashtag)
    if "http" in t or "www." in t:
        t = URL_RE.sub(" ", t)
    if "@" in t:
        t = MENTION_RE.sub(" ", t)
    if "#" in t:
        t = _TRAILING_TAGS.sub("", t)
    key = _REPEATS.sub(r"\1", _NOT_WORD.sub("", t.translate(_KATA)))
    if not key:  # only emoji or marks: keep them, without spaces, so such posts still match exactly
        key = "\x00" + re.sub(r"\s+", "", t)
    return key, repost or n_quotes > 0


def _canonical_chunk(texts: Sequence[str]) -> list[tuple[str, bool]]:
    return [canonical(t) for t in texts]


@dataclass
class NearRules:
    """The ``[near]`` table of dedup.toml (what each value means is written there)."""

    shingle: int
    bands: int
    rows: int
    jaccard: float
    containment: float
    min_share: float
    min_chars: int
    window: int

    @classmethod
    def from_data(cls, **overrides) -> "NearRules":
        base = {k: v for k, v in rules()["near"].items() if k in cls.__dataclass_fields__}
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


class DuplicateFinder:
    """Texts -> duplicate groups. ``fit(texts, order)``; ``order`` ranks documents for the choice
    of representative (smaller = earlier), input order when omitted.

    Fitted: ``group_`` (position of each text's representative), ``exact_`` (True when a text's
    canonical form equals its representative's), ``repost_`` (RT/QT form), ``key_`` (canonical
    forms), ``stats_`` (candidate and verified pair counts).
    """

    def __init__(self, near: bool = True, jaccard: float | None = None, containment: float | None = None,
                 n_jobs: int = 0, seed: int = 0):
        self.near = near
        self.jaccard = jaccard
        self.containment = containment
        self.n_jobs = n_jobs
        self.seed = seed

    def fit(self, texts: Sequence[str], order: np.ndarray | None = None) -> "DuplicateFinder":
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        from voclens.parallel import map_chunks

        n = len(texts)
        done = map_chunks(_canonical_chunk, list(texts), n_jobs=self.n_jobs, chunk_size=20000)
        keys = np.array([k for k, _ in done], dtype=object)
        self.key_ = keys
        self.repost_ = np.fromiter((r for _, r in done), dtype=bool, count=n)
        exact_code, exact_uniq = pd.factorize(keys)
        # one node per distinct canonical form; its first text stands for it in the near search
        first_of_exact = np.full(len(exact_uniq), n, dtype=np.int64)
        np.minimum.at(first_of_exact, exact_code, np.arange(n))
        edges = [np.arange(n), first_of_exact[exact_code]]
        self.stats_ = {"candidates": 0, "near_pairs": 0}
        if self.near and n > 1:
            r = NearRules.from_data(jaccard=self.jaccard, containment=self.containment)
            forms = pd.Series(exact_uniq, dtype=object).str.replace(_DIGITS, "0", regex=True)
            ok = (forms.str.len() >= r.min_chars).to_numpy() & ~forms.str.startswith("\x00").to_numpy()
            template_code, template_uniq = pd.factorize(forms)
            # templates that differ only in numbers: the same folded form
            first_tpl = np.full(len(template_uniq), len(forms), dtype=np.int64)
            np.minimum.at(first_tpl, template_code, np.arange(len(forms)))
            tpl_pairs = np.flatnonzero(ok & (first_tpl[template_code] != np.arange(len(forms))))
            edges[0] = np.concatenate([edges[0], first_of_exact[tpl_pairs]])
            edges[1] = np.concatenate([edges[1], first_of_exact[first_tpl[template_code[tpl_pairs]]]])
            # shingles and MinHash once per folded form
            tpl_ok = np.zeros(len(template_uniq), dtype=bool)
            tpl_ok[template_code[ok]] = True
            cand = np.flatnonzero(tpl_ok)
            a, b, stats = near_pairs([template_uniq[i] for i in cand], r, seed=self.seed)
            self.stats_.update(stats)
            to_doc = first_of_exact[first_tpl[cand]]
            edges[0] = np.concatenate([edges[0], to_doc[a]])
            edges[1] = np.concatenate([edges[1], to_doc[b]])
        graph = coo_matrix((np.ones(len(edges[0]), dtype=np.int8), (edges[0], edges[1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        order = np.arange(n) if order is None else np.asarray(order)
        ranked = np.lexsort((np.arange(n), order))
        rep_of_comp = np.full(comp.max() + 1 if n else 0, -1, dtype=np.int64)
        comps_in_order = comp[ranked]
        _, firsts = np.unique(comps_in_order, return_index=True)
        rep_of_comp[comps_in_order[firsts]] = ranked[firsts]
        self.group_ = rep_of_comp[comp]
        self.exact_ = exact_code == exact_code[self.group_]
        return self


# -- near duplicates: shingles, MinHash, LSH, exact verification -------------------------------
def shingle_sets(texts: Sequence[str], n: int, block_chars: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Distinct 32-bit hashes of each text's character ``n``-grams (a text shorter than ``n``
    is one shingle): (hashes, offsets), text ``i``'s sorted hashes at ``hashes[offsets[i]:offsets[i+1]]``.

    Texts are hashed in blocks of about ``block_chars`` characters: the vectorised hashing
    holds ~50 bytes per character while it works (~0.9 GB for 200k posts at once, found with
    memray); what is kept is 4 bytes per distinct shingle."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    ends = np.cumsum(lengths)
    hashes, counts, i = [], [], 0
    while i < len(texts):
        j = max(int(np.searchsorted(ends, (ends[i - 1] if i else 0) + block_chars, side="right")), i + 1)
        h, c = _shingle_block(texts[i:j], lengths[i:j], n)
        hashes.append(h), counts.append(c)
        i = j
    counts_all = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    return (np.concatenate(hashes) if hashes else np.zeros(0, np.uint32)), np.concatenate([[0], np.cumsum(counts_all)])


def _shingle_block(texts: Sequence[str], lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``shingle_sets`` of a few texts: their hashes and the count per text."""
    cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(_U64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    n_sh = np.maximum(lengths - n + 1, np.minimum(lengths, 1))
    tid = np.repeat(np.arange(len(texts), dtype=np.int64), n_sh)
    pos = _ranges(starts, n_sh)
    h = np.zeros(len(pos), dtype=_U64)
    with np.errstate(over="ignore"):
        for k in range(n):  # positions past the text's end (short texts) contribute 0
            idx = pos + k
            inside = idx < ends[tid]
            h = h * _U64(0x100000001B3) + np.where(inside, cp[np.minimum(idx, len(cp) - 1)] + _U64(1), _U64(0))
        h ^= h >> _U64(33)
        h *= _U64(0xFF51AFD7ED558CCD)
        h ^= h >> _U64(33)
    keys = _sorted_unique((tid.astype(_U64) << _U64(32)) | (h >> _U64(32)))
    hashes = (keys & _U64(0xFFFFFFFF)).astype(np.uint32)
    return hashes, np.bincount((keys >> _U64(32)).astype(np.int64), minlength=len(texts))


def minhash(hashes: np.ndarray, offsets: np.ndarray, n_perm: int, seed: int = 0, step: int = 400_000) -> np.ndarray:
    """MinHash signatures (texts x n_perm, uint32) with hashes ``a*x + b mod 2**32`` (a odd):
    multiply-shift hashing, whose high bits decide the minimum. Every text needs >= 1 shingle."""
    rng = np.random.default_rng(seed)
    a = (rng.integers(0, 2**32, n_perm, dtype=np.uint64) | 1).astype(np.uint32)
    b = rng.integers(0, 2**32, n_perm, dtype=np.uint64).astype(np.uint32)
    n_texts = len(offsets) - 1
    sig = np.empty((n_texts, n_perm), dtype=np.uint32)
    t0 = 0
    while t0 < n_texts:  # whole texts per block, about ``step`` shingles each
        t1 = int(np.searchsorted(offsets, offsets[t0] + step, side="right")) - 1
        t1 = min(max(t1, t0 + 1), n_texts)
        lo, hi = offsets[t0], offsets[t1]
        # permutations in rows, shingles along them: reduceat over contiguous runs (~1.8x faster
        # than over rows of a shingles x permutations block; the same minima)
        vals = a[:, None] * hashes[None, lo:hi]
        vals += b[:, None]
        sig[t0:t1] = np.minimum.reduceat(vals, offsets[t0:t1] - lo, axis=1).T
        t0 = t1
    return sig


def band_candidates(sig: np.ndarray, band: int, rows: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """LSH, one band: texts whose signatures agree on the whole band. Within a bucket, every pair
    closer than ``window`` in the bucket's order plus each member with the first: all pairs of
    small buckets, linear work in large ones. Pairs as (smaller, larger) index."""
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=_U64)
    cols = sig[:, band * rows:(band + 1) * rows].astype(_U64)
    key = np.zeros(len(sig), dtype=_U64)
    with np.errstate(over="ignore"):
        for j in range(cols.shape[1]):
            key = (key ^ cols[:, j]) * mult[j % len(mult)]
    order = np.argsort(key, kind="stable")
    k = key[order]
    found = []
    for d in range(1, window + 1):
        ok = np.flatnonzero(k[d:] == k[:-d])
        if not len(ok):
            break
        found.append(np.stack([order[ok], order[ok + d]]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    head = np.r_[True, k[1:] != k[:-1]]
    run_start = np.maximum.accumulate(np.where(head, np.arange(len(k)), 0))
    far = np.arange(len(k)) - run_start > window
    found.append(np.stack([order[run_start[far]], order[far]]))
    pairs = np.concatenate(found, axis=1).astype(np.int64)
    return np.minimum(pairs[0], pairs[1]), np.maximum(pairs[0], pairs[1])


def overlap(hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, step: int = 25_000) -> np.ndarray:
    """Exact |A ∩ B| of the shingle sets of each pair (a[i], b[i]), by one sort per block.

    A block holds both shingle sets of ``step`` pairs in three 8-byte arrays: with posts of a
    few hundred characters, 200k pairs per block took ~0.85 GB at once (measured at 100k posts);
    25k pairs keep it near 100 MB for the same total work."""
    sizes = np.diff(offsets)
    out = np.zeros(len(a), dtype=np.int64)
    for s in range(0, len(a), step):
        pa, pb = a[s:s + step], b[s:s + step]
        pid = np.arange(len(pa), dtype=_U64)
        idx = np.concatenate([_ranges(offsets[pa], sizes[pa]), _ranges(offsets[pb], sizes[pb])])
        owner = np.concatenate([np.repeat(pid, sizes[pa]), np.repeat(pid, sizes[pb])])
        keys = np.sort((owner << _U64(32)) | hashes[idx].astype(_U64))
        dup = keys[1:] == keys[:-1]
        out[s:s + step] = np.bincount((keys[1:][dup] >> _U64(32)).astype(np.int64), minlength=len(pa))
    return out


def near_pairs(texts: Sequence[str], r: NearRules, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Pairs (i, j) of ``texts`` that are near duplicates under ``r`` (enough of them to give
    the same groups as all pairs), and the counts of pairs checked and accepted.

    Bands are taken one after another; a candidate whose two texts are already in one group
    (through pairs accepted before) is not checked again, so a template posted 10,000 times
    costs about as many checks as it has posts, not as its bucket pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    none = np.zeros(0, np.int64)
    if len(texts) < 2:
        return none, none, {"candidates": 0, "near_pairs": 0}
    hashes, offsets = shingle_sets(texts, r.shingle)
    sig = minhash(hashes, offsets, r.bands * r.rows, seed)
    sizes = np.diff(offsets)
    n = len(texts)
    comp = np.arange(n)
    kept_a, kept_b, rejected = [none], [none], np.zeros(0, _U64)
    checked = 0
    for band in range(r.bands):
        a, b = band_candidates(sig, band, r.rows, r.window)
        todo = comp[a] != comp[b]
        a, b = a[todo], b[todo]
        pair_key = _sorted_unique((a.astype(_U64) << _U64(32)) | b.astype(_U64))
        pair_key = pair_key[~np.isin(pair_key, rejected, assume_unique=True)]
        if not len(pair_key):
            continue
        a, b = (pair_key >> _U64(32)).astype(np.int64), (pair_key & _U64(0xFFFFFFFF)).astype(np.int64)
        checked += len(a)
        inter = overlap(hashes, offsets, a, b)
        small, large = np.minimum(sizes[a], sizes[b]), np.maximum(sizes[a], sizes[b])
        jac = inter / (sizes[a] + sizes[b] - inter)
        keep = (jac >= r.jaccard) | ((inter >= r.containment * small) & (small >= r.min_share * large))
        rejected = _sorted_unique(np.concatenate([rejected, pair_key[~keep]]))
        if keep.any():
            kept_a.append(a[keep]), kept_b.append(b[keep])
            ea, eb = np.concatenate(kept_a), np.concatenate(kept_b)
            graph = coo_matrix((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n))
            comp = connected_components(graph, directed=False)[1]
    ea, eb = np.concatenate(kept_a), np.concatenate(kept_b)
    return ea, eb, {"candidates": int(checked), "near_pairs": int(len(ea))}


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` for one flat array by sort + compare (numpy 2's hashing ``unique`` is slower here)."""
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x
