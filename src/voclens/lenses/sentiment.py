"""Segment sentiment: a linear model over char n-grams, lexicon hits and the embedding.

Why this mix: on real review sentences, character n-grams of the normalised text carry most of
the polarity (美味し, 残念, 狭), the team's lexicon covers words the training corpus lacks, and
the sentence embedding adds paraphrase knowledge. Char n-grams are hashed, so the featuriser is
stateless and a saved model is a few numpy arrays plus JSON (no pickles, no version lock-in).

Labels are negative / neutral / positive per segment (``mixed`` when both sides are strong);
``sentiment_score = p_positive - p_negative`` lies in [-1, 1].
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from voclens.errors import ModelError, NotFittedError
from voclens.lenses.lexicon import N_FEATURES, lexicon_features, load_lexicon
from voclens.parallel import map_chunks

CLASSES = ("negative", "neutral", "positive")
FORMAT_VERSION = 1


class SentimentModel:
    """Three-class sentiment estimator; ``fit`` learns, ``predict_proba`` scores."""

    def __init__(
        self,
        C: float = 4.0,
        ngram_range: tuple[int, int] = (1, 3),
        n_features: int = 2**18,
        embed_weight: float = 0.5,
        lexicon_weight: float = 1.0,
        class_weight: dict | str | None = None,
    ):
        self.C = C
        self.ngram_range = tuple(ngram_range)
        self.n_features = n_features
        self.embed_weight = embed_weight
        self.lexicon_weight = lexicon_weight
        self.class_weight = class_weight

    # -- features -----------------------------------------------------------------------------
    def _hasher(self) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
            alternate_sign=False, norm=None, lowercase=False,
        )

    def _raw(self, texts: list[str], n_jobs: int) -> tuple[sp.csr_matrix, np.ndarray]:
        """Hashed char n-gram counts and lexicon hits: the Python-heavy part, on ``n_jobs`` cores."""
        if not texts:
            return sp.csr_matrix((0, self.n_features), dtype=np.float64), np.zeros((0, N_FEATURES), np.float32)
        load_lexicon()  # loaded before forking, so workers inherit it
        parts = map_chunks(partial(_raw_chunk, self._hasher()), list(texts), n_jobs=n_jobs)
        return sp.vstack([p[0] for p in parts]).tocsr(), np.vstack([p[1] for p in parts])

    def _sparse(self, counts: sp.csr_matrix, fit: bool = False) -> sp.csr_matrix:
        """Char n-gram tf-idf rows (l2-normalised), from a stateless hasher and a stored idf."""
        counts = counts.copy()
        counts.data = 1 + np.log(counts.data)  # sublinear tf
        if fit:
            df = np.bincount(counts.indices, minlength=self.n_features)
            self.idf_ = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
        tfidf = counts @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return (sp.diags(1 / norms) @ tfidf).tocsr()

    def _dense(self, lex: np.ndarray, embeddings: np.ndarray | None, fit: bool = False) -> np.ndarray:
        """Lexicon hits (squashed) and the weighted embedding, side by side."""
        if fit:
            self.lex_scale_ = np.maximum(np.percentile(np.abs(lex), 99, axis=0), 1.0).astype(np.float32) if len(lex) else np.ones(N_FEATURES, np.float32)
        parts = [self.lexicon_weight * np.tanh(lex / self.lex_scale_)]
        if self.embed_weight > 0:
            if embeddings is None:
                raise ModelError("This sentiment model uses sentence embeddings; pass them to predict_proba.")
            parts.append(self.embed_weight * np.asarray(embeddings, dtype=np.float32))
        return np.hstack(parts).astype(np.float32)

    # -- learning -----------------------------------------------------------------------------
    def fit(self, texts: list[str], y: list[str], embeddings: np.ndarray | None = None) -> "SentimentModel":
        y = np.asarray(y)
        unknown = set(y) - set(CLASSES)
        if unknown:
            raise ValueError(f"Unknown sentiment labels {sorted(unknown)}; use {CLASSES}.")
        texts = list(texts)
        counts, lex = self._raw(texts, n_jobs=0)
        x = sp.hstack([self._sparse(counts, fit=True), sp.csr_matrix(self._dense(lex, embeddings, fit=True))]).tocsr()
        clf = LogisticRegression(C=self.C, max_iter=5000, class_weight=self.class_weight)
        clf.fit(x, y)
        order = [list(clf.classes_).index(c) for c in CLASSES]
        self.coef_ = clf.coef_[order].astype(np.float32)
        self.intercept_ = clf.intercept_[order].astype(np.float32)
        return self

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None, n_jobs: int = 1) -> np.ndarray:
        """(n, 3) probabilities in the order negative, neutral, positive (``n_jobs`` processes
        compute the lexicon features; 0 = every core)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("SentimentModel is not fitted. Call fit() or SentimentModel.load(folder).")
        texts = list(texts)
        out = np.zeros((len(texts), 3), dtype=np.float32)
        w_sparse, w_dense = self.coef_[:, : self.n_features], self.coef_[:, self.n_features:]
        for a in range(0, len(texts), 20000):
            emb = None if embeddings is None else embeddings[a:a + 20000]
            counts, lex = self._raw(texts[a:a + 20000], n_jobs)
            z = self._sparse(counts) @ w_sparse.T + self._dense(lex, emb) @ w_dense.T + self.intercept_
            z = np.asarray(z) - np.max(z, axis=1, keepdims=True)
            e = np.exp(z)
            out[a:a + 20000] = e / e.sum(axis=1, keepdims=True)
        return out

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None, n_jobs: int = 1) -> np.ndarray:
        return np.asarray(CLASSES)[self.predict_proba(texts, embeddings, n_jobs).argmax(axis=1)]

    # -- persistence ----------------------------------------------------------------------------
    def params(self) -> dict:
        return {
            "C": self.C, "ngram_range": list(self.ngram_range), "n_features": self.n_features,
            "embed_weight": self.embed_weight, "lexicon_weight": self.lexicon_weight, "class_weight": self.class_weight,
        }

    def save(self, folder: str | Path, card: dict | None = None) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        nz = np.flatnonzero(np.abs(self.coef_).sum(axis=0))  # hashed columns never seen stay zero: store sparse
        np.savez_compressed(
            folder / "weights.npz", columns=nz.astype(np.int64), coef=self.coef_[:, nz], intercept=self.intercept_,
            idf=self.idf_, lex_scale=self.lex_scale_, n_columns=np.int64(self.coef_.shape[1]),
        )
        config = {"format_version": FORMAT_VERSION, "kind": "voclens.sentiment", "classes": list(CLASSES), "params": self.params()}
        if card:
            config["card"] = card
        (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "SentimentModel":
        folder = Path(folder)
        cfg_path, w_path = folder / "config.json", folder / "weights.npz"
        if not cfg_path.is_file() or not w_path.is_file():
            raise ModelError(
                f"No sentiment model in {folder} (config.json and weights.npz expected). "
                "Train one with scripts/train_sentiment.py or use sentiment.model = 'default'."
            )
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        if cfg.get("kind") != "voclens.sentiment" or cfg.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{folder} is not a voclens sentiment model of format {FORMAT_VERSION}. Retrain it with scripts/train_sentiment.py.")
        p = cfg["params"]
        model = cls(p["C"], tuple(p["ngram_range"]), p["n_features"], p["embed_weight"], p["lexicon_weight"], p.get("class_weight"))
        w = np.load(w_path)
        coef = np.zeros((3, int(w["n_columns"])), dtype=np.float32)
        coef[:, w["columns"]] = w["coef"]
        model.coef_, model.intercept_ = coef, w["intercept"].astype(np.float32)
        model.idf_, model.lex_scale_ = w["idf"].astype(np.float32), w["lex_scale"].astype(np.float32)
        model.card_ = cfg.get("card", {})
        return model


def _raw_chunk(hasher: HashingVectorizer, texts) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    lex = np.vstack([lexicon_features(t) for t in texts]) if len(texts) else np.zeros((0, N_FEATURES), np.float32)
    return [(hasher.transform(texts), lex)]


def default_model_dir() -> Path:
    """models/sentiment in a source checkout, or the copy installed with the package."""
    here = Path(__file__).resolve()
    for base in (here.parents[3] / "models" / "sentiment", here.parents[1] / "models" / "sentiment"):
        if (base / "config.json").is_file():
            return base
    return here.parents[3] / "models" / "sentiment"
