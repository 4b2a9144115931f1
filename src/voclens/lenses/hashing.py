"""Hashed character n-grams of whole chunks at once: scikit-learn's ``HashingVectorizer``
(``analyzer="char_wb"``, no alternate sign, no norm, no lower-casing) without a Python loop per
n-gram.

The lens models were trained on that vectoriser's features, so this gives its matrix exactly
(tested on real and random text): words are runs of non-whitespace (``str.split``), each padded
with a space on both sides; every n-gram of a padded word for n in the range; each n-gram's
UTF-8 bytes hashed with MurmurHash3 (x86, 32-bit, seed 0) and the column taken as |hash| modulo
the width. scikit-learn makes each n-gram a Python string and hashes it in a loop (0.19 s per
8k segment texts); here the code points of a chunk are one array and the hash is vectorised.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from voclens.arrays import concat_ranges

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


@functools.lru_cache(maxsize=1)
def _whitespace() -> np.ndarray:
    """The code points ``str.split`` splits on (29 of them)."""
    return np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


class CharNgramHasher:
    """``transform(texts)`` -> CSR float64 counts, as ``HashingVectorizer(analyzer="char_wb",
    ngram_range, n_features, alternate_sign=False, norm=None, lowercase=False)`` gives them.

    Vectorised for ranges starting at n <= 3 and ending at n <= 8 (a padded word is never
    shorter than 3, so every word yields each n up to its own length); other ranges, and text
    with lone surrogates (which UTF-8 cannot encode), go to scikit-learn itself."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**18):
        self.ngram_range = tuple(ngram_range)
        self.n_features = n_features

    def _sklearn(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
                                 alternate_sign=False, norm=None, lowercase=False)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = list(texts)
        lo, hi = self.ngram_range
        if not texts:
            return sp.csr_matrix((0, self.n_features), dtype=np.float64)
        cp = np.frombuffer(" ".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if not (1 <= lo <= 3 and lo <= hi <= 8) or ((cp >= 0xD800) & (cp < 0xE000)).any():
            return sp.csr_matrix(self._sklearn().transform(texts))
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lens + 1)[:len(cp)]  # the joining space counts for the text before
        # padded words laid end to end: " w1 "" w2 " ...
        word = ~np.isin(cp, _whitespace())
        starts = np.flatnonzero(word & ~np.r_[False, word[:-1]])
        ends = np.flatnonzero(word & ~np.r_[word[1:], False]) + 1
        width = ends - starts + 2
        off = np.cumsum(width) - width
        padded = np.full(int(width.sum()), 32, dtype=np.uint32)
        word_id = np.cumsum(word & ~np.r_[False, word[:-1]]) - 1
        chars = np.flatnonzero(word)
        padded[np.arange(len(chars)) + 2 * word_id[chars] + 1] = cp[chars]
        word_doc = doc_of[starts]
        # the padded words' UTF-8 bytes, the byte offset of each code point, and the
        # little-endian 32-bit word starting at every byte (what MurmurHash3 reads)
        utf8 = np.frombuffer(padded.tobytes().decode("utf-32-le").encode("utf-8") + b"\0\0\0", dtype=np.uint8)
        size = 1 + (padded >= 0x80).astype(np.int64) + (padded >= 0x800) + (padded >= 0x10000)
        at = np.zeros(len(padded) + 1, dtype=np.int64)
        np.cumsum(size, out=at[1:])
        u = utf8.astype(np.uint32)
        words32 = u[:-3] | (u[1:-2] << np.uint32(8)) | (u[2:-1] << np.uint32(16)) | (u[3:] << np.uint32(24))
        cols, rows = [], []
        for n in range(lo, hi + 1):
            count = np.maximum(width - n + 1, 0)
            gram = concat_ranges(off, count)
            cols.append(_murmur_columns(words32, at[gram], at[gram + n] - at[gram], n, self.n_features))
            rows.append(np.repeat(word_doc, count))
        col = np.concatenate(cols)
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(texts)), out=indptr[1:])
        x = sp.csr_matrix((np.ones(len(col)), col[order].astype(np.int32), indptr.astype(np.int32)),
                          shape=(len(texts), self.n_features))
        x.sum_duplicates()  # also sorts each row's columns, as scikit-learn's matrix has them
        return x


def _murmur_columns(words32: np.ndarray, start: np.ndarray, size: np.ndarray, n: int, n_features: int) -> np.ndarray:
    """MurmurHash3_x86_32 (seed 0) of the byte strings at ``start`` (``size`` bytes, at most
    4 * n) of the text whose little-endian 32-bit word at each byte is ``words32``, as
    scikit-learn's column: |h| % n_features."""
    h = np.zeros(len(size), dtype=np.uint32)
    blocks = size // 4
    rem = (size % 4).astype(np.uint32)
    last = len(words32) - 1
    with np.errstate(over="ignore"):
        for j in range(n + 1):
            full = blocks > j
            tail = (blocks == j) & (rem > 0)
            if not (full.any() or tail.any()):
                break
            k = words32[np.minimum(start + 4 * j, last)]
            k = np.where(tail, k & ((np.uint32(1) << (np.uint32(8) * rem)) - np.uint32(1)), k)
            k *= _C1
            k = (k << np.uint32(15)) | (k >> np.uint32(17))
            k *= _C2
            hk = h ^ k
            hb = (hk << np.uint32(13)) | (hk >> np.uint32(19))
            hb = hb * np.uint32(5) + np.uint32(0xE6546B64)
            h = np.where(full, hb, np.where(tail, hk, h))
        h ^= size.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    signed = h.view(np.int32).astype(np.int64)
    return np.where(signed == -(2**31), (2**31 - 1 - (n_features - 1)) % n_features, np.abs(signed) % n_features)
