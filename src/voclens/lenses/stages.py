"""Lens stages: segment sentiment, and its roll-up to documents and themes."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.lenses.emotion import EMOTIONS
from voclens.lenses.linear import TextClassifier, ngram_name, predict_many
from voclens.lenses.sentiment import CLASSES, SentimentModel, default_model_dir, models_dir
from voclens.pipeline import RunContext

# The customer lenses (seed 000): label sets and their labels, in model output order.
LENS_SETS: dict[str, tuple[str, ...]] = {
    "job_type": ("functional", "emotional", "social", "none"),
    "journey_stage": ("awareness", "consideration", "purchase", "use", "support", "loyalty", "none"),
    "intent": ("complaint", "request", "question", "praise", "other"),
    "pain_point": ("0", "1"),
}
# A segment without customer content (greeting, bare URL) gets these instead of a guess.
NO_CONTENT = {"job_type": "none", "journey_stage": "none", "intent": "other", "pain_point": "0"}
INTENT_PRIORITY = ("complaint", "request", "question", "praise", "other")  # most actionable first
EMOTION_LEVELS = (0.5, 0.7, 0.9)  # presence probability -> intensity 1, 2, 3

# A segment is "mixed" when both sides keep at least this probability (e.g. an unsplit
# 「美味しいけど高い」); documents are mixed by the share rule in ``document_sentiment``.
SEGMENT_MIXED_P = 0.35


@functools.lru_cache(maxsize=4)
def load_sentiment_model(spec: str = "default") -> SentimentModel:
    return SentimentModel.load(default_model_dir() if spec == "default" else spec)  # type: ignore[return-value]


class SentimentStage:
    """Segments -> p_negative/p_neutral/p_positive, label and score in [-1, 1]."""

    name = "sentiment"
    chunkable = True
    requires = ("segments.norm", "embeddings")
    assigns = ("segments.sentiment", "segments.sentiment_score")

    def __init__(self, model: SentimentModel | None = None):
        self.model = model

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        model = self.model or load_sentiment_model(ctx.settings.sentiment.model)
        seg = corpus.segments
        # corpus.features holds the n-grams and lexicon hits when the features stage ran
        proba = model.predict_proba(seg["norm"].tolist(), corpus.embeddings, n_jobs=ctx.settings.run.n_jobs,
                                    cache=corpus.features)
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
            # the three columns used, not a copy of the whole (largest) table
            assigned = seg.loc[seg["theme_id"].to_numpy() >= 0, ["theme_id", "sentiment", "sentiment_score"]]
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


@functools.lru_cache(maxsize=2)
def load_lens_models(folder: str | None = None) -> dict[str, TextClassifier]:
    """The four lens models and the emotion model, from models/ (or ``folder``)."""
    from pathlib import Path

    base = Path(folder) if folder else models_dir()
    models = {name: TextClassifier.load(base / "lenses" / name) for name in LENS_SETS}
    models["emotion"] = TextClassifier.load(base / "emotion")
    return models


def emotion_string(probs: np.ndarray) -> str:
    """'joy:2,surprise:1' from presence probabilities in EMOTIONS order ('' when none)."""
    return emotion_strings(np.asarray(probs)[None, :])[0]


def emotion_strings(probs: np.ndarray) -> np.ndarray:
    """``emotion_string`` of each row, as an object array. Rows share a few level patterns (most
    are all zeros), so each distinct pattern is written once: a string per row cost 0.8 s per 50k
    documents in Python."""
    probs = np.asarray(probs)
    levels = np.zeros(probs.shape, dtype=np.int8)
    for t in EMOTION_LEVELS:  # a Python float: compared in the probabilities' own precision
        levels += probs >= t
    patterns, which = np.unique(levels, axis=0, return_inverse=True)
    text = [",".join(f"{e}:{lv}" for e, lv in zip(EMOTIONS, row) if lv) for row in patterns.tolist()]
    return np.array(text, dtype=object)[which.reshape(-1)]


class LensStage:
    """Segments -> job type, journey stage, intent, pain point (each with its probability) and
    the eight Plutchik emotions (presence probability per emotion, and an intensity string)."""

    name = "lenses"
    chunkable = True
    requires = ("segments.norm", "embeddings")
    assigns = ("segments.job_type", "segments.journey_stage", "segments.intent", "segments.pain_point", "segments.emotion",
               "documents.emo_joy")

    def __init__(self, models: dict[str, TextClassifier] | None = None):
        self.models = models

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        models = self.models or load_lens_models(None if ctx.settings.lenses.models == "default" else ctx.settings.lenses.models)
        seg = corpus.segments
        probs = predict_many(models, seg["norm"].tolist(), corpus.embeddings, n_jobs=ctx.settings.run.n_jobs,
                             cache=corpus.features)
        content = (seg["kind"] == "content").to_numpy() if "kind" in seg else np.ones(len(seg), dtype=bool)
        cols: dict[str, np.ndarray] = {}
        for name, labels in LENS_SETS.items():
            p = probs[name]
            best = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=int)
            label = np.asarray(labels, dtype=object)[best]
            label = np.where(content, label, NO_CONTENT[name])
            if name == "pain_point":
                cols["pain_point"] = (label == "1").astype(np.int8)
                cols["pain_p"] = np.where(content, p[:, 1], 0.0).astype(np.float32)
            else:
                cols[name] = label
                cols[f"{name}_p"] = np.where(content, p[np.arange(len(p)), best], 1.0).astype(np.float32)
        emo = np.where(content[:, None], probs["emotion"], 0.0).astype(np.float32)
        for j, e in enumerate(EMOTIONS):
            cols[f"emo_{e}"] = emo[:, j]
        cols["emotion"] = emotion_strings(emo)
        corpus.segments = seg.assign(**cols)
        corpus.documents = corpus.documents.assign(
            **dict(zip([f"emo_{e}" for e in EMOTIONS], document_emotions(corpus, models["emotion"], emo, content, ctx).T))
        )
        corpus.meta["lens_models"] = {k: getattr(m, "card_", {}).get("name", "custom") for k, m in models.items()}
        ctx.report(self.name, len(seg), len(seg))
        return corpus


def document_emotions(corpus: Corpus, model: TextClassifier, seg_emo: np.ndarray, content: np.ndarray, ctx: RunContext) -> np.ndarray:
    """Per document: the mean of a whole-post reading and its strongest clause.

    Readers judge a post as a whole, yet one short clause (最悪…) can carry its emotion; on
    real posts the mean of both agrees with readers more than either alone (WRIME dev:
    whole post 0.447, strongest clause 0.433, mean 0.455 mean F1). A one-clause document has one
    reading. The whole-post reading needs no new embedding: the mean of its segments' embeddings.
    """
    from voclens.embed.base import unit_rows

    import scipy.sparse as sp

    seg = corpus.segments
    docs = corpus.documents["doc_id"].to_numpy()
    out = np.zeros((len(docs), len(EMOTIONS)), dtype=np.float32)
    if not len(seg):
        return out
    frame = pd.DataFrame(seg_emo, columns=list(EMOTIONS)).assign(doc_id=seg["doc_id"].to_numpy())[content]
    strongest = frame.groupby("doc_id")[list(EMOTIONS)].max()
    per_doc = frame.groupby("doc_id").size()
    multi = per_doc[per_doc > 1].index.to_numpy()
    whole = strongest.copy()
    if len(multi):
        # n-gram counts and lexicon hits add up: a post's features are the sum of its clauses'
        rows = np.flatnonzero(content & np.isin(seg["doc_id"].to_numpy(), multi))
        ids, index = np.unique(seg["doc_id"].to_numpy()[rows], return_inverse=True)
        pool = sp.csr_matrix((np.ones(len(rows)), (index, rows)), shape=(len(ids), len(seg)))
        needed = [ngram_name(model.hasher_key()), *model.dense]
        if all(k in corpus.features for k in needed):
            summed = {k: pool @ corpus.features[k] for k in needed}
            whole.loc[ids] = model.proba_from_features(summed, unit_rows(np.asarray(pool @ corpus.embeddings, dtype=np.float32)))
        else:  # features not precomputed (custom pipeline): read the joined texts
            texts = pd.Series(seg["norm"].to_numpy()[rows]).groupby(index).agg(" ".join).tolist()
            whole.loc[ids] = model.predict_proba(texts, unit_rows(np.asarray(pool @ corpus.embeddings, dtype=np.float32)),
                                                 n_jobs=ctx.settings.run.n_jobs)
    mean = ((whole + strongest) / 2).reindex(docs).fillna(0.0)
    return mean.to_numpy(dtype=np.float32)


def document_lenses(seg: pd.DataFrame, docs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per document: dominant job type and stage (by length-weighted probability, 'none' only
    when nothing else), the most actionable intent present, pain 0/1, emotions present."""
    w = (seg["end"] - seg["start"]).clip(lower=1).to_numpy(dtype=float)
    out = {}
    for name in ("job_type", "journey_stage"):
        # labels as stored (.array): .to_numpy() would make a Python string per segment
        frame = pd.DataFrame({"doc_id": seg["doc_id"].to_numpy(), "label": seg[name].array, "w": w * seg[f"{name}_p"].to_numpy()})
        frame.loc[frame["label"] == "none", "w"] *= 1e-3  # 'none' wins only when nothing else is said
        best = frame.groupby(["doc_id", "label"])["w"].sum().reset_index().sort_values(["doc_id", "w", "label"], ascending=[True, False, True])
        out[name] = best.drop_duplicates("doc_id").set_index("doc_id")["label"]
    # the most actionable intent a confident segment expresses (a complaint outranks praise in the
    # same review); with no confident segment, the length-weighted majority
    rank = {k: i for i, k in enumerate(INTENT_PRIORITY)}
    confident = seg.loc[seg["intent_p"].to_numpy() >= 0.5, ["doc_id", "intent"]]  # two columns, not the whole table
    intent = confident.assign(r=confident["intent"].map(rank)).groupby("doc_id")["r"].min().map(dict(enumerate(INTENT_PRIORITY)))
    frame = pd.DataFrame({"doc_id": seg["doc_id"].to_numpy(), "label": seg["intent"].array, "w": w})
    majority = frame.groupby(["doc_id", "label"])["w"].sum().reset_index().sort_values(["doc_id", "w"], ascending=[True, False])
    out["intent"] = intent.reindex(seg["doc_id"].unique()).fillna(majority.drop_duplicates("doc_id").set_index("doc_id")["label"])
    out["pain_point"] = seg.groupby("doc_id")["pain_point"].max().astype(np.int8)
    emo_cols = [f"emo_{e}" for e in EMOTIONS]
    if docs is not None and set(emo_cols) <= set(docs.columns):  # the lens stage's document reading
        emo = docs.set_index("doc_id")[emo_cols]
    else:
        emo = seg.groupby("doc_id")[emo_cols].max()
    out["emotion"] = pd.Series(emotion_strings(emo.to_numpy()), index=emo.index)
    return pd.DataFrame(out)
