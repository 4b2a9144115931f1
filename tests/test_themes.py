"""Clustering: automatic k, reproducibility, outliers, memory-safe scale, labels."""

from __future__ import annotations

import numpy as np
import pytest

from voclens.errors import NotFittedError
from voclens.themes import AutoKMeans, HybridFeatures
from voclens.themes.label import class_tfidf, make_label, top_keywords


def _blobs(n_per=150, k=6, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 4
    x = np.vstack([c + rng.normal(size=(n_per, dim)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


def test_k_is_found_near_the_truth_and_results_reproduce():
    x, y = _blobs()
    a = AutoKMeans(seed=1).fit(x)
    b = AutoKMeans(seed=1).fit(x)
    assert 5 <= a.n_clusters_ <= 8
    la, _ = a.predict(x)
    lb, _ = b.predict(x)
    assert np.array_equal(la, lb)
    assert a.selection_["method"] == "gmm-bic"


def test_fixed_k_and_few_outliers():
    x, _ = _blobs()
    m = AutoKMeans(n_clusters=4, seed=0).fit(x)
    labels, sims = m.predict(x)
    assert m.n_clusters_ == 4 and sims.shape == (len(x),)
    assert (labels == -1).mean() < 0.05


def test_fits_100k_rows_on_a_sample_without_pairwise_matrices():
    x, _ = _blobs(n_per=17000, k=6, dim=8)  # 102k rows; an n x n float32 matrix would need 40 GB
    m = AutoKMeans(n_clusters=6, sample_size=5000, n_init=1).fit(x)
    labels, _ = m.predict(x)
    assert labels.shape == (len(x),)


def test_unfitted_estimators_say_so():
    with pytest.raises(NotFittedError):
        AutoKMeans().predict(np.zeros((2, 2), np.float32))
    with pytest.raises(NotFittedError):
        HybridFeatures().transform(np.zeros((2, 2), np.float32), [[], []])


def test_hybrid_features_shape_and_unit_rows():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(60, 20)).astype(np.float32)
    terms = [["配送", "遅延"] if i % 2 else ["味", "美味しい"] for i in range(60)]
    z = HybridFeatures(dims=8).fit_transform(emb, terms)
    assert z.shape == (60, 8)
    assert np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-4)


def test_class_tfidf_surfaces_distinctive_terms():
    terms = [["配送", "遅延", "商品"], ["配送", "遅い", "商品"], ["味", "美味しい", "商品"], ["味", "量", "商品"]]
    ctf, words = class_tfidf(terms, np.array([0, 0, 1, 1]), 2)
    kw = top_keywords(ctf, words, 2)
    assert kw[0][0] == "配送" and kw[1][0] == "味"
    assert "商品" not in kw[0] and "商品" not in kw[1]


def test_labels_skip_contained_words():
    assert make_label(["配送遅延", "配送", "遅い"]) == "配送遅延・遅い"
    assert make_label(["電話", "繋がらない", "窓口"]) == "電話・繋がらない"


def test_document_counts_summed_from_segments_give_the_concatenated_terms_features():
    """The themes stage counts each segment's terms once and sums them per document; the
    features equal those of the documents' concatenated terms, bit for bit, and the counts path
    equals the fitted TF-IDF vectorizer's own."""
    from voclens.themes.stage import membership

    rng = np.random.default_rng(3)
    vocab = ["配送", "遅延", "梱包", "返金", "アプリ", "ログイン", "ポイント", "接客", "味", "価格", "在庫", "予約"]
    seg_terms = [list(rng.choice(vocab, size=rng.integers(0, 5))) for _ in range(600)]
    owner = np.sort(rng.integers(0, 250, size=600))
    owner = np.unique(owner, return_inverse=True)[1]
    n_docs = int(owner.max()) + 1
    doc_terms = [[] for _ in range(n_docs)]
    for d, ts in zip(owner, seg_terms):
        doc_terms[d].extend(ts)
    emb = rng.standard_normal((n_docs, 16)).astype(np.float32)
    f = HybridFeatures(dims=8, n_lsa=6).fit(emb, doc_terms)
    assert f.svd_ is not None
    summed = (membership(owner, n_docs) @ f.counts(seg_terms)).tocsr()
    summed.sort_indices()
    assert np.array_equal(f.transform(emb, counts=summed), f.transform(emb, doc_terms))
    assert np.array_equal(f.tfidf_.transform(f.counts(doc_terms)).toarray(), f.vectorizer_.transform(doc_terms).toarray())
    y = rng.random((600, 1), dtype=np.float32)
    want = np.zeros((n_docs, 3), np.float32)
    np.add.at(want, owner, np.hstack([y, y * 2, y * 3]))
    assert np.array_equal(membership(owner, n_docs) @ np.hstack([y, y * 2, y * 3]), want)  # np.add.at's sums


def test_term_counts_and_class_tfidf_match_their_dict_based_definitions():
    from sklearn.feature_extraction.text import CountVectorizer

    from voclens.themes.features import _identity, term_counts
    from voclens.themes.label import class_tfidf

    terms = [["配送", "遅い", "配送"], [], ["梱包", "未知語"], ["遅い"], ["配送", "梱包", "梱包"]]
    vec = CountVectorizer(analyzer=_identity, dtype=np.float32).fit([["配送", "遅い", "梱包"]])
    want, got = CountVectorizer.transform(vec, terms), term_counts(terms, vec.vocabulary_, np.float32)
    assert got.dtype == want.dtype and got.has_sorted_indices
    assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all() and (got.data == want.data).all()
    labels = np.array([1, 0, -1, 0, 1])
    ctfidf, words = class_tfidf(terms, labels, 2)
    assert words == ["配送", "遅い", "梱包"]  # first appearance among labelled rows; 未知語's row has no theme
    tf = np.zeros((2, 3))
    for lab, ts in zip(labels, terms):
        for t in ts if lab >= 0 else ():
            tf[lab, words.index(t)] += 1
    idf = np.log(1 + tf.sum() / 2 / tf.sum(axis=0))
    assert np.allclose(ctfidf.toarray(), tf / tf.sum(axis=1, keepdims=True) * idf)
