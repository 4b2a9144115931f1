"""Watchlists: the brands a team follows and the alert terms that must never go unnoticed.

One TOML file (``--watchlist FILE``) may hold both; alert terms also ship with voclens
(``resources/social/watch_terms.toml``) and the user's terms are added to them (a term of the
same name replaces the shipped one) unless ``social.default_terms = false``::

    [[brand]]
    name = "モグモグマート"          # what the report calls it
    group = "ネットスーパー"         # share of voice is computed within a group (you and your competitors)
    role = "own"                    # own / competitor / product
    variants = ["モグモグマート", "Mogumogu Mart", "モグマ"]

    [[term]]
    name = "異物混入"
    variants = ["異物混入", "虫が入って"]
    exclude = []                    # phrases around a hit that cancel it
    alert = "any"                   # any / first / spike (see watch_terms.toml)
    severity = "high"

Alerts have the shape of the weekly spike alerts (``voclens.trends.alerts``), so they share
alerts.json, the store's alerts table and the webhook.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pandas as pd
from scipy.stats import poisson

from voclens.config import read_toml
from voclens.errors import ConfigError
from voclens.social.fold import Entry, Matcher, fold
from voclens.social.sns import explode_lists

ROLES = ("own", "competitor", "product")
ALERT_RULES = ("any", "first", "spike")
SEVERITIES = ("high", "medium", "low")
# the same α and minimum counts as the theme spike alerts (voclens.trends.alerts.SENSITIVITY)
SPIKE = {"high": (0.05, 3), "medium": (0.01, 5), "low": (0.001, 10)}
RATIO = 1.5


@dataclass(frozen=True)
class Watchlist:
    brands: tuple[Entry, ...]
    terms: tuple[Entry, ...]

    @functools.cached_property
    def brand_matcher(self) -> Matcher:
        return Matcher(list(self.brands))

    @functools.cached_property
    def term_matcher(self) -> Matcher:
        return Matcher(list(self.terms))

    def brand_info(self) -> pd.DataFrame:
        """One row per brand: name, group, role (the order of the file)."""
        return pd.DataFrame([{"brand": b.name, **b.info} for b in self.brands], columns=["brand", "group", "role"])

    def term_info(self) -> dict[str, dict]:
        return {t.name: t.info for t in self.terms}


def _entries(rows, kind: str, source: str) -> list[Entry]:
    if not isinstance(rows, list):
        raise ConfigError(f"{source}: '{kind}' must be a list of tables ([[{kind}]]). Write each {kind} as a [[{kind}]] table.")
    out, seen = [], set()
    for i, r in enumerate(rows, 1):
        where = f"{source}: [[{kind}]] #{i}"
        name = str(r.get("name", "")).strip() if isinstance(r, dict) else ""
        if not name:
            raise ConfigError(f"{where} has no name. Give every {kind} a name = \"...\".")
        if name in seen:
            raise ConfigError(f"{where}: '{name}' is listed twice. Merge its variants into one [[{kind}]].")
        seen.add(name)
        variants = r.get("variants", [])
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise ConfigError(f"{where} ('{name}'): variants must be a list of strings.")
        variants = list(dict.fromkeys([name, *variants]))
        short = [v for v in variants if len(fold(v)) < 2]
        if short:
            raise ConfigError(f"{where} ('{name}'): variant(s) {short} are shorter than two characters once folded and would "
                              "match almost anything. Use a longer spelling.")
        if kind == "brand":
            role = r.get("role", "competitor")
            if role not in ROLES:
                raise ConfigError(f"{where} ('{name}'): role must be one of {', '.join(ROLES)}, got {role!r}.")
            info = {"group": str(r.get("group") or ("商品" if role == "product" else "ブランド")), "role": role}
        else:
            alert, severity = r.get("alert", "spike"), r.get("severity", "medium")
            if alert not in ALERT_RULES:
                raise ConfigError(f"{where} ('{name}'): alert must be one of {', '.join(ALERT_RULES)}, got {alert!r}.")
            if severity not in SEVERITIES:
                raise ConfigError(f"{where} ('{name}'): severity must be one of {', '.join(SEVERITIES)}, got {severity!r}.")
            info = {"alert": alert, "severity": severity, "min_count": int(r.get("min_count", 1))}
        out.append(Entry(name, tuple(variants), tuple(r.get("exclude", []) or ()), info))
    return out


@functools.lru_cache(maxsize=1)
def default_terms() -> tuple[Entry, ...]:
    raw = resources.files("voclens.resources").joinpath("social").joinpath("watch_terms.toml").read_text(encoding="utf-8")
    return tuple(_entries(tomllib.loads(raw).get("term", []), "term", "watch_terms.toml"))


@functools.lru_cache(maxsize=8)
def _load(path: str | None, mtime: float, use_defaults: bool) -> Watchlist:
    data = read_toml(path, "--watchlist", "Fix the file (format: voclens.social.watchlist).") if path else {}
    unknown = set(data) - {"brand", "term"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}. A watchlist holds [[brand]] and [[term]] tables.")
    brands = _entries(data.get("brand", []), "brand", str(path))
    mine = _entries(data.get("term", []), "term", str(path))
    names = {t.name for t in mine}
    terms = [t for t in default_terms() if t.name not in names] if use_defaults else []
    return Watchlist(tuple(brands), tuple(terms + mine))


def load_watchlist(path: str | Path | None = None, default_terms: bool = True) -> Watchlist:
    """The brands and terms of ``path`` (None: the shipped terms only), cached per file version."""
    mtime = Path(path).stat().st_mtime if path and Path(path).is_file() else 0.0
    return _load(str(path) if path else None, mtime, default_terms)


# -- hits and alerts ---------------------------------------------------------------------------
def hit_table(seg: pd.DataFrame, docs: pd.DataFrame, watch: Watchlist, n_quotes: int = 3) -> pd.DataFrame:
    """Per term with a hit: segments, documents, reach and a few example quotes (masked text)."""
    cols = ["term", "severity", "alert", "n_segments", "n_documents", "reach", "negative_share", "quotes"]
    if "watch_terms" not in seg or not len(seg):
        return pd.DataFrame(columns=cols)
    ex = explode_lists(seg[["seg_id", "doc_id", "text", "watch_terms", *(["sentiment"] if "sentiment" in seg else [])]], "watch_terms")
    if ex.empty:
        return pd.DataFrame(columns=cols)
    reach = docs.set_index("doc_id")["reach"] if "reach" in docs else pd.Series(1.0, index=docs["doc_id"])
    ex = ex.assign(reach=ex["doc_id"].map(reach).fillna(1.0).to_numpy())
    if "sentiment" in ex:  # negative quotes first: they are what the alert is about
        ex = ex.assign(_neg=(ex["sentiment"] == "negative").astype(int)).sort_values(["_neg", "reach"], ascending=False)
    info = watch.term_info()
    rows = []
    for term, g in ex.groupby("watch_terms", sort=False):
        first = g.drop_duplicates("doc_id")
        rows.append({
            "term": term, "severity": info.get(term, {}).get("severity", "medium"), "alert": info.get(term, {}).get("alert", "spike"),
            "n_segments": len(g), "n_documents": int(g["doc_id"].nunique()), "reach": round(float(first["reach"].sum()), 2),
            "negative_share": round(float((g.get("sentiment") == "negative").mean()), 4) if "sentiment" in g else None,
            "quotes": first["text"].head(n_quotes).tolist(),
        })
    out = pd.DataFrame(rows, columns=cols)
    rank = out["severity"].map({"high": 0, "medium": 1, "low": 2})
    return out.assign(_r=rank).sort_values(["_r", "n_documents"], ascending=[True, False]).drop(columns="_r").reset_index(drop=True)


def watch_weekly_rows(seg: pd.DataFrame, docs: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """Per term and ISO week: segments and documents mentioning it, and the week's total segments."""
    from voclens.store.store import iso_week

    cols = ["period", "term", "week", "n_segments", "n_documents", "total_segments"]
    if "watch_terms" not in seg or "date" not in docs or docs["date"].isna().all():
        return pd.DataFrame(columns=cols)
    week = seg["doc_id"].map(dict(zip(docs["doc_id"], iso_week(docs["date"]))))
    base = pd.DataFrame({"week": week, "doc_id": seg["doc_id"], "term": seg["watch_terms"]})[week.notna().to_numpy()]
    totals = base.groupby("week").size().rename("total_segments")
    ex = explode_lists(base, "term")
    if ex.empty:
        return pd.DataFrame(columns=cols)
    agg = ex.groupby(["term", "week"]).agg(n_segments=("doc_id", "size"), n_documents=("doc_id", "nunique")).reset_index()
    agg = agg.join(totals, on="week")
    agg.insert(0, "period", period)
    return agg[cols]


def watch_alerts(weekly: pd.DataFrame, watch: Watchlist, hits: pd.DataFrame | None = None, *, week: str | None = None,
                 sensitivity: str = "medium", baseline_weeks: int = 8, totals: pd.Series | None = None) -> list[dict]:
    """Alerts for the latest week (or ``week``) of ``weekly`` (term x week counts).

    ``any``: the term is mentioned this week (at least its min_count documents). ``first``: it is
    mentioned and the baseline weeks hold none of it. Every term: a spike, its segments this
    week against its baseline rate × this week's total segments (one-sided Poisson test, the
    sensitivity's α and minimum count, at least 1.5 × expected), as the theme spike alerts.
    ``totals`` (week -> all segments) may come from the theme aggregates when a week has no term.
    """
    from voclens.trends.weekly import week_index

    if weekly is None or weekly.empty or sensitivity not in SPIKE:
        return []
    alpha, min_spike = SPIKE[sensitivity]
    idx = week_index(weekly["week"].tolist() + (list(totals.index) if totals is not None else []))
    if week is not None and week in idx:
        shift = idx[week]
        idx = {k: v - shift for k, v in idx.items()}
    this = next((k for k, v in idx.items() if v == 0), None)
    if this is None:
        return []
    base = [k for k, v in idx.items() if 1 <= v <= baseline_weeks]
    tot = weekly.groupby("week")["total_segments"].max()
    if totals is not None:
        tot = tot.combine(totals, max, fill_value=0) if len(tot) else totals
    t_this, t_base = float(tot.get(this, 0)), float(tot.reindex(base).fillna(0).sum())
    info = watch.term_info()
    quotes = {r["term"]: r["quotes"] for r in hits.to_dict("records")} if hits is not None and len(hits) else {}
    alerts = []
    for term, g in weekly.groupby("term"):
        if term not in info:
            continue
        rule, sev, min_count = info[term]["alert"], info[term]["severity"], info[term]["min_count"]
        g = g.set_index("week")
        x, docs_x = float(g["n_segments"].get(this, 0)), float(g["n_documents"].get(this, 0))
        if x == 0:
            continue
        x_b = float(g["n_segments"].reindex(base).fillna(0).sum())
        example = next(iter(quotes.get(term, [])), "")
        tail = f"（例:「{example[:60]}」）" if example else ""
        expected = x_b / t_base * t_this if t_base else 0.0
        p = float(poisson.sf(x - 1, max(expected, 0.5)))
        if len(base) >= 2 and x >= min_spike and p < alpha and x >= RATIO * expected:
            alerts.append(_alert(this, term, "watch_term_spike", sensitivity, x, expected, p,
                                 f"監視語「{term}」が急増: 今週 {x:.0f} 件（平常時の予測 {expected:.1f} 件, p={p:.2g}）{tail}", sev))
        elif rule == "any" and docs_x >= min_count:
            alerts.append(_alert(this, term, "watch_term", sensitivity, x, expected, None,
                                 f"監視語「{term}」が今週 {docs_x:.0f} 件の投稿・声に出現{tail}", sev))
        elif rule == "first" and docs_x >= min_count and x_b == 0:
            alerts.append(_alert(this, term, "watch_term_new", sensitivity, x, 0.0, None,
                                 f"監視語「{term}」が今週初めて出現（{docs_x:.0f} 件）{tail}", sev))
    return sorted(alerts, key=lambda a: (a["severity"] != "high", -a["observed"]))


def _alert(week, term, kind, sensitivity, observed, expected, p, message, severity) -> dict:
    return {
        "week": week, "theme_uid": f"watch:{term}", "label": term, "kind": kind, "sensitivity": sensitivity,
        "observed": round(float(observed), 4), "expected": round(float(expected), 4), "p_value": p,
        "message": message, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "severity": severity,
    }
