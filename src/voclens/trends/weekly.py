"""Week-over-week change per theme, with significance, and emerging / fading themes.

Read from the store's weekly aggregates (``Store.weekly()``): a few numbers per theme and week.

Tests (two-sided, α = 0.05 for the arrows):
- volume and share: a theme's segments this week (x1) and last week (x0) are compared given the
  total segments of each week (T1, T0): under "no change in share", x1 ~ Binomial(x0 + x1,
  T1 / (T0 + T1)) — the conditional test for two Poisson rates, so a busier week alone raises
  nothing;
- net sentiment: the negative share inside the theme, this week against last week, by a
  two-proportion z-test.
Emerging: first seen in the last two weeks with at least ``min_count`` segments, or its share
of the last two weeks is significantly above the six weeks before and at least 1.5 times it —
in both cases unless its share fell significantly this week.
Fading: significantly below and at most 2/3 of it, or absent in the last two weeks after being
present in the six before.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy.stats import binomtest, norm

ALPHA = 0.05
RECENT, BASELINE = 2, 6


def week_start(week: str) -> pd.Timestamp:
    year, w = week.split("-W")
    return pd.Timestamp.fromisocalendar(int(year), int(w), 1)


def week_index(weeks) -> dict[str, int]:
    """Weeks counted back from the latest: {'2026-W47': 0, '2026-W46': 1, ...} (gaps kept)."""
    weeks = [w for w in dict.fromkeys(weeks) if w]
    if not weeks:
        return {}
    latest = max(week_start(w) for w in weeks)
    return {w: int((latest - week_start(w)).days // 7) for w in weeks}


def rate_test(x1: float, t1: float, x0: float, t0: float) -> float:
    """p-value that x1/t1 and x0/t0 are the same rate (conditional binomial test)."""
    n = int(round(x0 + x1))
    if n == 0 or t0 <= 0 or t1 <= 0:
        return 1.0
    return float(binomtest(int(round(x1)), n, t1 / (t0 + t1)).pvalue)


def proportion_test(k1: float, n1: float, k0: float, n0: float) -> float:
    """Two-sided two-proportion z-test p-value (1.0 when a side is empty)."""
    if n1 <= 0 or n0 <= 0:
        return 1.0
    p = (k1 + k0) / (n1 + n0)
    se = math.sqrt(max(p * (1 - p) * (1 / n1 + 1 / n0), 1e-12))
    return float(2 * norm.sf(abs(k1 / n1 - k0 / n0) / se))


def _arrow(delta: float, p: float) -> str:
    if p >= ALPHA or delta == 0:
        return "→"
    return "↑" if delta > 0 else "↓"


def changes(weekly: pd.DataFrame, week: str | None = None, min_count: int = 5) -> pd.DataFrame:
    """One row per theme seen in the latest two weeks or the six before: this week vs last week
    (volume, share, net sentiment, pain) with arrows and p-values, and a status."""
    cols = ["theme_uid", "label", "week", "n", "n_prev", "share", "share_prev", "share_change", "p_share", "arrow",
            "net", "net_prev", "p_net", "arrow_net", "pain", "pain_prev", "recent_share", "baseline_share", "p_trend", "status"]
    if weekly is None or weekly.empty:
        return pd.DataFrame(columns=cols)
    w = weekly[weekly["theme_uid"] != "unassigned"].copy()
    totals = weekly.groupby("week")["total_segments"].max()
    idx = week_index(totals.index)
    if week is not None and week in idx:
        shift = idx[week]
        idx = {k: v - shift for k, v in idx.items()}
    this = next((k for k, v in idx.items() if v == 0), None)
    prev = next((k for k, v in idx.items() if v == 1), None)
    recent_weeks = [k for k, v in idx.items() if 0 <= v < RECENT]
    base_weeks = [k for k, v in idx.items() if RECENT <= v < RECENT + BASELINE]
    t_recent, t_base = totals.reindex(recent_weeks).sum(), totals.reindex(base_weeks).sum()
    t_this = float(totals.get(this, 0)) if this else 0.0
    t_prev = float(totals.get(prev, 0)) if prev else 0.0
    rows = []
    for uid, g in w.groupby("theme_uid"):
        g = g.set_index("week")
        get = lambda col, wk: float(g[col].get(wk, 0.0)) if wk else 0.0  # noqa: E731
        n1, n0 = get("n_segments", this), get("n_segments", prev)
        neg1, neg0 = get("n_negative", this), get("n_negative", prev)
        pos1, pos0 = get("n_positive", this), get("n_positive", prev)
        r = g["n_segments"].reindex(recent_weeks).fillna(0).sum()
        b = g["n_segments"].reindex(base_weeks).fillna(0).sum()
        if r == 0 and b == 0:
            continue
        p_share = rate_test(n1, t_this, n0, t_prev)
        share1 = n1 / t_this if t_this else 0.0
        share0 = n0 / t_prev if t_prev else 0.0
        p_net = proportion_test(neg1, n1, neg0, n0)
        rs = r / t_recent if t_recent else 0.0
        bs = b / t_base if t_base else 0.0
        p_trend = rate_test(r, t_recent, b, t_base) if t_base else 1.0
        first_seen = min(idx.get(wk, 99) for wk in g.index)
        falling = p_share < ALPHA and share1 < share0  # significantly down this week: not emerging
        if first_seen < RECENT and b == 0 and r >= min_count and not falling:
            status = "emerging"
        elif t_base and p_trend < ALPHA and rs >= 1.5 * max(bs, 1e-9) and r >= min_count and not falling:
            status = "emerging"
        elif t_base and ((p_trend < ALPHA and rs <= bs * 2 / 3) or (r == 0 and b >= min_count)):
            status = "fading"
        else:
            status = "steady"
        rows.append({
            "theme_uid": uid, "label": g["label"].iloc[-1], "week": this, "n": int(n1), "n_prev": int(n0),
            "share": round(share1, 4), "share_prev": round(share0, 4), "share_change": round(share1 - share0, 4),
            "p_share": round(p_share, 4), "arrow": _arrow(share1 - share0, p_share),
            "net": round((pos1 - neg1) / n1, 3) if n1 else None, "net_prev": round((pos0 - neg0) / n0, 3) if n0 else None,
            "p_net": round(p_net, 4), "arrow_net": _arrow((neg0 / n0 if n0 else 0) - (neg1 / n1 if n1 else 0), p_net),
            "pain": round(get("n_pain", this) / n1, 3) if n1 else None, "pain_prev": round(get("n_pain", prev) / n0, 3) if n0 else None,
            "recent_share": round(rs, 4), "baseline_share": round(bs, 4), "p_trend": round(p_trend, 4), "status": status,
        })
    out = pd.DataFrame(rows, columns=cols)
    order = {"emerging": 0, "fading": 1, "steady": 2}
    return out.sort_values(["status", "n"], key=lambda s: s.map(order) if s.name == "status" else -s).reset_index(drop=True)


def history_table(weekly: pd.DataFrame, weeks: int = 12) -> pd.DataFrame:
    """Themes x the latest ``weeks`` weeks: segment counts (for `voclens history`)."""
    if weekly is None or weekly.empty:
        return pd.DataFrame()
    w = weekly[weekly["theme_uid"] != "unassigned"]
    idx = week_index(w["week"])
    keep = sorted((k for k, v in idx.items() if v < weeks), key=week_start)
    table = w[w["week"].isin(keep)].pivot_table(index=["theme_uid", "label"], columns="week", values="n_segments",
                                               aggfunc="sum", fill_value=0)
    table = table.reindex(columns=keep, fill_value=0)
    return table.loc[table.sum(axis=1).sort_values(ascending=False).index]


def proxy_series(weekly: pd.DataFrame, theme_uid: str, proxy: str) -> list[tuple[str, float]]:
    """A goal's VOC proxy per week for one theme (pain/negative/complaint share, in %)."""
    col = {"pain_share": "n_pain", "negative_share": "n_negative", "complaint_share": "n_complaint"}.get(proxy)
    if weekly is None or weekly.empty or col is None:
        return []
    g = weekly[weekly["theme_uid"] == theme_uid].sort_values("week", key=lambda s: s.map(week_start))
    return [(wk, round(100 * float(v) / float(n), 1)) for wk, v, n in zip(g["week"], g[col], g["n_segments"]) if n]

