"""Pipeline stages of social listening.

- ``SocialTagStage`` (``social_tags``, chunkable): per segment, the brands and alert terms it
  names; per document, its hashtags, brands and terms. Matching reads the original text of each
  segment (by its offsets), so a brand's @handle counts even when mentions are masked in outputs.
- ``SocialSummaryStage`` (``social``, whole corpus, after the themes and their sentiment):
  reach-weighted volume and net sentiment per theme beside the counts, the theme's hashtags,
  the brand table (share of voice, net sentiment, themes), watch-term hits, and per-week rows
  for the history store; watch-term alerts against the run's own weeks (the store run redoes
  them against the stored history).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.pipeline import RunContext
from voclens.social.brands import brand_changes, brand_table, brand_weekly_rows
from voclens.social.engagement import is_weighted
from voclens.social.sns import document_hashtags, theme_hashtags
from voclens.social.watchlist import hit_table, load_watchlist, watch_alerts, watch_weekly_rows


def watchlist_of(ctx: RunContext):
    s = getattr(ctx.settings, "social", None)
    return load_watchlist(getattr(s, "watchlist", None), getattr(s, "default_terms", True))


def _segment_texts(corpus: Corpus) -> list[str]:
    seg = corpus.segments
    orig = corpus.originals
    if len(orig) and {"start", "end"} <= set(seg.columns) and orig.index.is_unique and seg["doc_id"].isin(orig.index).all():
        raw = orig.reindex(seg["doc_id"].to_numpy()).tolist()
        return [r[a:b] if isinstance(r, str) else "" for r, a, b in zip(raw, seg["start"].tolist(), seg["end"].tolist())]
    return seg["text"].astype(str).tolist()


class SocialTagStage:
    """Segments -> brands and alert terms named; documents -> hashtags, brands, terms."""

    name = "social_tags"
    chunkable = True
    requires = ("segments.text", "segments.doc_id")
    assigns = ("segments.brands", "segments.watch_terms", "documents.hashtags", "documents.brands", "documents.watch_terms")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        watch = watchlist_of(ctx)
        texts = _segment_texts(corpus)
        bm, tm = watch.brand_matcher, watch.term_matcher
        brands = [bm.find(t) for t in texts] if bm else [[] for _ in texts]
        terms = [tm.find(t) for t in texts] if tm else [[] for _ in texts]
        seg = corpus.segments.assign(brands=brands, watch_terms=terms)
        doc_ids = corpus.documents["doc_id"].tolist()
        per_doc = {}
        for col in ("brands", "watch_terms"):
            ex = seg[["doc_id", col]].explode(col).dropna()
            g = ex.groupby("doc_id", sort=False)[col].agg(lambda s: list(dict.fromkeys(s)))
            found = g.to_dict()  # a dict lookup per document: Series.get costs ~5 µs each
            per_doc[col] = [found.get(d, []) for d in doc_ids]
        corpus.segments = seg
        corpus.documents = corpus.documents.assign(hashtags=document_hashtags(seg, doc_ids), **per_doc)
        return corpus


class SocialSummaryStage:
    """Themes -> reach-weighted figures and hashtags; brand, watch-term and weekly tables in meta."""

    name = "social"
    chunkable = False
    requires = ("segments.brands", "segments.watch_terms", "segments.theme_id", "themes.net_sentiment")
    assigns = ("themes.reach", "themes.reach_share", "themes.net_sentiment_reach", "themes.hashtags")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        watch = watchlist_of(ctx)
        seg, docs, themes = corpus.segments, corpus.documents, corpus.themes
        weighted = is_weighted(docs)
        reach = docs.set_index("doc_id")["reach"] if "reach" in docs else pd.Series(1.0, index=docs["doc_id"])
        w = seg["doc_id"].map(reach).fillna(1.0).to_numpy(dtype=float)
        sent = seg["sentiment"] if "sentiment" in seg else pd.Series("neutral", index=seg.index)
        signed = ((sent == "positive").astype(float) - (sent == "negative").astype(float)).to_numpy()
        assigned = (seg["theme_id"] >= 0).to_numpy()
        frame = pd.DataFrame({"theme_id": seg["theme_id"].to_numpy(), "w": w, "ws": w * signed})[assigned]
        by = frame.groupby("theme_id")[["w", "ws"]].sum()
        if len(themes):
            tid = themes["theme_id"]
            vol = by["w"].reindex(tid).fillna(0.0).to_numpy()
            total = float(frame["w"].sum()) or 1.0
            net = np.divide(by["ws"].reindex(tid).fillna(0.0).to_numpy(), vol, out=np.zeros(len(tid)), where=vol > 0)
            corpus.themes = themes.assign(reach=vol.round(2), reach_share=(vol / total).round(4),
                                          net_sentiment_reach=net.round(4), hashtags=theme_hashtags(seg, tid.tolist()))
        else:
            corpus.themes = themes.assign(reach=pd.Series(dtype=float), reach_share=pd.Series(dtype=float),
                                          net_sentiment_reach=pd.Series(dtype=float), hashtags=pd.Series(dtype=object))
        hits = hit_table(seg, docs, watch)
        watch_weekly = watch_weekly_rows(seg, docs)
        totals = _week_totals(seg, docs)
        a = ctx.settings.alerts
        brand_weekly = brand_weekly_rows(seg, docs, watch)
        corpus.meta.update({
            "social": {"weighted": weighted, "engagement": corpus.meta.get("engagement", {}),
                       "watchlist": getattr(ctx.settings.social, "watchlist", None) if hasattr(ctx.settings, "social") else None,
                       "n_brands": len(watch.brands), "n_terms": len(watch.terms),
                       "brand_mentions": int(docs["brands"].map(len).gt(0).sum()) if "brands" in docs else 0,
                       "watch_hits": int(hits["n_documents"].sum()) if len(hits) else 0},
            "brands": brand_table(seg, docs, themes if not len(corpus.themes) else corpus.themes, watch).to_dict("records"),
            "watchlist": hits.to_dict("records"),
            "brand_weekly": brand_weekly, "brand_changes": brand_changes(brand_weekly).to_dict("records"),
            "watch_weekly": watch_weekly,
            "watch_alerts": watch_alerts(watch_weekly, watch, hits, sensitivity=a.sensitivity, baseline_weeks=a.baseline_weeks,
                                         totals=totals),
        })
        return corpus


def _week_totals(seg: pd.DataFrame, docs: pd.DataFrame) -> pd.Series:
    from voclens.store.store import iso_week

    if "date" not in docs or docs["date"].isna().all():
        return pd.Series(dtype=float)
    week = seg["doc_id"].map(dict(zip(docs["doc_id"], iso_week(docs["date"]))))
    return week.dropna().value_counts().astype(float)
