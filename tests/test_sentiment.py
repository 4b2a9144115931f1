"""The sentiment estimator, the shipped model, and the roll-up to documents and themes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voclens.errors import ModelError, NotFittedError
from voclens.lenses.sentiment import SentimentModel, default_model_dir
from voclens.lenses.stages import document_sentiment, load_sentiment_model

TRAIN = [
    ("とても美味しかったです", "positive"), ("スタッフが親切で助かりました", "positive"), ("最高でした！", "positive"),
    ("また利用したいです", "positive"), ("部屋が綺麗で快適", "positive"), ("配送が早くて満足", "positive"),
    ("部屋が汚かった", "negative"), ("対応が最悪でした", "negative"), ("二度と使いません", "negative"),
    ("電話が全然つながらない", "negative"), ("料金が高すぎる", "negative"), ("届くのが遅すぎる", "negative"),
    ("出張で利用しました", "neutral"), ("部屋は2階でした", "neutral"), ("返品はできますか", "neutral"),
    ("注文番号を記載します", "neutral"), ("以上です", "neutral"), ("先週購入しました", "neutral"),
]


def test_fit_save_load_round_trip(tmp_path):
    texts, y = zip(*TRAIN)
    emb = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    m = SentimentModel(C=10, n_features=2**12).fit(list(texts), list(y), emb)
    p1 = m.predict_proba(list(texts), emb)
    assert p1.shape == (len(texts), 3) and np.allclose(p1.sum(axis=1), 1, atol=1e-5)
    m.save(tmp_path / "model", card={"name": "test"})
    m2 = SentimentModel.load(tmp_path / "model")
    assert np.allclose(p1, m2.predict_proba(list(texts), emb), atol=1e-5)
    assert (m2.predict(list(texts), emb) == np.array(y)).mean() > 0.8


def test_errors_say_what_to_do(tmp_path):
    with pytest.raises(NotFittedError):
        SentimentModel().predict_proba(["a"])
    with pytest.raises(ModelError, match="train_sentiment.py"):
        SentimentModel.load(tmp_path)


@pytest.mark.slow
def test_shipped_model_reads_clear_cases(use_embedder):
    model = load_sentiment_model("default")
    texts = ["配送が早くて本当に助かりました！", "梱包が雑で商品が潰れていました", "部屋は2階でした。", "最悪。二度と頼まない💢"]
    pred = model.predict(texts, use_embedder.encode(texts))
    assert list(pred) == ["positive", "negative", "neutral", "negative"]
    assert (default_model_dir() / "README.md").is_file()  # the model card ships with the weights


def _segments(rows):
    return pd.DataFrame(rows, columns=["doc_id", "start", "end", "p_negative", "p_neutral", "p_positive", "sentiment"])


def test_document_roll_up_finds_mixed_documents():
    seg = _segments([
        (0, 0, 9, 0.05, 0.15, 0.80, "positive"), (0, 9, 17, 0.85, 0.10, 0.05, "negative"),  # praise + complaint
        (1, 0, 10, 0.80, 0.15, 0.05, "negative"), (1, 10, 14, 0.10, 0.80, 0.10, "neutral"),
        (2, 0, 30, 0.10, 0.10, 0.80, "positive"), (2, 30, 33, 0.70, 0.20, 0.10, "negative"),  # a tiny aside
    ])
    out = document_sentiment(seg, mixed_margin=0.25)
    assert out.loc[0, "sentiment"] == "mixed"
    assert out.loc[1, "sentiment"] == "negative" and out.loc[1, "sentiment_score"] < 0
    assert out.loc[2, "sentiment"] == "positive"
    assert out["sentiment_score"].between(-1, 1).all()
