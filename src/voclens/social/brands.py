"""Brand mentions: share of voice, net sentiment, the themes each brand comes with, week over week.

A mention is a document (post, review, ticket) that names the brand, however often: fifty
replies repeating a name are fifty voices, one post naming it five times is one. Share of voice
is a brand's mentions over all mentions of the brands of its group (you and the competitors you
listed together; products form their own group), so the shares of a group sum to 1. Net
sentiment is read from the segments that name the brand (positive minus negative, mixed counting
half each way), not from the whole post, so 「Aは最高、Bは最悪」 counts once each way. The
themes a brand is discussed with are those of every segment of its mentioning documents.
"""

from __future__ import annotations

import pandas as pd

from voclens.social.sns import explode_lists
from voclens.social.watchlist import Watchlist
from voclens.trends.weekly import proportion_test, week_index

COLUMNS = ["brand", "group", "role", "mentions", "share_of_voice", "reach", "reach_share", "n_segments", "net_sentiment",
           "positive", "negative", "top_themes"]


def _signed(sent: pd.Series) -> tuple[pd.Series, pd.Series]:
    pos = (sent == "positive") + 0.5 * (sent == "mixed")
    neg = (sent == "negative") + 0.5 * (sent == "mixed")
    return pos.astype(float), neg.astype(float)


def _mentions(seg: pd.DataFrame) -> pd.DataFrame:
    cols = ["seg_id", "doc_id", "brands", *[c for c in ("sentiment",) if c in seg]]
    ex = explode_lists(seg[cols], "brands").rename(columns={"brands": "brand"})
    if "sentiment" not in ex:
        ex["sentiment"] = "neutral"
    return ex


def brand_table(seg: pd.DataFrame, docs: pd.DataFrame, themes: pd.DataFrame, watch: Watchlist, top: int = 3) -> pd.DataFrame:
    """One row per listed brand (also those never mentioned: a zero is news too)."""
    info = watch.brand_info()
    if info.empty:
        return pd.DataFrame(columns=COLUMNS)
    ex = _mentions(seg) if "brands" in seg and len(seg) else pd.DataFrame(columns=["seg_id", "doc_id", "brand", "sentiment"])
    reach = docs.set_index("doc_id")["reach"] if "reach" in docs else pd.Series(1.0, index=docs["doc_id"])
    pos, neg = _signed(ex["sentiment"])
    ex = ex.assign(pos=pos.to_numpy(), neg=neg.to_numpy())
    per_doc = ex.drop_duplicates(["brand", "doc_id"]).assign(reach=lambda f: f["doc_id"].map(reach).fillna(1.0).to_numpy())
    agg = pd.DataFrame({
        "mentions": per_doc.groupby("brand")["doc_id"].size(), "reach": per_doc.groupby("brand")["reach"].sum(),
        "n_segments": ex.groupby("brand").size(), "positive": ex.groupby("brand")["pos"].sum(),
        "negative": ex.groupby("brand")["neg"].sum(),
    })
    out = info.join(agg, on="brand").fillna({"mentions": 0, "reach": 0.0, "n_segments": 0, "positive": 0.0, "negative": 0.0})
    group_m = out.groupby("group")["mentions"].transform("sum")
    group_r = out.groupby("group")["reach"].transform("sum")
    out["share_of_voice"] = (out["mentions"] / group_m.where(group_m > 0)).fillna(0.0).round(4)
    out["reach_share"] = (out["reach"] / group_r.where(group_r > 0)).fillna(0.0).round(4)
    n = out["n_segments"].where(out["n_segments"] > 0)
    out["net_sentiment"] = ((out["positive"] - out["negative"]) / n).fillna(0.0).round(4)
    out["top_themes"] = [_top_themes(seg, per_doc, themes, b, top) for b in out["brand"]]
    out = out.astype({"mentions": "int64", "n_segments": "int64"})
    out["reach"] = out["reach"].round(2)
    return out[COLUMNS]


def _top_themes(seg, per_doc, themes, brand, top) -> list[str]:
    if "theme_id" not in seg or themes is None or themes.empty:
        return []
    doc_ids = per_doc.loc[per_doc["brand"] == brand, "doc_id"]
    s = seg[seg["doc_id"].isin(doc_ids) & (seg["theme_id"] >= 0)]
    if "kind" in s:
        s = s[s["kind"] == "content"]
    labels = themes.set_index("theme_id")["label"]
    counts = s["theme_id"].value_counts().head(top)
    return [f"{labels.get(t, t)}（{c}）" for t, c in counts.items()]


def brand_weekly_rows(seg: pd.DataFrame, docs: pd.DataFrame, watch: Watchlist, period: str | None = None) -> pd.DataFrame:
    """Per brand and ISO week: mentions (documents), their segments' positive/negative, reach."""
    from voclens.store.store import iso_week

    cols = ["period", "brand", "brand_group", "week", "mentions", "n_segments", "n_positive", "n_negative", "reach"]
    info = watch.brand_info()
    if info.empty or "brands" not in seg or "date" not in docs or docs["date"].isna().all():
        return pd.DataFrame(columns=cols)
    ex = _mentions(seg)
    ex = ex.assign(week=ex["doc_id"].map(dict(zip(docs["doc_id"], iso_week(docs["date"])))).to_numpy())
    ex = ex[ex["week"].notna()]
    if ex.empty:
        return pd.DataFrame(columns=cols)
    pos, neg = _signed(ex["sentiment"])
    reach = docs.set_index("doc_id")["reach"] if "reach" in docs else pd.Series(1.0, index=docs["doc_id"])
    ex = ex.assign(pos=pos.to_numpy(), neg=neg.to_numpy())
    per_doc = ex.drop_duplicates(["brand", "doc_id"]).assign(reach=lambda f: f["doc_id"].map(reach).fillna(1.0).to_numpy())
    a = ex.groupby(["brand", "week"]).agg(n_segments=("seg_id", "size"), n_positive=("pos", "sum"), n_negative=("neg", "sum"))
    b = per_doc.groupby(["brand", "week"]).agg(mentions=("doc_id", "size"), reach=("reach", "sum"))
    out = a.join(b).reset_index()
    out["brand_group"] = out["brand"].map(dict(zip(info["brand"], info["group"])))
    out.insert(0, "period", period)
    return out[cols]


def brand_changes(weekly: pd.DataFrame, week: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Share of voice and net sentiment per brand, this week against the week before.

    Share of voice moves with a two-proportion test (a brand's mentions among its group's, this
    week against last); the arrow is shown only when p < α, as for themes.
    """
    cols = ["brand", "brand_group", "week", "prev_week", "mentions", "mentions_prev", "sov", "sov_prev", "p_sov", "arrow",
            "net", "net_prev", "reach", "reach_prev"]
    if weekly is None or weekly.empty:
        return pd.DataFrame(columns=cols)
    idx = week_index(weekly["week"])
    if week is not None and week in idx:
        idx = {k: v - idx[week] for k, v in idx.items()}
    this = next((k for k, v in idx.items() if v == 0), None)
    prev = next((k for k, v in idx.items() if v == 1), None)
    w = weekly.groupby(["brand", "brand_group", "week"], as_index=False)[["mentions", "n_segments", "n_positive", "n_negative", "reach"]].sum()
    group_m = w.groupby(["brand_group", "week"])["mentions"].sum()
    rows = []
    for (brand, group), g in w.groupby(["brand", "brand_group"]):
        g = g.set_index("week")
        m1, m0 = float(g["mentions"].get(this, 0)), float(g["mentions"].get(prev, 0)) if prev else 0.0
        t1, t0 = float(group_m.get((group, this), 0)), float(group_m.get((group, prev), 0)) if prev else 0.0
        p = proportion_test(m1, t1, m0, t0) if prev else 1.0
        s1, s0 = (m1 / t1 if t1 else 0.0), (m0 / t0 if t0 else 0.0)
        arrow = ("↑" if s1 > s0 else "↓") if p < alpha else "→"

        def net(wk):
            n = float(g["n_segments"].get(wk, 0)) if wk else 0.0
            return round((float(g["n_positive"].get(wk, 0)) - float(g["n_negative"].get(wk, 0))) / n, 4) if n else None

        rows.append({"brand": brand, "brand_group": group, "week": this, "prev_week": prev, "mentions": int(m1), "mentions_prev": int(m0),
                     "sov": round(s1, 4), "sov_prev": round(s0, 4), "p_sov": p, "arrow": arrow, "net": net(this), "net_prev": net(prev),
                     "reach": round(float(g["reach"].get(this, 0.0)), 2), "reach_prev": round(float(g["reach"].get(prev, 0.0)), 2) if prev else 0.0})
    return pd.DataFrame(rows, columns=cols).sort_values(["brand_group", "mentions"], ascending=[True, False]).reset_index(drop=True)
