"""Theme keywords by class-based TF-IDF, a short Japanese label, and representative quotes.

c-TF-IDF (as in BERTopic's ``ClassTfidfTransformer``) treats each theme as one document:
``tf(t, c) * log(1 + A / f(t))`` with A the average number of terms per theme and f(t) the
term's frequency over all themes, so words every theme uses (商品, 注文) sink and the words that
set a theme apart rise.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def class_tfidf(terms: list[list[str]], labels: np.ndarray, n_classes: int) -> tuple[sp.csr_matrix, list[str]]:
    """Class x term c-TF-IDF matrix over ``terms`` of rows with label >= 0, and the vocabulary."""
    from itertools import chain, compress

    import pandas as pd

    labels = np.asarray(labels)
    keep = labels >= 0
    kept = list(compress(terms, keep))
    lens = np.fromiter(map(len, kept), dtype=np.int64, count=len(kept))
    if not lens.sum():
        return sp.csr_matrix((n_classes, 0)), []
    # term ids in order of first appearance (as a dict filled term by term would number them),
    # by one hash pass over the flat terms instead of a Python call per occurrence
    flat = np.fromiter(chain.from_iterable(kept), dtype=object, count=int(lens.sum()))
    c, uniques = pd.factorize(flat)
    r = np.repeat(labels[keep], lens)
    tf = sp.csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(n_classes, len(uniques)))
    tf.sum_duplicates()
    freq = np.asarray(tf.sum(axis=0)).ravel()
    avg = tf.sum() / max(n_classes, 1)
    idf = np.log(1 + avg / freq)
    words = list(uniques)
    # L1 row normalisation keeps big and small themes comparable
    row_sums = np.asarray(tf.sum(axis=1)).ravel()
    row_sums[row_sums == 0] = 1
    ctfidf = sp.diags(1 / row_sums) @ tf @ sp.diags(idf)
    return ctfidf.tocsr(), words


def top_keywords(ctfidf: sp.csr_matrix, words: list[str], n: int) -> list[list[str]]:
    out = []
    for c in range(ctfidf.shape[0]):
        row = ctfidf.getrow(c)
        order = np.argsort(-row.data, kind="stable")
        out.append([words[row.indices[i]] for i in order[:n]])
    return out


def make_label(keywords: list[str], max_parts: int = 2, nouns: set[str] | frozenset[str] = frozenset()) -> str:
    """A short label from the top keywords, skipping words contained in an earlier one.

    With ``nouns`` given, the label opens with the best noun among the top five keywords (a topic
    reads as 配送・遅い, not 遅い・配送), then continues in keyword order.
    """
    parts: list[str] = []
    lead = next((kw for kw in keywords[:5] if kw in nouns), None)
    if lead is not None:
        parts.append(lead)
    for kw in keywords:
        if any(kw in p or p in kw for p in parts):
            continue
        parts.append(kw)
        if len(parts) == max_parts:
            break
    return "・".join(parts) if parts else "(ラベルなし)"


def representative(
    texts, sims: np.ndarray, labels: np.ndarray, n_classes: int, n: int, lengths: np.ndarray | None = None
) -> list[list[int]]:
    """Row indices of the ``n`` most central, distinct, readable members of each theme.

    ``texts``: any sequence indexed by row (a column's array: only the chosen rows become
    Python strings); ``lengths``: their lengths when already known."""
    if lengths is None:
        lengths = np.fromiter((len(t) for t in texts), dtype=np.float32, count=len(texts))
    # central first, but a 3-character fragment is a poor quote: penalise very short texts
    score = sims - 0.15 * (lengths < 8) - 0.05 * (lengths > 120)
    out: list[list[int]] = [[] for _ in range(n_classes)]
    order = np.lexsort((-score, labels))  # by theme, then best score first
    seen: list[set[str]] = [set() for _ in range(n_classes)]
    for i in order:
        c = labels[i]
        if c < 0 or len(out[c]) >= n:
            continue
        key = texts[i].strip()
        if key in seen[c]:
            continue
        seen[c].add(key)
        out[c].append(int(i))
    return out
