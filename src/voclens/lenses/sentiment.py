"""Segment sentiment: the shared linear classifier with the team's polarity lexicon as data features.

Why this mix: on real review sentences, character n-grams of the normalised text carry most of
the polarity (美味し, 残念, 狭), the lexicon covers words the training corpus lacks (emoji and
kaomoji included), and the sentence embedding adds paraphrase knowledge.

Labels are negative / neutral / positive per segment (``mixed`` when both sides are strong);
``sentiment_score = p_positive - p_negative`` lies in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

from voclens.lenses.linear import TextClassifier

CLASSES = ("negative", "neutral", "positive")


class SentimentModel(TextClassifier):
    """Three-class sentiment; ``fit`` learns, ``predict_proba`` gives (n, 3) in CLASSES order."""

    kind = "voclens.sentiment"

    def __init__(self, C: float = 4.0, ngram_range=(1, 3), n_features: int = 2**18, embed_weight: float = 0.5,
                 lexicon_weight: float = 1.0, class_weight=None):
        super().__init__(CLASSES, dense=("sentiment_lexicon",), C=C, ngram_range=ngram_range, n_features=n_features,
                         embed_weight=embed_weight, dense_weight=lexicon_weight, class_weight=class_weight)


def models_dir() -> Path:
    """``models/`` of a source checkout, or the copy installed inside the package."""
    here = Path(__file__).resolve()
    for base in (here.parents[3] / "models", here.parents[1] / "models"):
        if (base / "sentiment" / "config.json").is_file():
            return base
    return here.parents[3] / "models"


def default_model_dir() -> Path:
    return models_dir() / "sentiment"
