"""Propose goals: 顧客課題/ニーズ | 目指す顧客成果 | 目標指標 | 現状値 | 目標値 | 関連部門 | 必要な施策.

Everything a goal is made of is data (resources/goals: KPI catalogue, departments, action and
outcome templates) and every number follows a rule written in resources/goals/rules.md:
- the KPI is the catalogue entry that serves the theme's journey stage and job type, preferring
  the owner department and a KPI whose current value can be read from the feedback (VOC proxy);
- the current value is that proxy computed on the theme's segments, labelled as a VOC estimate,
  or stated plainly as not measurable from VOC;
- the target follows the proxy's better direction and the theme's POF/POP/POD tag;
- the trend compares the proxy in the latest two weeks with the six weeks before.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.pipeline import RunContext

STAGE_JA = {"awareness": "認知", "consideration": "検討", "purchase": "購入", "use": "利用", "support": "サポート",
            "loyalty": "リピート・推奨", "none": "—"}
JOB_JA = {"functional": "機能的", "emotional": "感情的", "social": "社会的", "none": "—"}
PROXY_BETTER = {"complaint_share": "down", "negative_share": "down", "pain_share": "down", "mean_rating": "up", "promoter_share": "up"}
PROXY_JA = {"complaint_share": "苦情の割合", "negative_share": "否定的な声の割合", "pain_share": "困りごとの割合",
            "mean_rating": "平均評価", "promoter_share": "推奨者（最高評価）の割合"}
# which proxy tells most about a theme of each tag
PROXY_PREFERENCE = {"POF": ("pain_share", "complaint_share", "negative_share"), "POP": ("negative_share", "pain_share", "complaint_share"),
                    "POD": ("promoter_share", "mean_rating", "negative_share")}
WHEN = {"POF": "pain", "POP": "parity", "POD": "strength"}
GOAL_COLUMNS = ["theme_id", "theme", "pxp", "stage", "job_type", "customer_need", "outcome", "kpi", "kpi_id", "kpi_unit",
                "proxy", "current", "current_value", "target", "target_value", "better", "trend", "horizon", "departments",
                "actions", "impact_rank"]


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    folder = resources.files("voclens.resources").joinpath("goals")
    load = lambda name: tomllib.loads(folder.joinpath(name).read_text(encoding="utf-8"))  # noqa: E731
    return {"kpis": load("kpis.toml")["kpi"], "actions": load("actions.toml"), "departments": load("departments.toml")["department"]}


@functools.lru_cache(maxsize=512)
def _nouns(text: str) -> frozenset[str]:
    from voclens.text.tokenize import noun_terms, tokenize

    return frozenset(noun_terms(tokenize(text)))


def choose_kpi(stage: str, job: str, pxp: str, depts: list[str], has_rating: bool, keywords: list[str] = ()) -> dict:
    """Best catalogue KPI: serves the stage; its name or definition speaks of the theme's words
    (エラー率 for 決済エラー, 配送遅延率 for 配送); its proxy can be computed (rating proxies need a
    rating column); then the owner department, the job type, and the proxy that fits the tag."""
    usable = lambda p: p != "none" and (has_rating or p not in ("mean_rating", "promoter_share"))  # noqa: E731
    prefs = PROXY_PREFERENCE[pxp]
    theme_nouns = frozenset().union(*(_nouns(k) for k in keywords[:8])) if keywords else frozenset()

    def score(k: dict) -> tuple:
        proxy = k.get("voc_proxy", "none")
        owners = k.get("departments", [])
        return (
            stage in k.get("stages", []),
            usable(proxy),
            len(theme_nouns & (_nouns(k["name"]) | _nouns(k.get("definition", "")))),
            bool(depts) and bool(owners) and owners[0] in depts[:1],  # owned by the theme's first department
            bool(set(depts) & set(owners)),
            job in k.get("job_types", []),
            -prefs.index(proxy) if proxy in prefs else -9,
        )

    return max(_data()["kpis"], key=score)  # max keeps the first of equals: catalogue order


def proxy_value(proxy: str, seg: pd.DataFrame, docs: pd.DataFrame, scale: pd.Series) -> float | None:
    if len(seg) == 0:
        return None
    if proxy == "complaint_share":
        return float((seg["intent"] == "complaint").mean() * 100)
    if proxy == "negative_share":
        return float(((seg["sentiment"] == "negative") + 0.5 * (seg["sentiment"] == "mixed")).mean() * 100)
    if proxy == "pain_share":
        return float(seg["pain_point"].mean() * 100)
    if proxy in ("mean_rating", "promoter_share"):
        d = docs[docs["doc_id"].isin(seg["doc_id"]) & docs["rating"].notna()]
        if d.empty:
            return None
        if proxy == "mean_rating":
            return float(d["rating"].mean())
        top = np.where(scale.reindex(d["doc_id"]).to_numpy() > 5, d["rating"].to_numpy() >= 9, d["rating"].to_numpy() >= 5)
        return float(top.mean() * 100)
    return None


def target_value(current: float, proxy: str, pxp: str, scale_max: float = 5.0) -> tuple[float, str]:
    """(target, rule) per rules.md (b): halve a bad share, close half the gap of a good one;
    POP holds; POD improves good measures within a year and holds bad shares."""
    better = PROXY_BETTER[proxy]
    if pxp == "POP" or (pxp == "POD" and better == "down"):
        return current, "維持（悪化させない）"
    if proxy == "mean_rating":
        return round(current + (scale_max - current) * 0.5, 1), "尺度上限との差を半減"
    if better == "down":
        if current <= 1:
            return current, "維持（すでに1%以下）"
        return max(1.0, round(current * 0.5)), "半減"
    if current >= 95:
        return current, "維持（すでに95%以上）"
    return min(95.0, round(current + (100 - current) * 0.5)), "100%との差を半減"


def horizon(kpi: dict, pxp: str) -> str:
    depts, stages = kpi.get("departments", []), kpi.get("stages", [])
    if depts and depts[0] == "人事/教育":
        return "超長期（数年〜）"
    if pxp == "POD" or stages == ["loyalty"] or ("loyalty" in stages and kpi.get("voc_proxy") == "none"):
        return "長期（1年以内）"
    return "中期（6ヶ月以内）" + ("・3ヶ月で中間確認" if pxp == "POF" else "")


def pick_actions(stage: str, job: str, pxp: str, theme: str, n: int = 2, keywords: list[str] = (), depts: list[str] = ()) -> list[str]:
    """Actions for the theme's stage and tag, the ones that speak of what the theme is about
    (its keywords, its departments' vocabulary) first; job type breaks ties."""
    acts = _data()["actions"].get("action", [])
    when = WHEN[pxp]
    vocab = [k for d in _data()["departments"] if d["name"] in depts for k in d.get("keywords", []) if len(k) >= 2]

    def score(a: dict) -> tuple:
        text = a["text"]
        return (
            a["stage"] == stage,
            2 * sum(k in text for k in keywords[:5] if len(k) >= 2) + sum(k in text for k in vocab),
            a["job_type"] == job,
            a["job_type"] == "any",
        )

    pool = [a for a in acts if a["when"] == when and a["job_type"] in (job, "any")]
    chosen = sorted(pool, key=score, reverse=True)[:n]  # sorted is stable: file order breaks ties
    return [a["text"].replace("{theme}", f"「{theme}」") for a in chosen]


def outcome(stage: str, job: str, theme: str) -> str:
    outs = _data()["actions"].get("outcome", [])
    for o in outs:
        if o["stage"] == stage and o["job_type"] == job:
            return o["text"].replace("{theme}", f"「{theme}」")
    for o in outs:
        if o["stage"] == stage:
            return o["text"].replace("{theme}", f"「{theme}」")
    return f"「{theme}」について顧客が期待どおりの体験を得られる"


def _trend(proxy: str, seg: pd.DataFrame, docs: pd.DataFrame, scale: pd.Series) -> str:
    """↑/↓/→ of the proxy: latest 2 weeks against the 6 before (needs dates); '' without."""
    if "date" not in docs or docs["date"].isna().all():
        return ""
    dates = pd.to_datetime(seg["doc_id"].map(docs.set_index("doc_id")["date"]), errors="coerce")
    if dates.notna().sum() < 10:
        return ""
    age = (dates.max() - dates).dt.days // 7
    recent, base = seg[age < 2], seg[(age >= 2) & (age < 8)]
    r, b = proxy_value(proxy, recent, docs, scale), proxy_value(proxy, base, docs, scale)
    if r is None or b is None or len(recent) < 3 or len(base) < 3:
        return ""
    diff = r - b
    tol = 0.1 if proxy == "mean_rating" else 3.0
    return "→" if abs(diff) < tol else ("↑" if diff > 0 else "↓")


def _voice(seg: pd.DataFrame, pxp: str) -> str:
    """The quote that voices the theme's point: its clearest problem, or for a strength its
    clearest praise; central members (theme similarity) preferred."""
    if seg.empty:
        return ""
    strength = seg["p_positive"] if pxp == "POD" else seg["pain_p"] + seg["p_negative"]
    score = strength.to_numpy() + seg["theme_similarity"].to_numpy() - 0.3 * (seg["text"].str.len().to_numpy() < 8)
    return str(seg["text"].iloc[int(np.argmax(score))])


def _fmt(value: float | None, proxy: str) -> str:
    if value is None:
        return "要測定（VOCでは測れない）"
    return f"{value:.1f}" if proxy == "mean_rating" else f"{value:.0f}%"


def propose_goals(corpus: Corpus, top: int = 5) -> pd.DataFrame:
    themes, seg, docs = corpus.themes, corpus.segments, corpus.documents
    if themes.empty or top <= 0 or "impact_rank" not in themes:
        return pd.DataFrame(columns=GOAL_COLUMNS)
    has_rating = "rating" in docs and docs["rating"].notna().any()
    scale = docs.groupby("source")["rating"].transform("max").set_axis(docs["doc_id"]) if has_rating else pd.Series(dtype=float)
    rows = []
    # problems first (by impact), then the leading strengths, as seed 000 asks for both
    chosen = themes.sort_values("impact_rank")
    picks = list(chosen[chosen["pxp"] != "POD"].head(top).itertuples()) + list(chosen[chosen["pxp"] == "POD"].head(max(1, top // 3)).itertuples())
    # the columns the proxies and quotes read: a theme's rows with every column were a copy of a
    # big slice of the (largest) table per goal
    used = ["theme_id", "doc_id", "intent", "sentiment", "pain_point", "p_positive", "p_negative", "pain_p", "theme_similarity", "text"]
    seg = seg[[c for c in used if c in seg]]
    theme_ids = seg["theme_id"].to_numpy()
    for t in picks:
        s = seg[theme_ids == t.theme_id]
        stage, job, pxp = t.dominant_stage, t.dominant_job, t.pxp
        depts = list(t.departments)
        kpi = choose_kpi(stage, job, pxp, depts, has_rating, list(t.keywords))
        proxy = kpi.get("voc_proxy", "none")
        current = proxy_value(proxy, s, docs, scale) if proxy in PROXY_BETTER else None
        if current is not None:
            smax = 10.0 if proxy == "mean_rating" and scale.reindex(s["doc_id"]).max() > 5 else 5.0
            tgt, rule = target_value(current, proxy, pxp, smax)
            target = f"{_fmt(tgt, proxy)}（{rule}）"
        else:
            tgt, target = None, "現状値を測定後に設定（問題テーマは半減、強みは差の半分を改善）"
        quote = _voice(s, pxp)
        need = f"{STAGE_JA.get(stage, stage)}段階・{JOB_JA.get(job, job)}ジョブ: 「{t.label}」" + (f" — 例「{quote[:60]}」" if quote else "")
        rows.append({
            "theme_id": int(t.theme_id), "theme": t.label, "pxp": pxp, "stage": stage, "job_type": job,
            "customer_need": need, "outcome": outcome(stage, job, t.label),
            "kpi": kpi["name"], "kpi_id": kpi["id"], "kpi_unit": kpi.get("unit", ""),
            "proxy": PROXY_JA.get(proxy, "なし"),
            "current": (f"{_fmt(current, proxy)}（VOC推定: {PROXY_JA[proxy]}）" if current is not None else _fmt(None, proxy)),
            "current_value": current, "target": target, "target_value": tgt,
            "better": "↓" if PROXY_BETTER.get(proxy) == "down" else "↑" if proxy in PROXY_BETTER else ("↓" if kpi.get("direction") == "down" else "↑"),
            "trend": _trend(proxy, s, docs, scale) if proxy in PROXY_BETTER else "",
            "horizon": horizon(kpi, pxp), "departments": depts,
            "actions": pick_actions(stage, job, pxp, t.label, keywords=list(t.keywords), depts=depts),
            "impact_rank": int(t.impact_rank),
        })
    return pd.DataFrame(rows, columns=GOAL_COLUMNS)


class GoalStage:
    """Themes -> proposed goals (``corpus.goals``) for the top themes by impact, plus strengths."""

    name = "goals"
    requires = ("themes.impact_rank", "themes.pxp", "segments.intent")
    assigns = ("goals.kpi", "goals.current", "goals.target")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        corpus.goals = propose_goals(corpus, ctx.settings.lenses.top_goals)
        return corpus
