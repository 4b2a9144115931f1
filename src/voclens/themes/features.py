"""Clustering features: sentence embeddings beside noun LSA, reduced by PCA.

Embeddings see paraphrases (届かない ~ 配送が遅い); lemma TF-IDF sees the exact product and
feature names customers repeat (モグ定期便, 決済エラー) that multilingual embeddings blur. Both
are centred (a shared direction in every embedding says nothing about topics), scaled to unit
length, weighted, joined and reduced. Everything is fitted on a sample, so 100k segments cost
one sparse transform, never an n x n matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer

from voclens.embed.base import unit_rows
from voclens.errors import NotFittedError


def _identity(x):
    return x



def term_counts(terms: list[list[str]], vocabulary: dict[str, int], dtype=np.float32) -> sp.csr_matrix:
    """Rows of term counts over ``vocabulary`` (unknown terms ignored): what
    ``CountVectorizer.transform`` gives for pre-split terms (sorted indices, summed repeats),
    from one flat lookup and a sparse build instead of a dict per row (~3x faster)."""
    lens = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    get = vocabulary.get
    cols = np.fromiter((get(t, -1) for ts in terms for t in ts), dtype=np.int64, count=int(lens.sum()))
    rows = np.repeat(np.arange(len(terms), dtype=np.int64), lens)
    known = cols >= 0
    rows, cols = rows[known], cols[known]
    x = sp.csr_matrix((np.ones(len(cols), dtype=dtype), (rows, cols)), shape=(len(terms), len(vocabulary)))
    x.sum_duplicates()
    return x


class HybridFeatures:
    """Embeddings + weighted lemma LSA -> PCA -> unit rows."""

    def __init__(self, lexical_weight: float = 1.0, n_lsa: int = 200, dims: int = 32, sample_size: int = 20000, seed: int = 0):
        self.lexical_weight = lexical_weight
        self.n_lsa = n_lsa
        self.dims = dims
        self.sample_size = sample_size
        self.seed = seed

    def fit(self, embeddings: np.ndarray, terms: list[list[str]]) -> "HybridFeatures":
        n = len(embeddings)
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(n, self.sample_size, replace=False)) if n > self.sample_size else np.arange(n)
        emb = embeddings[idx].astype(np.float32)
        self.emb_mean_ = emb.mean(axis=0)
        parts = [unit_rows(emb - self.emb_mean_)]
        self.vectorizer_ = self.svd_ = None
        sample_terms = [terms[i] for i in idx]
        if self.lexical_weight > 0 and n >= 10:
            vec = TfidfVectorizer(analyzer=_identity, min_df=2, sublinear_tf=True, dtype=np.float32)
            try:
                x = vec.fit_transform(sample_terms)
            except ValueError:  # no term occurs twice: nothing lexical to learn
                x = None
            if x is not None and x.shape[1] >= 3:
                k = int(min(self.n_lsa, x.shape[1] - 1, len(idx) - 1))
                self.vectorizer_ = vec
                # the same weighting as vec's, applicable to counts summed over segments
                self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(CountVectorizer.transform(vec, sample_terms))
                self.svd_ = TruncatedSVD(k, random_state=self.seed).fit(x)
                lsa = self.svd_.transform(x)
                self.lsa_mean_ = lsa.mean(axis=0)
                parts.append(self.lexical_weight * unit_rows(lsa - self.lsa_mean_))
        joined = np.hstack(parts)
        d = int(min(self.dims, joined.shape[1], max(len(idx) - 1, 1)))
        self.pca_ = PCA(d, random_state=self.seed).fit(joined)
        return self

    def counts(self, terms: list[list[str]]):
        """Term counts over the fitted vocabulary (None when no lexical part was fitted). Counts
        add up: a document's row is the sum of its segments' rows (``transform(counts=...)``)."""
        if getattr(self, "svd_", None) is None:
            return None
        return term_counts(terms, self.vectorizer_.vocabulary_, self.vectorizer_.dtype)

    def transform(self, embeddings: np.ndarray, terms: list[list[str]] | None = None, counts=None) -> np.ndarray:
        """Features of rows given their terms, or their ``counts`` (CSR with sorted indices, as
        ``counts()`` gives: the same values in the same order, so the same result)."""
        if not hasattr(self, "pca_"):
            raise NotFittedError("HybridFeatures is not fitted yet. Call fit(embeddings, terms) first.")
        if self.svd_ is not None and counts is None:
            counts = self.counts(terms)
        out = np.empty((len(embeddings), self.pca_.n_components_), dtype=np.float32)
        step = 20000  # bounded memory: transform in chunks
        for a in range(0, len(embeddings), step):
            parts = [unit_rows(embeddings[a:a + step].astype(np.float32) - self.emb_mean_)]
            if self.svd_ is not None:
                lsa = self.svd_.transform(self.tfidf_.transform(counts[a:a + step]))
                parts.append(self.lexical_weight * unit_rows(lsa - self.lsa_mean_))
            out[a:a + step] = unit_rows(self.pca_.transform(np.hstack(parts)))
        return out

    def fit_transform(self, embeddings: np.ndarray, terms: list[list[str]]) -> np.ndarray:
        return self.fit(embeddings, terms).transform(embeddings, terms)
