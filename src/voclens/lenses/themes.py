"""Themes read through the customer lenses: job, journey, intent, pain, emotion, impact,
POF/POP/POD, departments. The rules are written down in resources/goals/rules.md.

- pain score: share of a theme's segments that state a problem (pain_point = 1);
- impact = n x (neg + 0.5 x pain) x (1 + min(2, max(0, growth))), growth = relative change of
  the mean weekly volume in the latest 2 weeks against the 6 weeks before (0 without 8 weeks of
  dates); POD themes are ranked apart by n x pos;
- POF if pain >= 0.40 or net <= -0.20; else POD if net >= +0.30, pain < 0.15 and share >= 2%;
  else POP; themes under 10 segments are marked low evidence;
- departments: theme keywords matched against each department's keywords
  (resources/goals/departments.toml), ties and gaps filled by the journey stage it owns.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.lenses.emotion import EMOTIONS
from voclens.lenses.stages import LENS_SETS, document_lenses
from voclens.pipeline import RunContext

POF_PAIN, POF_NET, POD_NET, POD_PAIN, POD_SHARE, LOW_EVIDENCE = 0.40, -0.20, 0.30, 0.15, 0.02, 10
GROWTH_RECENT_WEEKS, GROWTH_BASE_WEEKS, GROWTH_CAP = 2, 6, 2.0


@functools.lru_cache(maxsize=1)
def departments() -> list[dict]:
    text = resources.files("voclens.resources").joinpath("goals").joinpath("departments.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["department"]


def route(keywords: list[str], stage: str, n: int = 2) -> list[str]:
    """Departments for a theme: keyword overlap first (earlier keywords weigh more), then the
    department that owns the theme's dominant journey stage."""
    scores: dict[str, float] = {}
    for rank, kw in enumerate(keywords):
        weight = 1.0 / (1 + rank)
        for d in departments():
            if any(kw == k or (len(k) >= 2 and (k in kw or kw in k)) for k in d["keywords"]):
                scores[d["name"]] = scores.get(d["name"], 0.0) + weight
    chosen = [d for d, _ in sorted(scores.items(), key=lambda x: -x[1])][:n]
    if len(chosen) < n:
        for d in departments():
            if stage in d.get("stages", []) and d["name"] not in chosen:
                chosen.append(d["name"])
                break
    return chosen


def pxp_tag(net: float, pain: float, share: float) -> str:
    if pain >= POF_PAIN or net <= POF_NET:
        return "POF"
    if net >= POD_NET and pain < POD_PAIN and share >= POD_SHARE:
        return "POD"
    return "POP"


def weekly_counts(seg: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """Theme x week segment counts, weeks counted back in 7-day steps from the latest date."""
    dates = docs.set_index("doc_id")["date"] if "date" in docs else pd.Series(dtype="datetime64[ns]")
    d = pd.to_datetime(seg["doc_id"].map(dates), errors="coerce")
    ok = d.notna().to_numpy() & (seg["theme_id"].to_numpy() >= 0)
    if not ok.any():
        return pd.DataFrame()
    latest = d[ok].max()
    week = ((latest - d[ok]).dt.days // 7).astype(int)  # 0 = latest week
    return pd.crosstab(seg.loc[ok, "theme_id"], week)


def growth(weekly: pd.DataFrame, theme_ids) -> pd.Series:
    out = pd.Series(0.0, index=list(theme_ids))
    if weekly.empty or weekly.columns.max() < GROWTH_RECENT_WEEKS + GROWTH_BASE_WEEKS - 1:
        return out
    for t in out.index:
        if t not in weekly.index:
            continue
        row = weekly.loc[t]
        r = row.reindex(range(GROWTH_RECENT_WEEKS), fill_value=0).mean()
        b = row.reindex(range(GROWTH_RECENT_WEEKS, GROWTH_RECENT_WEEKS + GROWTH_BASE_WEEKS), fill_value=0).mean()
        if row.reindex(range(GROWTH_RECENT_WEEKS + GROWTH_BASE_WEEKS), fill_value=0).sum() >= 5:
            out[t] = (r - b) / max(b, 1.0)
    return out


class LensSummaryStage:
    """Documents and themes get the lens fields; themes get impact, POF/POP/POD and departments."""

    name = "lens_summary"
    requires = ("segments.job_type", "segments.theme_id", "themes.net_sentiment")
    assigns = ("documents.job_type", "documents.pain_point", "themes.pain_score", "themes.impact_rank", "themes.pxp")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        seg, docs, themes = corpus.segments, corpus.documents, corpus.themes
        dl = document_lenses(seg, docs).reindex(docs["doc_id"])
        corpus.documents = docs.assign(
            job_type=dl["job_type"].fillna("none").to_numpy(), journey_stage=dl["journey_stage"].fillna("none").to_numpy(),
            intent=dl["intent"].fillna("other").to_numpy(), pain_point=dl["pain_point"].fillna(0).astype(np.int8).to_numpy(),
            emotion=dl["emotion"].fillna("").to_numpy(),
        )
        corpus.themes = theme_lenses(seg, corpus.documents, themes, corpus.meta.get("history_weekly"))
        return corpus


def weekly_by_uid(seg: pd.DataFrame, docs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Theme uid x week-back counts: this run's weeks, and the stored weeks it does not cover."""
    from voclens.store.store import iso_week
    from voclens.trends.weekly import week_index

    week = seg["doc_id"].map(dict(zip(docs["doc_id"], iso_week(docs["date"]))))
    run = pd.DataFrame({"theme_uid": seg["theme_uid"], "week": week}).dropna()
    run = run.groupby(["theme_uid", "week"]).size().rename("n").reset_index()
    old = history[~history["week"].isin(set(run["week"]))][["theme_uid", "week", "n_segments"]].rename(columns={"n_segments": "n"})
    both = pd.concat([run, old], ignore_index=True)
    if both.empty:
        return pd.DataFrame()
    idx = week_index(both["week"])
    both["back"] = both["week"].map(idx)
    return both.pivot_table(index="theme_uid", columns="back", values="n", aggfunc="sum", fill_value=0)


def theme_lenses(seg: pd.DataFrame, docs: pd.DataFrame, themes: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    if themes.empty:
        cols = ["dominant_job", "dominant_job_share", "dominant_stage", "pain_score", "impact", "impact_rank", "pxp", "departments"]
        return themes.assign(**{c: pd.Series(dtype=object) for c in cols})
    used = ["theme_id", "job_type", "journey_stage", "intent", "pain_point", *(f"emo_{e}" for e in EMOTIONS)]
    a = seg.loc[seg["theme_id"].to_numpy() >= 0, [c for c in used if c in seg]]  # not a copy of every column
    ids = themes["theme_id"].to_numpy()
    rows: dict[str, list] = {k: [] for k in ("dominant_job", "dominant_job_share", "dominant_stage", "stage_mix", "intent_mix",
                                             "pain_score", "emotions", "top_emotion")}
    for t in ids:
        s = a[a["theme_id"] == t]
        jobs = s["job_type"].value_counts(normalize=True)
        jobs_wo_none = jobs.drop("none", errors="ignore")
        top_job = jobs_wo_none.index[0] if len(jobs_wo_none) else "none"
        rows["dominant_job"].append(top_job)
        rows["dominant_job_share"].append(round(float(jobs.get(top_job, 0.0)), 4))
        stages = s["journey_stage"].value_counts(normalize=True)
        st_wo_none = stages.drop("none", errors="ignore")
        rows["dominant_stage"].append(st_wo_none.index[0] if len(st_wo_none) else "none")
        rows["stage_mix"].append({k: round(float(stages.get(k, 0.0)), 4) for k in LENS_SETS["journey_stage"]})
        intents = s["intent"].value_counts(normalize=True)
        rows["intent_mix"].append({k: round(float(intents.get(k, 0.0)), 4) for k in LENS_SETS["intent"]})
        rows["pain_score"].append(round(float(s["pain_point"].mean()) if len(s) else 0.0, 4))
        emo = {e: round(float(s[f"emo_{e}"].mean()), 4) for e in EMOTIONS} if len(s) else {e: 0.0 for e in EMOTIONS}
        rows["emotions"].append(emo)
        rows["top_emotion"].append(max(emo, key=emo.get) if any(emo.values()) else "")
    out = themes.assign(**rows)
    if history is not None and len(history) and "theme_uid" in themes and "theme_uid" in seg and "date" in docs:
        g = growth(weekly_by_uid(seg, docs, history), themes["theme_uid"]).set_axis(ids)  # earlier weeks come from the store
    else:
        g = growth(weekly_counts(seg, docs), ids)
    neg = (out["negative"] + 0.5 * out["mixed"]).to_numpy()
    pos = (out["positive"] + 0.5 * out["mixed"]).to_numpy()
    n = out["size"].to_numpy(dtype=float)
    # capped at +200%: with a near-empty baseline the relative change says nothing more
    out["growth"] = np.clip(g.reindex(ids).to_numpy(), -1.0, GROWTH_CAP).round(4)
    out["impact"] = (n * (neg + 0.5 * out["pain_score"].to_numpy()) * (1 + np.clip(out["growth"].to_numpy(), 0, GROWTH_CAP))).round(3)
    out["pxp"] = [pxp_tag(net, pain, share) for net, pain, share in zip(out["net_sentiment"], out["pain_score"], out["share"])]
    out["low_evidence"] = out["size"] < LOW_EVIDENCE
    # problems ranked by impact; strengths (POD) apart, by volume x positivity
    problem = out["pxp"] != "POD"
    order = np.lexsort((-n, -out["impact"].to_numpy()))
    rank = np.zeros(len(out), dtype=np.int64)
    r = 1
    for i in order:
        if problem.iat[i]:
            rank[i] = r
            r += 1
    pod_order = np.lexsort((-n, -(n * pos)))
    for i in pod_order:
        if not problem.iat[i]:
            rank[i] = r
            r += 1
    out["impact_rank"] = rank
    out["departments"] = [route(list(kw), st) for kw, st in zip(out["keywords"], out["dominant_stage"])]
    return out
