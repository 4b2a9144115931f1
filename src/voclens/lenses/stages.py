"""Lens stages: segment sentiment, and its roll-up to documents and themes."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.lenses.sentiment import CLASSES, SentimentModel, default_model_dir
from voclens.pipeline import RunContext

# A segment is "mixed" when both sides keep at least this probability (e.g. an unsplit
# 「美味しいけど高い」); documents are mixed by the share rule in ``document_sentiment``.
SEGMENT_MIXED_P = 0.35


@functools.lru_cache(maxsize=4)
def load_sentiment_model(spec: str = "default") -> SentimentModel:
    return SentimentModel.load(default_model_dir() if spec == "default" else spec)


class SentimentStage:
    """Segments -> p_negative/p_neutral/p_positive, label and score in [-1, 1]."""

    name = "sentiment"
    requires = ("segments.norm", "embeddings")
    assigns = ("segments.sentiment", "segments.sentiment_score")

    def __init__(self, model: SentimentModel | None = None):
        self.model = model

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        model = self.model or load_sentiment_model(ctx.settings.sentiment.model)
        seg = corpus.segments
        proba = model.predict_proba(seg["norm"].tolist(), corpus.embeddings, n_jobs=ctx.settings.run.n_jobs)
        labels = np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)] if len(seg) else np.array([], dtype=object)
        mixed = (proba[:, 0] >= SEGMENT_MIXED_P) & (proba[:, 2] >= SEGMENT_MIXED_P)
        labels = np.where(mixed, "mixed", labels)
        corpus.segments = seg.assign(
            p_negative=proba[:, 0], p_neutral=proba[:, 1], p_positive=proba[:, 2],
            sentiment=labels, sentiment_score=(proba[:, 2] - proba[:, 0]).astype(np.float32),
        )
        corpus.meta["sentiment_model"] = getattr(model, "card_", {}).get("name", "custom")
        ctx.report(self.name, len(seg), len(seg))
        return corpus


def document_sentiment(segments: pd.DataFrame, mixed_margin: float) -> pd.DataFrame:
    """Per document: weighted mean probabilities -> label and score; mixed by the share rule.

    Segments are weighted by length (a long complaint outweighs 「以上です」). A document is
    *mixed* when its positive and its negative segments each hold at least ``mixed_margin``
    of its polar weight, i.e. both sides are really there.
    """
    w = (segments["end"] - segments["start"]).clip(lower=1).to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "doc_id": segments["doc_id"].to_numpy(),
            "w": w,
            "neg": segments["p_negative"].to_numpy() * w,
            "neu": segments["p_neutral"].to_numpy() * w,
            "pos": segments["p_positive"].to_numpy() * w,
            "wpos": np.where(segments["sentiment"].isin(["positive", "mixed"]), w, 0.0),
            "wneg": np.where(segments["sentiment"].isin(["negative", "mixed"]), w, 0.0),
        }
    )
    agg = frame.groupby("doc_id").sum()
    probs = agg[["neg", "neu", "pos"]].div(agg["w"], axis=0)
    label = np.asarray(CLASSES, dtype=object)[probs.to_numpy().argmax(axis=1)]
    polar = agg["wpos"] + agg["wneg"]
    mixed = (polar > 0) & (agg["wpos"] >= mixed_margin * polar) & (agg["wneg"] >= mixed_margin * polar)
    return pd.DataFrame(
        {"sentiment": np.where(mixed, "mixed", label), "sentiment_score": (probs["pos"] - probs["neg"]).astype(np.float32)},
        index=agg.index,
    )


class SummarizeStage:
    """Roll segment results up: document sentiment and theme label; theme sentiment mix."""

    name = "summarize"
    requires = ("segments.sentiment", "segments.theme_id", "documents.theme_id")
    assigns = ("documents.sentiment", "documents.sentiment_score", "themes.net_sentiment")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        seg, docs, themes = corpus.segments, corpus.documents, corpus.themes
        ds = document_sentiment(seg, ctx.settings.sentiment.mixed_margin).reindex(docs["doc_id"])
        labels = themes.set_index("theme_id")["label"] if len(themes) else pd.Series(dtype=object)
        corpus.documents = docs.assign(
            theme_label=docs["theme_id"].map(labels).fillna("").to_numpy(),
            sentiment=ds["sentiment"].fillna("neutral").to_numpy(),
            sentiment_score=ds["sentiment_score"].fillna(0.0).to_numpy(),
        )
        if len(themes):
            assigned = seg[seg["theme_id"] >= 0]
            mix = pd.crosstab(assigned["theme_id"], assigned["sentiment"], normalize="index")
            mix = mix.reindex(index=themes["theme_id"], columns=["positive", "neutral", "negative", "mixed"], fill_value=0.0)
            mean_score = assigned.groupby("theme_id")["sentiment_score"].mean().reindex(themes["theme_id"]).fillna(0.0)
            pos = mix["positive"].to_numpy() + 0.5 * mix["mixed"].to_numpy()
            neg = mix["negative"].to_numpy() + 0.5 * mix["mixed"].to_numpy()
            corpus.themes = themes.assign(
                positive=mix["positive"].to_numpy(), neutral=mix["neutral"].to_numpy(),
                negative=mix["negative"].to_numpy(), mixed=mix["mixed"].to_numpy(),
                net_sentiment=(pos - neg).round(4), mean_score=mean_score.to_numpy().round(4),
            )
        else:
            corpus.themes = themes.assign(
                positive=pd.Series(dtype=float), neutral=pd.Series(dtype=float), negative=pd.Series(dtype=float),
                mixed=pd.Series(dtype=float), net_sentiment=pd.Series(dtype=float), mean_score=pd.Series(dtype=float),
            )
        return corpus
