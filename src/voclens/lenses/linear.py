"""One linear text classifier for every lens: hashed char n-grams + data-driven features + embedding.

Sentiment, job type, journey stage, intent, pain point and emotion all learn from the same three
views of a segment: character n-grams of the normalised text (what the words look like), dense
features from data files (lexicon hits, cue-pattern hits: knowledge the small corpus lacks) and
the sentence embedding (paraphrase knowledge). Single-label sets use a softmax; multi-label sets
(emotions) one sigmoid per class. The featuriser is stateless (hashing), so a saved model is
numpy arrays plus JSON: no pickles, no scikit-learn version lock-in.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from voclens.errors import ModelError, NotFittedError
from voclens.lenses.hashing import CharNgramHasher
from voclens.parallel import map_chunks

FORMAT_VERSION = 2


def _featurizers() -> dict[str, tuple[Callable[[str], np.ndarray], int, Callable[[], object]]]:
    """name -> (text -> dense vector, width, loader to call before forking)."""
    from voclens.lenses import cues, lexicon

    out = {
        "sentiment_lexicon": (lexicon.lexicon_features, lexicon.N_FEATURES, lexicon.load_lexicon),
        "cues": (cues.cue_features, cues.n_features(), cues.load_cues),
    }
    try:
        from voclens.lenses import emotion

        out["emotion_lexicon"] = (emotion.emotion_features, emotion.N_FEATURES, emotion.load_emotion_lexicon)
    except ImportError:  # pragma: no cover - emotion module optional during development
        pass
    return out


def _raw_chunk(hasher: CharNgramHasher | None, names: tuple[str, ...], texts) -> list[tuple]:
    """One chunk: hashed counts (when asked) and every dense featuriser, tokenising each text once."""
    from voclens.text.tokenize import tokenize

    feats = _featurizers()
    cols: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for t in texts:
        toks = tokenize(t)
        for name in names:
            cols[name].append(feats[name][0](t, toks))
    dense = {n: (np.vstack(v) if v else np.zeros((0, feats[n][1]), np.float32)).astype(np.float32) for n, v in cols.items()}
    return [(hasher.transform(texts) if hasher is not None else None, dense)]


def raw_features(texts: list[str], hasher_key: tuple | None, names: Sequence[str], n_jobs: int = 1,
                 cache: dict | None = None) -> tuple[sp.csr_matrix | None, dict[str, np.ndarray]]:
    """Hashed char n-gram counts for ``hasher_key`` (ngram_range, n_features) and the
    named dense features. ``cache`` (``corpus.features`` in a run) holds what is already computed
    for these same texts; what is missing is computed in one pass, one tokenisation per text."""
    feats = _featurizers()
    unknown = [d for d in names if d not in feats]
    if unknown:
        raise ModelError(f"Unknown dense features {unknown}; known: {sorted(feats)}. Retrain the model.")
    store = cache if cache is not None else {}
    need_counts = hasher_key is not None and ngram_name(hasher_key) not in store
    missing = tuple(n for n in dict.fromkeys(names) if n not in store)
    if need_counts or missing:
        for n in missing:
            feats[n][2]()  # load data files before forking, so workers inherit them
        hasher = _hasher(hasher_key) if need_counts else None
        if texts:
            parts = map_chunks(partial(_raw_chunk, hasher, missing), list(texts), n_jobs=n_jobs)
        else:
            parts = [(hasher.transform([]) if hasher is not None else None, {n: np.zeros((0, feats[n][1]), np.float32) for n in missing})]
        if need_counts:
            store[ngram_name(hasher_key)] = sp.vstack([p[0] for p in parts]).tocsr().astype(np.float64)
        for n in missing:
            store[n] = np.vstack([p[1][n] for p in parts])
    counts = store[ngram_name(hasher_key)] if hasher_key is not None else None
    return counts, {n: store[n] for n in names}


def ngram_name(key: tuple) -> str:
    """Feature name of hashed char n-grams: 'ngrams_1_3_262144'."""
    (lo, hi), n = key
    return f"ngrams_{lo}_{hi}_{n}"


def _hasher(key: tuple) -> CharNgramHasher:
    """The char n-gram hasher the models were trained with (scikit-learn's ``HashingVectorizer``
    features, computed a chunk at a time: ``lenses/hashing.py``)."""
    ngram_range, n_features = key
    return CharNgramHasher(tuple(ngram_range), n_features)


class TextClassifier:
    """Linear classifier over char n-grams, dense data features and the sentence embedding."""

    kind = "voclens.text-classifier"

    def __init__(
        self,
        classes: Sequence[str],
        *,
        multilabel: bool = False,
        dense: Sequence[str] = (),
        C: float = 4.0,
        ngram_range: tuple[int, int] = (1, 3),
        n_features: int = 2**18,
        embed_weight: float = 0.5,
        dense_weight: float = 1.0,
        class_weight: dict | str | None = None,
    ):
        self.classes = tuple(classes)
        self.multilabel = multilabel
        self.dense = tuple(dense)
        self.C = C
        self.ngram_range = tuple(ngram_range)
        self.n_features = n_features
        self.embed_weight = embed_weight
        self.dense_weight = dense_weight
        self.class_weight = class_weight

    # -- features -----------------------------------------------------------------------------
    def hasher_key(self) -> tuple:
        return (tuple(self.ngram_range), self.n_features)

    def _raw(self, texts: list[str], n_jobs: int, cache: dict | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
        """Hashed counts and this model's dense features side by side (computed once per run)."""
        counts, dense = raw_features(texts, self.hasher_key(), self.dense, n_jobs, cache)
        return counts, self.dense_block(dense, len(texts))

    def dense_block(self, features: dict[str, np.ndarray], n: int) -> np.ndarray:
        """This model's dense inputs, in its order, from a name -> array mapping."""
        if not self.dense:
            return np.zeros((n, 0), np.float32)
        return np.hstack([features[d] for d in self.dense])

    def proba_from_features(self, features: dict, embeddings: np.ndarray | None) -> np.ndarray:
        """Probabilities from precomputed features (``corpus.features``-like, e.g. summed per document)."""
        counts = features[ngram_name(self.hasher_key())]
        return self._proba_from_raw(counts, self.dense_block(features, counts.shape[0]), embeddings)

    def _sparse(self, counts: sp.csr_matrix, fit: bool = False) -> sp.csr_matrix:
        counts = counts.copy()
        counts.data = 1 + np.log(counts.data)  # sublinear tf
        if fit:
            df = np.bincount(counts.indices, minlength=self.n_features)
            self.idf_ = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
        tfidf = counts @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return (sp.diags(1 / norms) @ tfidf).tocsr()

    def _dense(self, raw: np.ndarray, embeddings: np.ndarray | None, fit: bool = False) -> np.ndarray:
        if fit:
            self.dense_scale_ = (
                np.maximum(np.percentile(np.abs(raw), 99, axis=0), 1.0).astype(np.float32) if raw.size else np.ones(raw.shape[1], np.float32)
            )
        parts = [self.dense_weight * np.tanh(raw / self.dense_scale_)]
        if self.embed_weight > 0:
            if embeddings is None:
                raise ModelError("This model uses sentence embeddings; pass them to predict_proba.")
            parts.append(self.embed_weight * np.asarray(embeddings, dtype=np.float32))
        return np.hstack(parts).astype(np.float32)

    # -- learning -----------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], y, embeddings: np.ndarray | None = None, n_jobs: int = 0,
            sample_weight: np.ndarray | None = None) -> "TextClassifier":
        """``y``: labels (single-label) or an (n, n_classes) 0/1 matrix (multi-label)."""
        texts = list(texts)
        counts, raw = self._raw(texts, n_jobs)
        x = sp.hstack([self._sparse(counts, fit=True), sp.csr_matrix(self._dense(raw, embeddings, fit=True))]).tocsr()
        if self.multilabel:
            y = np.asarray(y)
            coefs, inter = [], []
            for j, name in enumerate(self.classes):
                col = y[:, j]
                if col.min() == col.max():  # a class never (or always) present: constant output
                    coefs.append(np.zeros(x.shape[1], np.float32))
                    inter.append(10.0 if col.max() else -10.0)
                    continue
                # class_weight may name a weighting per class: {"anger": None, "*": "balanced"}
                cw = self.class_weight
                if isinstance(cw, dict) and ("*" in cw or name in cw):
                    cw = cw.get(name, cw.get("*"))
                clf = LogisticRegression(C=self.C, max_iter=5000, class_weight=cw).fit(x, col, sample_weight=sample_weight)
                coefs.append(clf.coef_[0])
                inter.append(clf.intercept_[0])
            self.coef_, self.intercept_ = np.vstack(coefs).astype(np.float32), np.asarray(inter, np.float32)
        else:
            y = np.asarray(y)
            unknown = set(y) - set(self.classes)
            if unknown:
                raise ValueError(f"Unknown labels {sorted(unknown)}; expected {self.classes}.")
            clf = LogisticRegression(C=self.C, max_iter=5000, class_weight=self.class_weight).fit(x, y, sample_weight=sample_weight)
            order = [list(clf.classes_).index(c) if c in clf.classes_ else None for c in self.classes]
            coef = np.zeros((len(self.classes), x.shape[1]), np.float32)
            inter = np.full(len(self.classes), -30.0, np.float32)  # a class unseen in training is never predicted
            for i, j in enumerate(order):
                if j is not None:
                    coef[i], inter[i] = (clf.coef_[j], clf.intercept_[j]) if len(clf.classes_) > 2 else (
                        (clf.coef_[0], clf.intercept_[0]) if j == 1 else (-clf.coef_[0], -clf.intercept_[0]))
            if len(clf.classes_) == 2:  # binary LR gives one row: split it as +/- half logits
                coef, inter = coef / 2, np.where(inter > -30, inter / 2, inter)
            self.coef_, self.intercept_ = coef, inter
        return self

    def feature_key(self) -> tuple:
        """Models with the same key share their raw features (``predict_many``)."""
        return (self.ngram_range, self.n_features, self.dense)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None, n_jobs: int = 1,
                      cache: dict | None = None) -> np.ndarray:
        """(n, n_classes): softmax rows (single-label) or independent sigmoids (multi-label);
        ``cache`` holds precomputed features of these texts (``corpus.features``)."""
        return predict_many({"m": self}, texts, embeddings, n_jobs, cache)["m"]

    def _proba_from_raw(self, counts: sp.csr_matrix, raw: np.ndarray, embeddings: np.ndarray | None) -> np.ndarray:
        """Scores from shared raw counts: tf-idf rows are never built, since
        (logtf . idf / |logtf . idf|) @ w = (logtf @ (idf * w)) / |logtf . idf|. Raw counts (not
        logs) are shared because they add up: a document's counts are the sum of its segments'."""
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted. Call fit() or load a model folder.")
        logtf = counts.copy()
        logtf.data = 1 + np.log(logtf.data)  # sublinear tf
        w_sparse, w_dense = self.coef_[:, : self.n_features], self.coef_[:, self.n_features:]
        norms = np.sqrt(np.asarray(logtf.multiply(logtf) @ (self.idf_.astype(np.float64) ** 2)).ravel())
        norms[norms == 0] = 1
        sparse_part = np.asarray(logtf @ (w_sparse * self.idf_).T) / norms[:, None]
        z = sparse_part + self._dense(raw, embeddings) @ w_dense.T + self.intercept_
        if self.multilabel:
            return (1 / (1 + np.exp(-z))).astype(np.float32)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None, n_jobs: int = 1) -> np.ndarray:
        p = self.predict_proba(texts, embeddings, n_jobs)
        if self.multilabel:
            return (p >= 0.5).astype(np.int8)
        return np.asarray(self.classes, dtype=object)[p.argmax(axis=1)]

    # -- persistence ----------------------------------------------------------------------------
    def params(self) -> dict:
        return {
            "classes": list(self.classes), "multilabel": self.multilabel, "dense": list(self.dense), "C": self.C,
            "ngram_range": list(self.ngram_range), "n_features": self.n_features, "embed_weight": self.embed_weight,
            "dense_weight": self.dense_weight, "class_weight": self.class_weight,
        }

    def save(self, folder: str | Path, card: dict | None = None) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        nz = np.flatnonzero(np.abs(self.coef_).sum(axis=0))  # unseen hashed columns stay zero: store sparse
        np.savez_compressed(
            folder / "weights.npz", columns=nz.astype(np.int64), coef=self.coef_[:, nz], intercept=self.intercept_,
            idf=self.idf_, dense_scale=self.dense_scale_, n_columns=np.int64(self.coef_.shape[1]),
        )
        config = {"format_version": FORMAT_VERSION, "kind": self.kind, "params": self.params()}
        if card:
            config["card"] = card
        (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TextClassifier":
        folder = Path(folder)
        cfg_path, w_path = folder / "config.json", folder / "weights.npz"
        if not cfg_path.is_file() or not w_path.is_file():
            raise ModelError(
                f"No model in {folder} (config.json and weights.npz expected). "
                "Train it with the scripts in scripts/ (train_sentiment.py, train_lenses.py)."
            )
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        if cfg.get("format_version") != FORMAT_VERSION or not str(cfg.get("kind", "")).startswith("voclens."):
            raise ModelError(f"{folder} is not a voclens model of format {FORMAT_VERSION}. Retrain it with the scripts in scripts/.")
        p = cfg["params"]
        model = cls.__new__(cls)
        TextClassifier.__init__(
            model, p["classes"], multilabel=p["multilabel"], dense=p["dense"], C=p["C"], ngram_range=tuple(p["ngram_range"]),
            n_features=p["n_features"], embed_weight=p["embed_weight"], dense_weight=p["dense_weight"], class_weight=p.get("class_weight"),
        )
        w = np.load(w_path)
        coef = np.zeros((len(model.classes), int(w["n_columns"])), dtype=np.float32)
        coef[:, w["columns"]] = w["coef"]
        model.coef_, model.intercept_ = coef, w["intercept"].astype(np.float32)
        model.idf_, model.dense_scale_ = w["idf"].astype(np.float32), w["dense_scale"].astype(np.float32)
        model.card_ = cfg.get("card", {})
        return model


def predict_many(models: dict[str, TextClassifier], texts: Sequence[str], embeddings: np.ndarray | None = None,
                 n_jobs: int = 1, cache: dict | None = None) -> dict[str, np.ndarray]:
    """Probabilities of several models; tokens, n-grams and data features are computed once for
    all of them (and not at all when ``cache``, e.g. ``corpus.features``, already holds them)."""
    texts = list(texts)
    for m in models.values():
        if not hasattr(m, "coef_"):
            raise NotFittedError(f"{type(m).__name__} is not fitted. Call fit() or load a model folder.")
    store = cache if cache is not None else {}
    names = tuple(dict.fromkeys(d for m in models.values() for d in m.dense))
    for key in dict.fromkeys(m.hasher_key() for m in models.values()):
        raw_features(texts, key, names, n_jobs, store)
    out = {}
    for name, m in models.items():
        counts, raw = m._raw(texts, n_jobs, store)
        out[name] = m._proba_from_raw(counts, raw, embeddings)
    return out


def token_featurizers() -> tuple[dict, tuple, Callable[[], None]]:
    """What the tokenize stage computes for the classifiers in its single pass: the data
    featurisers, the default n-gram hasher (named as ``raw_features`` stores it), and a loader."""
    feats = _featurizers()
    key = ((1, 3), 2**18)

    def prepare() -> None:
        for f in feats.values():
            f[2]()

    return {n: f[0] for n, f in feats.items()}, (ngram_name(key), _hasher(key)), prepare
