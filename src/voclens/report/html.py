"""The self-contained HTML report: one file, no external resources, readable without JS.

``render_report(corpus, manifest)`` builds the page from the corpus tables only (masked texts),
with plain string building and :func:`html.escape` on every value taken from the data. The CSS
(``style.css``, read with :mod:`importlib.resources`) and a few lines of optional JS (table
sorting, opening ``<details>`` for printing) are inlined; charts are inline SVG (``charts.py``).

Size stays bounded whatever the corpus size: every list is capped (themes shown, quotes, negative
examples, unassigned examples, chart rows, run-detail entries); no table is dumped whole.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from importlib import resources
from typing import Any, Iterable

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.report import charts as ch
from voclens.report.charts import esc
from voclens.report.social import render_social

# -- caps (keep the file small for very large corpora) -----------------------------------------
MAX_THEME_SECTIONS = 60
MAX_TABLE_THEMES = 200
MAX_CHART_THEMES = 25
MAX_TREND_THEMES = 8
MAX_QUOTES = 5
MAX_NEGATIVES = 3
MAX_UNASSIGNED_EXAMPLES = 8
MAX_QUOTE_CHARS = 280
MAX_KEYWORDS_TABLE = 5
MAX_KEYWORDS_SECTION = 10
MAX_CHANNELS = 20
MAX_DETAIL_ITEMS = 60
MAX_DETAIL_STR = 400
MAX_DETAIL_DEPTH = 4
MAX_WEEKS = 104  # time charts show at most the last two years, week by week
MAX_GOALS = 20
MAX_GOAL_CARDS = 12
MAX_ACTIONS = 5
MAX_DEPARTMENTS = 6
MAX_PAIN_ROWS = 40
MAX_GOAL_CHARS = 200
MAX_ALERTS = 10
MAX_STATUS_ITEMS = 8  # emerging / fading lists
MAX_CHANGE_ROWS = 40  # week-over-week table
MAX_HISTORY_WEEKS = 12
MAX_HISTORY_THEMES = 8
ALPHA = 0.05

SENTIMENTS3 = ("negative", "neutral", "positive")
SENTIMENTS4 = ("negative", "neutral", "mixed", "positive")
CHANNEL_JA = {"review": "レビュー", "ticket": "問い合わせ", "sns": "SNS", "interview": "インタビュー", "other": "その他"}
# customer lenses (voclens.lenses / voclens.goals); kept here so that the report needs no model code
STAGES = ("awareness", "consideration", "purchase", "use", "support", "loyalty")
STAGE_JA = {"awareness": "認知", "consideration": "検討", "purchase": "購入", "use": "利用", "support": "サポート",
            "loyalty": "リピート・推奨", "none": "なし"}
JOBS = ("functional", "emotional", "social")
JOB_JA = {"functional": "機能的", "emotional": "感情的", "social": "社会的", "none": "なし"}
INTENTS = ("complaint", "request", "question", "praise", "other")
INTENT_JA = {"complaint": "苦情", "request": "要望", "question": "質問", "praise": "称賛", "other": "その他"}
EMOTIONS = ("joy", "sadness", "anticipation", "surprise", "anger", "fear", "disgust", "trust")
EMOTION_JA = {"joy": "喜び", "sadness": "悲しみ", "anticipation": "期待", "surprise": "驚き", "anger": "怒り",
              "fear": "恐れ", "disgust": "嫌悪", "trust": "信頼"}
PXP = ("POF", "POP", "POD")
PXP_TITLE = {"POF": "POF（Point of Failure）: 顧客満足を損なう弱点",
             "POP": "POP（Point of Parity）: 顧客の最低限の期待・業界標準",
             "POD": "POD（Point of Difference）: 競合と差別化できる強み"}
# journey stages are ordered: a viridis ramp (colour-blind safe); intents echo the sentiment colours
STAGE_COLORS = {"awareness": "#440154", "consideration": "#414487", "purchase": "#2A788E", "use": "#22A884",
                "support": "#7AD151", "loyalty": "#FDE725", "none": "#D9DEE3"}
INTENT_COLORS = {"complaint": ch.NEG, "request": "#E69F00", "question": "#56B4E9", "praise": ch.POS, "other": "#D9DEE3"}
# history store (voclens.store / voclens.trends)
MATCH_JA = {"continued": ("継続", "m-cont", "前回と同じテーマとして継続"),
            "matched": ("継続", "m-cont", "過去のテーマと照合して同じIDを引き継ぎ"),
            "new": ("新規", "m-new", "今回初めて現れたテーマ（新しいID）"),
            "split": ("分割", "m-split", "既存テーマを分割して生まれたテーマ")}
ALERT_KIND_JA = {"negative_volume": "否定的な声の急増", "negative_share": "否定的な割合の上昇",
                 "new_negative_theme": "否定的な新テーマ", "watch_term": "監視語の出現", "watch_term_new": "監視語の初出現",
                 "watch_term_spike": "監視語の急増"}
STATUS_JA = {"emerging": ("増加", "Emerging"), "fading": ("減少", "Fading"), "steady": ("横ばい", "Steady")}
SENSITIVITY_NOTE = {"high": "α = 0.05・3件以上", "medium": "α = 0.01・5件以上", "low": "α = 0.001・10件以上"}
PROXY_CODE = {"困りごとの割合": "pain_share", "否定的な声の割合": "negative_share", "苦情の割合": "complaint_share"}
RATING_PROXIES = ("平均評価", "推奨者（最高評価）の割合")
NO_DATES_NOTE = "日付のデータがないため、時系列のグラフは省略しました（No dates in the data: time charts omitted）。"

_FALLBACK_CSS = "body{font-family:\"Hiragino Sans\",\"Hiragino Kaku Gothic ProN\",\"Noto Sans CJK JP\",\"Noto Sans JP\",\"Yu Gothic\",\"Meiryo\",sans-serif;max-width:960px;margin:0 auto;padding:20px}"

_SCRIPT = """
(function(){
  function val(td, num){
    var v = td.getAttribute('data-v'); if (v === null) v = td.textContent.trim();
    if (num) { var f = parseFloat(v); return isNaN(f) ? -Infinity : f; }
    return v;
  }
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th[data-sort]').forEach(function(th){
      th.classList.add('sort'); th.tabIndex = 0;
      function go(){
        var num = th.getAttribute('data-sort') === 'num', idx = th.cellIndex, tb = t.tBodies[0];
        var desc = th.getAttribute('aria-sort') !== 'descending';
        t.querySelectorAll('th[aria-sort]').forEach(function(o){ o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
        var rows = Array.prototype.slice.call(tb.rows);
        rows.sort(function(a, b){
          var x = val(a.cells[idx], num), y = val(b.cells[idx], num);
          var c = num ? x - y : String(x).localeCompare(String(y), 'ja');
          return desc ? -c : c;
        });
        rows.forEach(function(r){ tb.appendChild(r); });
      }
      th.addEventListener('click', go);
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
    });
  });
  window.addEventListener('beforeprint', function(){
    document.querySelectorAll('details').forEach(function(d){ d.open = true; });
  });
})();
"""


# ==============================================================================================
# small helpers
# ==============================================================================================
def _css() -> str:
    try:
        return resources.files("voclens.report").joinpath("style.css").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):  # pragma: no cover - packaging error
        warnings.warn("voclens/report/style.css is missing from the installed package; "
                      "the report uses a minimal fallback style. Reinstall voclens.", RuntimeWarning)
        return _FALLBACK_CSS


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _f(x: Any, default: float = 0.0) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def _i(x: Any, default: int = 0) -> int:
    v = _f(x, float("nan"))
    return int(v) if math.isfinite(v) else default


def _as_list(x: Any) -> list:
    """Lists may arrive as list, tuple, numpy array (parquet), JSON string, or missing."""
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, str):
        s = x.strip()
        if s.startswith("["):
            try:
                v = json.loads(s)
                return list(v) if isinstance(v, list) else [v]
            except ValueError:
                pass
        return [s] if s else []
    if _is_missing(x):
        return []
    try:
        return list(x)
    except TypeError:
        return [x]


def _as_dict(x: Any) -> dict:
    """Dicts may arrive as dict or as a JSON string (parquet/CSV round trip)."""
    if isinstance(x, dict):
        return x
    if isinstance(x, str) and x.strip().startswith("{"):
        try:
            v = json.loads(x)
            return v if isinstance(v, dict) else {}
        except ValueError:
            return {}
    return {}


def _str_list(x: Any, sep: str | None = None) -> list[str]:
    """A list of non-empty strings; a plain string is split on ``sep`` (CSV round trip)."""
    if isinstance(x, str) and sep and not x.strip().startswith("["):
        items: list = x.split(sep)
    else:
        items = _as_list(x)
    return [str(v).strip() for v in items if not _is_missing(v) and str(v).strip()]


def _as_bool(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    return False if _is_missing(x) else bool(x)


def _str(x: Any) -> str:
    return "" if _is_missing(x) else str(x).strip()


def _clip(text: Any, n: int = MAX_QUOTE_CHARS) -> str:
    s = "" if _is_missing(text) else " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _pct(v: float, digits: int = 1) -> str:
    return f"{v * 100:.{digits}f}%"


def _net_class(v: float) -> str:
    return "net-neg" if v < -0.05 else ("net-pos" if v > 0.05 else "net-neu")


def _net_html(v: float) -> str:
    return f'<span class="net {_net_class(v)}">{ch.fmt_signed(v)}</span>'


def _badge(sentiment: Any) -> str:
    key = str(sentiment) if not _is_missing(sentiment) else ""
    if key not in ch.SENTIMENT_JA:
        return ""
    return f'<span class="badge {key}">{esc(ch.SENTIMENT_JA[key])}</span>'


def _chips(words: Iterable[Any], cap: int) -> str:
    words = [str(w) for w in words if not _is_missing(w) and str(w).strip()]
    out = "".join(f'<span class="chip" title="{esc(w)}">{esc(w)}</span>' for w in words[:cap])
    if len(words) > cap:
        out += f'<span class="chip muted">+{len(words) - cap}</span>'
    return f'<span class="chips">{out}</span>' if out else '<span class="muted">—</span>'


def _pxp_badge(tag: Any, low_evidence: bool = False) -> str:
    key = _str(tag).upper()
    out = ""
    if key in PXP:
        out = f'<span class="pxp pxp-{key}" title="{esc(PXP_TITLE[key])}">{key}</span>'
    if low_evidence:
        out += '<span class="pxp pxp-low" title="セグメント10件未満: 参考値（low evidence）">参考</span>'
    return out


def _growth_html(g: float) -> str:
    if not math.isfinite(g) or abs(g) < 0.005:
        return '<span class="muted">—</span>'
    if g > 0:
        return f'<span class="growth up">↑ +{g * 100:.0f}%</span>'
    return f'<span class="growth down">↓ −{abs(g) * 100:.0f}%</span>'


def _h2(ja: str, en: str) -> str:
    return f'<h2>{esc(ja)}<span class="en">{esc(en)}</span></h2>'


def _card(section_id: str, inner: str, cls: str = "") -> str:
    classes = f"card {cls}".strip()
    return f'<section class="{classes}" id="{section_id}">{inner}</section>'


def _fmt_date(d: Any) -> str:
    return f"{d.year}-{d.month:02d}-{d.day:02d}" if not _is_missing(d) else ""


def _iso_week_start(week: Any) -> pd.Timestamp | None:
    """"2026-W45" -> the Monday of that ISO week (None when the text is not an ISO week)."""
    m = re.fullmatch(r"\s*(\d{4})-W(\d{1,2})\s*", _str(week))
    if not m:
        return None
    try:
        return pd.Timestamp.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None


def _short_week(week: str) -> str:
    """"2026-W45" -> "W45" (for tight cells; the full week goes in a tooltip)."""
    return week.split("-", 1)[1] if re.fullmatch(r"\d{4}-W\d{1,2}", week) else week


def _p_fmt(p: Any) -> str:
    v = _f(p, float("nan"))
    if not math.isfinite(v):
        return "p = —"
    return "p < 0.001" if v < 0.001 else f"p = {v:.2g}"


def _pt(v: float) -> str:
    """A change of share in percentage points, signed ("+2.1pt", "−0.4pt")."""
    s = f"{abs(v) * 100:.1f}pt"
    return ("+" if v > 0 else "−" if v < 0 else "±") + s


# ==============================================================================================
# data preparation
# ==============================================================================================
class _Data:
    """The corpus tables, normalised once so that every section can assume its columns exist."""

    def __init__(self, corpus: Corpus):
        docs = corpus.documents if isinstance(corpus.documents, pd.DataFrame) else pd.DataFrame()
        segs = corpus.segments if isinstance(corpus.segments, pd.DataFrame) else pd.DataFrame()
        self.meta: dict = corpus.meta if isinstance(corpus.meta, dict) else {}
        self.rejects = corpus.rejects if isinstance(corpus.rejects, pd.DataFrame) else None
        self.docs = docs
        self.segs = segs
        self.n_docs = len(docs)
        self.n_segs = len(segs)

        # documents: date, channel, sentiment
        self.doc_dates = self._dates(docs["date"]) if "date" in docs.columns else None
        self.has_dates = self.doc_dates is not None and bool(self.doc_dates.notna().any())

        # segments: theme_id as int (-1 unassigned), sentiment as str
        if "theme_id" in segs.columns:
            self.seg_theme = pd.to_numeric(segs["theme_id"], errors="coerce").fillna(-1).astype(int)
        else:
            self.seg_theme = pd.Series(-1, index=segs.index, dtype=int)
        self.has_seg_themes = "theme_id" in segs.columns
        self.seg_sent = segs["sentiment"].astype(object) if "sentiment" in segs.columns else None
        self.seg_score = (pd.to_numeric(segs["sentiment_score"], errors="coerce")
                          if "sentiment_score" in segs.columns else None)

        # segment dates through doc_id
        self.seg_dates = None
        if self.has_dates and "doc_id" in segs.columns and "doc_id" in docs.columns:
            by_doc = pd.Series(self.doc_dates.values, index=docs["doc_id"].values)
            by_doc = by_doc[~by_doc.index.duplicated()]
            self.seg_dates = pd.Series(segs["doc_id"].map(by_doc).values, index=segs.index)
            self.seg_dates = pd.to_datetime(self.seg_dates, errors="coerce")

        # lookups for quotes
        self.seg_by_id: dict[Any, int] = {}
        if "seg_id" in segs.columns:
            ids = segs["seg_id"]
            keep = ~ids.duplicated()
            self.seg_by_id = dict(zip(ids[keep].tolist(), np.flatnonzero(keep.values).tolist()))
        self.doc_pos: dict[Any, int] = {}
        if "doc_id" in docs.columns:
            ids = docs["doc_id"]
            keep = ~ids.duplicated()
            self.doc_pos = dict(zip(ids[keep].tolist(), np.flatnonzero(keep.values).tolist()))

        self.themes = self._theme_rows(corpus.themes)
        self.section_ids = {t["theme_id"] for t in self.themes[:MAX_THEME_SECTIONS]}
        self.has_lens = any(t["pxp"] or t["impact_rank"] for t in self.themes)
        self.goals = self._goal_rows(getattr(corpus, "goals", None))
        # history store (voclens analyze --store): all optional, every section is guarded
        # watch-term alerts of a run without a store are shown in the social section instead
        self.has_store_changes = "changes" in self.meta or ("alerts" in self.meta and self.meta.get("alerts_source") != "watchlist")
        self.has_alerts_key = "alerts" in self.meta
        self.changes = self._records(self.meta.get("changes"))
        self.alerts = self._records(self.meta.get("alerts"))
        self.store_info = _as_dict(self.meta.get("store"))
        self.tid_uid = {t["theme_id"]: t["uid"] for t in self.themes if t["uid"]}
        self.uid_tid = {u: tid for tid, u in self.tid_uid.items()}
        self.hist, self.hist_weeks = self._history(self.meta.get("history_weekly"))
        self.hist_starts = [_iso_week_start(w) for w in self.hist_weeks]
        self._hist_counts: pd.DataFrame | None = None
        self.weeks: list[pd.Timestamp] = []
        self.week_of_seg = None
        if self.seg_dates is not None and self.seg_dates.notna().any():
            self.week_of_seg = self._week_start(self.seg_dates)
            lo, hi = self.week_of_seg.min(), self.week_of_seg.max()
            self.weeks = list(pd.date_range(lo, hi, freq="7D"))
        self.n_weeks_all = len(self.weeks)
        self._theme_week: pd.DataFrame | None = None
        self.weeks = self.weeks[-MAX_WEEKS:]

    # -- normalisers -------------------------------------------------------------------------
    @staticmethod
    def _dates(col: pd.Series) -> pd.Series:
        d = pd.to_datetime(col, errors="coerce")
        if isinstance(d.dtype, pd.DatetimeTZDtype):
            d = d.dt.tz_convert(None)
        return d

    @staticmethod
    def _week_start(d: pd.Series) -> pd.Series:
        d = d.dt.normalize()
        return d - pd.to_timedelta(d.dt.day_of_week, unit="D")

    def seg_sentiment_counts(self, mask: pd.Series | None = None) -> dict[str, int]:
        if self.seg_sent is None:
            return {}
        s = self.seg_sent if mask is None else self.seg_sent[mask]
        vc = s.value_counts()
        return {k: int(vc.get(k, 0)) for k in SENTIMENTS3}

    def _theme_rows(self, th: Any) -> list[dict]:
        if not isinstance(th, pd.DataFrame) or th.empty or "theme_id" not in th.columns:
            return []
        seg_sizes = self.seg_theme.value_counts() if self.has_seg_themes else pd.Series(dtype=int)
        mix = None
        if self.seg_sent is not None and self.has_seg_themes:
            mix = pd.crosstab(self.seg_theme, self.seg_sent)
        n_total = self.n_segs
        rows = []
        for rec in th.to_dict("records"):
            tid = _i(rec.get("theme_id"), -1)
            if tid < 0:
                continue
            label = rec.get("label")
            label = f"テーマ {tid}" if _is_missing(label) or not str(label).strip() else str(label).strip()
            size = _i(rec.get("size"), -1)
            if size < 0:
                size = int(seg_sizes.get(tid, 0))
            share = _f(rec.get("share"), float("nan"))
            if not math.isfinite(share):
                share = size / n_total if n_total else 0.0
            shares = {k: _f(rec.get(k), float("nan")) for k in SENTIMENTS3}
            if not all(math.isfinite(v) for v in shares.values()):
                if mix is not None and tid in mix.index:
                    r = mix.loc[tid]
                    tot = float(sum(r.get(k, 0) for k in SENTIMENTS3)) or 1.0
                    shares = {k: float(r.get(k, 0)) / tot for k in SENTIMENTS3}
                else:
                    shares = {k: 0.0 for k in SENTIMENTS3}
            net = _f(rec.get("net_sentiment"), float("nan"))
            if not math.isfinite(net):
                net = shares["positive"] - shares["negative"]
            quotes = _as_list(rec.get("quotes"))
            qtexts = _as_list(rec.get("quote_texts"))
            rows.append({
                "theme_id": tid,
                "label": label,
                "keywords": _as_list(rec.get("keywords")),
                "size": size,
                "n_documents": _i(rec.get("n_documents"), -1),
                "share": share,
                **shares,
                "net": net,
                "quotes": quotes,
                "quote_texts": qtexts,
                "href": f"#theme-{tid}",
                "uid": _clip(_str(rec.get("theme_uid")), 24),
                "matched": _str(rec.get("matched")).lower(),
                "match_score": _f(rec.get("match_score"), float("nan")),
                **self._lens_fields(rec),
            })
        rows.sort(key=lambda r: (-r["size"], r["theme_id"]))
        return rows

    @staticmethod
    def _lens_fields(rec: dict) -> dict:
        """The customer-lens columns of a theme (all optional; None / NaN / {} when absent)."""
        pxp = _str(rec.get("pxp")).upper()
        rank = _i(rec.get("impact_rank"), 0)
        job = _str(rec.get("dominant_job"))
        stage = _str(rec.get("dominant_stage"))
        emotions = {str(k): _f(v) for k, v in _as_dict(rec.get("emotions")).items()}
        return {
            "pxp": pxp if pxp in PXP else None,
            "impact_rank": rank if rank > 0 else None,
            "impact": _f(rec.get("impact"), float("nan")),
            "pain": _f(rec.get("pain_score"), float("nan")),
            "growth": _f(rec.get("growth"), float("nan")),
            "low_evidence": _as_bool(rec.get("low_evidence")),
            "departments": _str_list(rec.get("departments"), "、"),
            "dominant_job": job or None,
            "dominant_job_share": _f(rec.get("dominant_job_share"), float("nan")),
            "dominant_stage": stage or None,
            "stage_mix": {str(k): _f(v) for k, v in _as_dict(rec.get("stage_mix")).items()},
            "intent_mix": {str(k): _f(v) for k, v in _as_dict(rec.get("intent_mix")).items()},
            "emotions": emotions,
        }

    @staticmethod
    def _records(x: Any) -> list[dict]:
        """A list of dicts from a list of records or a DataFrame (anything else: [])."""
        if isinstance(x, pd.DataFrame):
            return x.to_dict("records")
        if isinstance(x, (list, tuple)):
            return [r for r in x if isinstance(r, dict)]
        return []

    @staticmethod
    def _history(x: Any) -> tuple[pd.DataFrame | None, list[str]]:
        """The store's weekly aggregates, cut to the latest MAX_HISTORY_WEEKS ISO weeks (by the
        calendar: weeks without a run stay out), and the weeks kept, oldest first."""
        if isinstance(x, (list, tuple)):
            x = pd.DataFrame([r for r in x if isinstance(r, dict)])
        if not isinstance(x, pd.DataFrame) or x.empty or not {"theme_uid", "week", "n_segments"} <= set(x.columns):
            return None, []
        h = x.copy()
        h["week"] = h["week"].astype(str)
        h["theme_uid"] = h["theme_uid"].astype(str)
        starts = {w: _iso_week_start(w) for w in h["week"].unique()}
        starts = {w: v for w, v in starts.items() if v is not None}
        if not starts:
            return None, []
        latest = max(starts.values())
        keep = sorted((w for w, v in starts.items() if (latest - v).days // 7 < MAX_HISTORY_WEEKS), key=starts.get)
        h = h[h["week"].isin(keep)].copy()
        for col in ("n_segments", "n_documents", "n_negative", "n_positive", "n_pain", "n_complaint", "total_segments"):
            if col in h.columns:
                h[col] = pd.to_numeric(h[col], errors="coerce").fillna(0)
        if "label" not in h.columns:
            h["label"] = h["theme_uid"]
        return h, keep

    @staticmethod
    def _goal_rows(goals: Any) -> list[dict]:
        """``corpus.goals`` as records, problems first (by impact_rank), capped."""
        if not isinstance(goals, pd.DataFrame) or goals.empty:
            return []
        recs = goals.head(MAX_GOALS * 5).to_dict("records")
        out = []
        for k, rec in enumerate(recs):
            rank = _i(rec.get("impact_rank"), 0)
            cv = _f(rec.get("current_value"), float("nan"))
            out.append({
                "order": (rank if rank > 0 else 10 ** 9, k),
                "theme_id": _i(rec.get("theme_id"), -1),
                "theme": _str(rec.get("theme")),
                "pxp": _str(rec.get("pxp")).upper(),
                "stage": _str(rec.get("stage")),
                "job_type": _str(rec.get("job_type")),
                "customer_need": _str(rec.get("customer_need")),
                "outcome": _str(rec.get("outcome")),
                "kpi": _str(rec.get("kpi")),
                "kpi_unit": _str(rec.get("kpi_unit")),
                "proxy": _str(rec.get("proxy")),
                "current": _str(rec.get("current")),
                "current_value": cv if math.isfinite(cv) else None,
                "has_current_value": "current_value" in rec,
                "target": _str(rec.get("target")),
                "better": _str(rec.get("better")),
                "trend": _str(rec.get("trend")),
                "horizon": _str(rec.get("horizon")),
                "departments": _str_list(rec.get("departments"), "、"),
                "actions": _str_list(rec.get("actions"), "\n"),
                "impact_rank": rank if rank > 0 else None,
            })
        out.sort(key=lambda g: g["order"])
        return out[:MAX_GOALS]

    # -- lookups -----------------------------------------------------------------------------
    def seg_row(self, seg_id: Any) -> int | None:
        if seg_id in self.seg_by_id:
            return self.seg_by_id[seg_id]
        try:  # ids may come back as numpy/float from parquet
            return self.seg_by_id.get(int(seg_id))
        except (TypeError, ValueError):
            return None

    def seg_value(self, pos: int, col: str) -> Any:
        if col not in self.segs.columns:
            return None
        return self.segs[col].iat[pos]

    def doc_meta(self, seg_pos: int | None) -> str:
        """"#id · チャネル · 日付" for a segment's document (all escaped)."""
        if seg_pos is None or "doc_id" not in self.segs.columns:
            return ""
        dpos = self.doc_pos.get(self.segs["doc_id"].iat[seg_pos])
        if dpos is None:
            return ""
        bits = []
        if "id" in self.docs.columns and not _is_missing(self.docs["id"].iat[dpos]):
            bits.append(f"#{self.docs['id'].iat[dpos]}")
        if "channel" in self.docs.columns and not _is_missing(self.docs["channel"].iat[dpos]):
            c = str(self.docs["channel"].iat[dpos])
            bits.append(CHANNEL_JA.get(c, c))
        if self.doc_dates is not None and not _is_missing(self.doc_dates.iat[dpos]):
            bits.append(_fmt_date(self.doc_dates.iat[dpos]))
        return " · ".join(esc(_clip(b, 60)) for b in bits)

    def theme_weekly(self, theme_id: int) -> list[int]:
        """Weekly segment counts of one theme over ``self.weeks`` (one crosstab, cached)."""
        if self.week_of_seg is None:
            return []
        if self._theme_week is None:
            valid = self.week_of_seg.notna()
            self._theme_week = pd.crosstab(self.seg_theme[valid], self.week_of_seg[valid]).reindex(
                columns=self.weeks, fill_value=0)
        if theme_id not in self._theme_week.index:
            return [0] * len(self.weeks)
        return [int(v) for v in self._theme_week.loc[theme_id].tolist()]

    def hist_counts(self, uid: str) -> list[int]:
        """Weekly segment counts of one stable theme id over ``self.hist_weeks`` (store history)."""
        if self.hist is None:
            return []
        if self._hist_counts is None:
            self._hist_counts = self.hist.pivot_table(index="theme_uid", columns="week", values="n_segments",
                                                      aggfunc="sum", fill_value=0).reindex(columns=self.hist_weeks,
                                                                                           fill_value=0)
        if uid not in self._hist_counts.index:
            return [0] * len(self.hist_weeks)
        return [int(round(float(v))) for v in self._hist_counts.loc[uid].tolist()]

    def hist_label(self, uid: str) -> str:
        """The latest stored label of a theme id (the registry's, with human renames)."""
        if self.hist is None:
            return ""
        rows = self.hist[self.hist["theme_uid"] == uid]
        return _str(rows["label"].iloc[-1]) if len(rows) else ""

    def proxy_points(self, uid: str, proxy_code: str) -> list[tuple[str, float]]:
        """A goal's VOC proxy (in %) per week for one theme id, over ``self.hist_weeks``."""
        if self.hist is None:
            return []
        try:
            from voclens.trends.weekly import proxy_series

            pts = proxy_series(self.hist, uid, proxy_code)
        except (ImportError, KeyError, ValueError, TypeError):
            return []
        weeks = set(self.hist_weeks)
        return [(str(w), float(v)) for w, v in pts if str(w) in weeks and math.isfinite(_f(v, float("nan")))]

    def weekly_counts(self, mask: pd.Series | None = None) -> list[int]:
        if self.week_of_seg is None:
            return []
        w = self.week_of_seg if mask is None else self.week_of_seg[mask]
        vc = w.dropna().value_counts()
        return [int(vc.get(k, 0)) for k in self.weeks]


# ==============================================================================================
# sections
# ==============================================================================================
def _mix_big(counts: dict[str, int], keys: Iterable[str]) -> str:
    total = sum(counts.get(k, 0) for k in keys)
    if not total:
        return '<p class="note">センチメントのデータがありません（no sentiment data）。</p>'
    spans, legend = [], []
    for k in keys:
        c = counts.get(k, 0)
        if c:
            spans.append(f'<span class="sw-{k}" style="width:{c / total * 100:.2f}%" '
                         f'title="{esc(ch.SENTIMENT_JA[k])} {c:,}件 ({_pct(c / total)})"></span>')
        legend.append(f'<span><i class="sw-{k}"></i>{esc(ch.SENTIMENT_JA[k])} {_pct(c / total)}'
                      f' <span class="muted">({c:,})</span></span>')
    return (f'<div class="mix-wrap"><div class="mix-big" role="img" aria-label="センチメント構成">{"".join(spans)}</div>'
            f'<div class="legend">{"".join(legend)}</div></div>')


def _kpi(label: str, en: str, value: str, sub: str = "") -> str:
    return (f'<div class="kpi"><div class="l">{esc(label)}<span class="en">{esc(en)}</span></div>'
            f'<div class="v">{value}</div>' + (f'<div class="s">{sub}</div>' if sub else "") + "</div>")


def _header(d: _Data, title: str, manifest: dict | None) -> str:
    parts = ['<header class="report-header">', '<div class="brand">voclens · Voice of Customer</div>',
             f"<h1>{esc(title)}</h1>"]
    if d.has_dates:
        lo, hi = d.doc_dates.min(), d.doc_dates.max()
        n_weeks = d.n_weeks_all
        n_nat = int(d.doc_dates.isna().sum())
        extra = f"（{n_weeks}週）" if n_weeks else ""
        if n_nat:
            extra += f" · 日付なし {n_nat:,}件"
        parts.append(f'<div class="period">対象期間 Period: <b>{_fmt_date(lo)} 〜 {_fmt_date(hi)}</b>{esc(extra)}</div>')
    else:
        parts.append('<div class="period">対象期間 Period: 日付なし（no dates）</div>')
    created = None
    if isinstance(manifest, dict):
        created = manifest.get("created") or manifest.get("created_at") or manifest.get("generated_at")
    if created:
        parts.append(f'<div class="period small">作成 Generated: {esc(_clip(created, 60))}</div>')
    parts.append("</header>")
    return "".join(parts)


def _nav(d: _Data, present: Iterable[str] = ()) -> str:
    """Chips for every section; the optional lens sections only when they were rendered."""
    present = set(present)
    opt = lambda *items: [x for x in items if x[0] in present]  # noqa: E731
    links = opt(("changes", "変化")) + [("summary", "サマリー")] + opt(("goals", "目標"), ("pain", "ペインポイント"))
    links += [("overview", "テーマ一覧"), ("sizes", "テーマ規模"), ("sentiment", "センチメント")]
    links += opt(("journey", "ジャーニー×ジョブ"), ("emotions", "感情"))
    if d.has_dates:
        links += [("trends", "推移")]
    links += opt(("history", "テーマ推移"))
    links += [("channels", "チャネル")] + opt(("social", "ソーシャル"))
    links += [("themes", "テーマ詳細"), ("unassigned", "未分類"), ("run", "実行情報")]
    return '<nav class="toc" aria-label="目次">' + "".join(
        f'<a href="#{i}">{esc(t)}</a>' for i, t in links) + "</nav>"


def _unthemed(d: _Data) -> tuple[np.ndarray, np.ndarray]:
    """(outliers, not themed): content segments no theme took, and greetings/bare URLs that the
    theme stage leaves out on purpose (segments.kind != "content")."""
    unassigned = (d.seg_theme < 0).to_numpy()
    if "kind" in d.segs.columns:
        content = (d.segs["kind"].astype(object) == "content").to_numpy()
        return unassigned & content, unassigned & ~content
    return unassigned, np.zeros(len(unassigned), dtype=bool)


def _summary(d: _Data) -> str:
    meta_themes = d.meta.get("themes") if isinstance(d.meta.get("themes"), dict) else {}
    meta_ingest = d.meta.get("ingest") if isinstance(d.meta.get("ingest"), dict) else {}

    n_themes = len(d.themes) if d.themes else _i(meta_themes.get("n_themes"), 0)
    n_skip = 0
    if d.has_seg_themes and d.n_segs:
        outliers, skipped = _unthemed(d)
        n_un, n_skip = int(outliers.sum()), int(skipped.sum())
        un_share = n_un / max(d.n_segs - n_skip, 1)
    else:
        n_un = _i(meta_themes.get("unassigned"), 0)
        un_share = _f(meta_themes.get("unassigned_share"), 0.0)
    rejected = meta_ingest.get("rows_rejected")
    if _is_missing(rejected):
        rejected = len(d.rejects) if isinstance(d.rejects, pd.DataFrame) else None
    counts = d.seg_sentiment_counts()
    keys: tuple[str, ...] = SENTIMENTS3
    unit = "セグメント単位 (per segment)"
    if not sum(counts.values()) and "sentiment" in d.docs.columns:
        vc = d.docs["sentiment"].astype(object).value_counts()
        counts = {k: int(vc.get(k, 0)) for k in SENTIMENTS4}
        keys, unit = SENTIMENTS4, "文書単位 (per document)"
    tot = sum(counts.values())
    net = (counts.get("positive", 0) - counts.get("negative", 0)) / tot if tot else 0.0

    kpis = [
        _kpi("文書", "Documents", f"{d.n_docs:,}"),
        _kpi("セグメント", "Segments", f"{d.n_segs:,}"),
        _kpi("テーマ", "Themes", f"{n_themes:,}"),
        _kpi("未分類", "Unassigned", _pct(un_share),
             f"{n_un:,} セグメント" + (f"（定型文など {n_skip:,} 件は対象外）" if n_skip else "")),
    ]
    if rejected is not None:
        kpis.append(_kpi("除外行", "Rejected rows", f"{_i(rejected):,}", "一覧は rejects.csv" if _i(rejected) else ""))
    kpis.append(_kpi("正味センチメント", "Net", _net_html(net) if tot else "—", "ポジティブ − ネガティブ"))

    body = [_h2("サマリー", "Summary"), f'<div class="kpis">{"".join(kpis)}</div>',
            f'<div class="small muted">全体のセンチメント構成 Overall sentiment mix — {esc(unit)}</div>',
            _mix_big(counts, keys)]
    if rejected is not None and _i(rejected):
        body.append(f'<p class="note">読み込めなかった {_i(rejected):,} 行は rejects.csv に理由とともに記録されています'
                    f'（rejected rows are listed in rejects.csv）。</p>')
    hl = _highlights(d)
    if hl:
        body.append('<ul class="highlights">' + "".join(f"<li>{h}</li>" for h in hl) + "</ul>")
    return _card("summary", "".join(body))


def _highlights(d: _Data) -> list[str]:
    out: list[str] = []
    if not d.themes:
        return out
    top = d.themes[0]
    link = lambda t: f'<a href="{esc(t["href"])}"><b>{esc(t["label"])}</b></a>'  # noqa: E731
    out.append(f"最大のテーマは {link(top)}（{top['size']:,}件, {_pct(top['share'])}）。")
    assigned = sum(t["size"] for t in d.themes) or 1
    floor = max(3, int(0.02 * assigned))
    big = [t for t in d.themes if t["size"] >= floor] or d.themes
    worst = min(big, key=lambda t: t["net"])
    if worst["net"] < 0:
        out.append(f"最もネガティブなテーマは {link(worst)}（正味 {_net_html(worst['net'])}, "
                   f"ネガティブ {_pct(worst['negative'])}）。")
    best = max(big, key=lambda t: t["net"])
    if best["net"] > 0.05 and best is not worst:
        out.append(f"最もポジティブなテーマは {link(best)}（正味 {_net_html(best['net'])}）。")
    problems = sorted((t for t in d.themes if t["impact_rank"] and t["pxp"] in ("POF", "POP")), key=lambda t: t["impact_rank"])
    if problems:
        t = problems[0]
        bits = [t["pxp"]]
        if math.isfinite(t["pain"]):
            bits.append(f"ペイン {_pct(t['pain'], 0)}")
        bits.append(f"正味 {_net_html(t['net'])}")
        if math.isfinite(t["growth"]) and t["growth"] >= 0.005:
            bits.append(f"伸び {_growth_html(t['growth'])}")
        out.append(f"インパクトが最も大きい課題は {link(t)}（{', '.join(bits)}）。"
                   '<a class="small" href="#pain">ペインポイント一覧へ →</a>')
    if d.week_of_seg is not None and len(d.weeks) >= 3:
        best_gain, pick = 0.0, None
        for t in d.themes[:MAX_CHART_THEMES]:
            series = d.theme_weekly(t["theme_id"])
            last, prev = series[-1], series[-5:-1]
            base = sum(prev) / len(prev) if prev else 0.0
            if last >= 3 and last >= 1.5 * base and last - base > best_gain:
                best_gain, pick = last - base, (t, last, base)
        if pick:
            t, last, base = pick
            out.append(f"直近の週（{ch.week_label(d.weeks[-1])}〜, 週の途中の場合あり）に最も増えたテーマは {link(t)}"
                       f"（{last:,}件, 前週までの平均 {base:.1f}件）。")
    return out


def _overview(d: _Data) -> str:
    body = [_h2("テーマ一覧", "Theme overview"),
            '<p class="lead">件数順。テーマ名をクリックすると詳細へ移動します。列見出しで並べ替えできます（JS有効時）。</p>']
    if not d.themes:
        body.append('<p class="note">テーマがありません（no themes were found）。</p>')
        return _card("overview", "".join(body))
    rows = []
    for t in d.themes[:MAX_TABLE_THEMES]:
        mix = ch.mix_bar([(k, t[k]) for k in SENTIMENTS3], label=t["label"])
        ndoc = f'{t["n_documents"]:,}' if t["n_documents"] >= 0 else "—"
        rows.append(
            "<tr>"
            f'<td class="label" data-v="{esc(t["label"])}"><a href="{esc(t["href"])}">{esc(t["label"])}</a>'
            + (f'<span class="uid-line">{_uid_badges(t)}</span>' if t["uid"] or t["matched"] in MATCH_JA else "") + "</td>"
            f'<td>{_chips(t["keywords"], MAX_KEYWORDS_TABLE)}</td>'
            f'<td class="num" data-v="{t["size"]}">{t["size"]:,}</td>'
            f'<td class="num" data-v="{t["share"]:.6f}">{_pct(t["share"])}</td>'
            f'<td class="num" data-v="{max(t["n_documents"], 0)}">{ndoc}</td>'
            f'<td class="num" data-v="{t["net"]:.4f}">{_net_html(t["net"])}</td>'
            f'<td data-v="{t["negative"]:.6f}">{mix}</td>'
            "</tr>"
        )
    foot = []
    if len(d.themes) > MAX_TABLE_THEMES:
        foot.append(f'<tr><td colspan="7">他 {len(d.themes) - MAX_TABLE_THEMES:,} テーマは省略</td></tr>')
    if d.has_seg_themes and d.n_segs:
        outliers, skipped = _unthemed(d)
        n_un, n_skip = int(outliers.sum()), int(skipped.sum())
        foot.append(f'<tr><td><a href="#unassigned">未分類 Unassigned</a></td><td></td><td class="num">{n_un:,}</td>'
                    f'<td class="num">{_pct(n_un / max(d.n_segs - n_skip, 1))}</td><td></td><td></td><td></td></tr>')
        if n_skip:
            foot.append(f'<tr><td>定型文・記号のみ <span class="en">Not themed</span></td><td class="note">挨拶・結び・番号・URLのみ</td>'
                        f'<td class="num">{n_skip:,}</td><td></td><td></td><td></td><td></td></tr>')
    body.append(
        '<div class="table-wrap"><table class="sortable themes-table"><thead><tr>'
        '<th data-sort="str">テーマ<span class="en">Theme</span></th>'
        '<th>キーワード<span class="en">Keywords</span></th>'
        '<th class="num" data-sort="num" aria-sort="descending">件数<span class="en">Size</span></th>'
        '<th class="num" data-sort="num">構成比<span class="en">Share</span></th>'
        '<th class="num" data-sort="num">文書<span class="en">Docs</span></th>'
        '<th class="num" data-sort="num">正味<span class="en">Net</span></th>'
        '<th data-sort="num">構成<span class="en">Mix</span></th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody>'
        + (f'<tfoot>{"".join(foot)}</tfoot>' if foot else "")
        + "</table></div>"
        '<div class="legend"><span><i class="sw-negative"></i>ネガティブ</span><span><i class="sw-neutral"></i>ニュートラル</span>'
        '<span><i class="sw-positive"></i>ポジティブ</span><span>正味 = ポジティブ比率 − ネガティブ比率</span></div>'
    )
    return _card("overview", "".join(body))


def _sizes_chart(d: _Data) -> str:
    body = [_h2("テーマの規模", "Theme sizes")]
    if not d.themes:
        body.append('<p class="note">テーマがありません。</p>')
        return _card("sizes", "".join(body))
    top = d.themes[:MAX_CHART_THEMES]
    note = f"上位 {len(top)} テーマ（全 {len(d.themes)}）。" if len(d.themes) > len(top) else ""
    body.append(f'<p class="lead">{esc(note)}テーマごとのセグメント数と構成比。</p>')
    svg = ch.hbar_chart(
        [(t["label"], t["size"]) for t in top],
        chart_id="chart-sizes",
        title="テーマ別セグメント数",
        desc="、".join(f'{t["label"]} {t["size"]}件' for t in top[:10]),
        axis_label="セグメント数 / segments",
        hrefs=[t["href"] for t in top],
        value_labels=[f'{t["size"]:,}（{_pct(t["share"])}）' for t in top],
    )
    body.append(f'<div class="chart">{svg}</div>')
    return _card("sizes", "".join(body))


def _sentiment_chart(d: _Data) -> str:
    body = [_h2("テーマ別センチメント", "Sentiment by theme")]
    if not d.themes:
        body.append('<p class="note">テーマがありません。</p>')
        return _card("sentiment", "".join(body))
    top = sorted(d.themes[:MAX_CHART_THEMES], key=lambda t: (t["net"], -t["size"]))
    body.append('<p class="lead">正味センチメントの低い順（上ほどネガティブ）。'
                + (f"件数上位 {len(top)} テーマ。" if len(d.themes) > len(top) else "") + "</p>")
    svg = ch.sentiment_stack_chart(
        [{"label": t["label"], "negative": t["negative"], "neutral": t["neutral"], "positive": t["positive"],
          "net": t["net"], "n": t["size"], "href": t["href"]} for t in top],
        chart_id="chart-sentiment",
        title="テーマ別センチメント構成（100%積み上げ）",
        desc="、".join(f'{t["label"]} ネガティブ{_pct(t["negative"], 0)} 正味{ch.fmt_signed(t["net"])}' for t in top[:10]),
    )
    body.append(f'<div class="chart">{svg}</div>')
    return _card("sentiment", "".join(body))


def _trends(d: _Data) -> str:
    if not d.has_dates or not d.weeks or d.week_of_seg is None:
        return _card("trends", _h2("推移", "Over time") + f'<p class="note">{esc(NO_DATES_NOTE)}</p>')
    body = [_h2("テーマの推移", "Themes over time"),
            f'<p class="lead">週ごとのセグメント数（ISO週・月曜始まり）。件数上位 {min(MAX_TREND_THEMES, len(d.themes))} テーマ、'
            "縦軸は全パネル共通。"
            + (f"直近 {len(d.weeks)} 週のみ表示（全 {d.n_weeks_all} 週）。" if d.n_weeks_all > len(d.weeks) else "")
            + "</p>"]
    top = d.themes[:MAX_TREND_THEMES]
    if top:
        series = [(t["label"], d.theme_weekly(t["theme_id"])) for t in top]
        svg = ch.small_multiples(
            [w.to_pydatetime() for w in d.weeks], series,
            chart_id="chart-trends", title="テーマ別の週次件数",
            desc=f"{_fmt_date(d.weeks[0])} から {_fmt_date(d.weeks[-1])} の週次件数。"
                 + "、".join(f"{lab} 計{sum(v)}件" for lab, v in series),
            hrefs=[t["href"] for t in top],
        )
        body.append(f'<div class="chart">{svg}</div>')
    else:
        body.append('<p class="note">テーマがありません。</p>')

    body.append('<h3 style="margin-top:22px">センチメントの推移<span class="en">Net sentiment by week</span></h3>')
    if d.seg_sent is not None:
        w = d.week_of_seg
        valid = w.notna()
        ct = pd.crosstab(w[valid], d.seg_sent[valid]).reindex(d.weeks, fill_value=0)
        counts, net = [], []
        for wk in d.weeks:
            r = ct.loc[wk]
            n3 = int(sum(r.get(k, 0) for k in SENTIMENTS3))
            counts.append(int(r.sum()))
            net.append((float(r.get("positive", 0)) - float(r.get("negative", 0))) / n3 if n3 else float("nan"))
        body.append('<p class="lead">正味 = (ポジティブ − ネガティブ) ÷ セグメント数。点にカーソルを合わせると件数を表示。</p>')
        svg = ch.net_line_chart(
            [w.to_pydatetime() for w in d.weeks], net, counts,
            chart_id="chart-net", title="週次の正味センチメント",
            desc="、".join(f"{ch.week_label(wk)} {v:+.2f}" for wk, v in zip(d.weeks, net) if math.isfinite(v))[:600],
        )
        body.append(f'<div class="chart">{svg}</div>')
    else:
        body.append('<p class="note">センチメントのデータがありません。</p>')
    return _card("trends", "".join(body))


def _channels(d: _Data) -> str:
    body = [_h2("チャネル別", "Channels")]
    docs = d.docs
    if docs.empty or "channel" not in docs.columns:
        body.append('<p class="note">チャネルのデータがありません。</p>')
        return _card("channels", "".join(body))
    chan = docs["channel"].astype(object).where(docs["channel"].notna(), "other").astype(str)
    sent = docs["sentiment"].astype(object) if "sentiment" in docs.columns else None
    rating = pd.to_numeric(docs["rating"], errors="coerce") if "rating" in docs.columns else None
    has_rating = rating is not None and bool(rating.notna().any())
    vc = chan.value_counts()
    rows = []
    for c, n in list(vc.items())[:MAX_CHANNELS]:
        m = chan == c
        cell_mix, cell_net = "", "—"
        if sent is not None:
            sc = sent[m].value_counts()
            counts = {k: int(sc.get(k, 0)) for k in SENTIMENTS4}
            tot = sum(counts.values())
            cell_mix = ch.mix_bar([(k, counts[k]) for k in SENTIMENTS4], label=CHANNEL_JA.get(c, c))
            if tot:
                cell_net = _net_html((counts["positive"] - counts["negative"]) / tot)
        r = ""
        if has_rating:
            rm = rating[m].mean()
            r = f'<td class="num">{rm:.2f}</td>' if math.isfinite(rm) else '<td class="num">—</td>'
        name = CHANNEL_JA.get(c, c)
        label = f"{esc(name)}" + (f' <span class="muted small">{esc(c)}</span>' if name != c else "")
        rows.append(f"<tr><td>{label}</td><td class=\"num\">{int(n):,}</td><td class=\"num\">{_pct(n / len(docs))}</td>"
                    f"<td class=\"num\">{cell_net}</td>{r}<td>{cell_mix}</td></tr>")
    head = ('<th>チャネル<span class="en">Channel</span></th><th class="num">文書<span class="en">Docs</span></th>'
            '<th class="num">構成比<span class="en">Share</span></th><th class="num">正味<span class="en">Net</span></th>'
            + ('<th class="num">平均評価<span class="en">Rating</span></th>' if has_rating else "")
            + '<th>構成<span class="en">Mix</span></th>')
    body.append('<p class="lead">文書単位のセンチメント（混在 = ポジティブとネガティブの両方を含む文書）。</p>')
    body.append(f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    body.append('<div class="legend">' + "".join(
        f'<span><i class="sw-{k}"></i>{esc(ch.SENTIMENT_JA[k])}</span>' for k in SENTIMENTS4) + "</div>")
    return _card("channels", "".join(body))


def _quote_li(text: Any, sentiment: Any, meta: str) -> str:
    key = str(sentiment) if not _is_missing(sentiment) and str(sentiment) in ch.SENTIMENT_JA else "none"
    m = f'<span class="qmeta">{meta}</span>' if meta else ""
    return f'<li class="s-{key}">{_badge(sentiment)}{esc(_clip(text))}{m}</li>'


def _theme_sections(d: _Data) -> str:
    out = [f'<section id="themes" class="themes-block"><div class="card">{_h2("テーマ詳細", "Themes in detail")}']
    if not d.themes:
        out.append('<p class="note">テーマがありません（no themes）。</p></div></section>')
        return "".join(out)
    shown = d.themes[:MAX_THEME_SECTIONS]
    more = len(d.themes) - len(shown)
    out.append(f'<p class="lead">各テーマの代表的な声と、最もネガティブな声。'
               + (f"件数上位 {len(shown)} テーマを表示（他 {more} テーマは一覧のみ）。" if more > 0 else "") + "</p>"
               + (_lens_legend() if any(t["stage_mix"] or t["intent_mix"] for t in shown) else "") + "</div>")

    # most negative segments per theme, computed once (vectorised)
    neg_by_theme: dict[int, list[int]] = {}
    if d.seg_sent is not None and "text" in d.segs.columns:
        ids = {t["theme_id"] for t in shown}
        mask = (d.seg_sent == "negative").values & d.seg_theme.isin(ids).values
        pos = np.flatnonzero(mask)
        if len(pos):
            if d.seg_score is not None:
                key = d.seg_score.values[pos]
            elif "p_negative" in d.segs.columns:
                key = -pd.to_numeric(d.segs["p_negative"], errors="coerce").values[pos]
            else:
                key = np.zeros(len(pos))
            key = np.where(np.isfinite(key.astype(float)), key.astype(float), 0.0)
            frame = pd.DataFrame({"pos": pos, "theme": d.seg_theme.values[pos], "key": key})
            frame = frame.sort_values(["key", "pos"], kind="stable")
            top = frame.groupby("theme", sort=False).head(MAX_NEGATIVES + MAX_QUOTES + 5)
            for tid, grp in top.groupby("theme", sort=False):
                neg_by_theme[int(tid)] = grp["pos"].tolist()

    for t in shown:
        tid = t["theme_id"]
        stats = [f"件数 <b>{t['size']:,}</b>", f"構成比 <b>{_pct(t['share'])}</b>"]
        if t["n_documents"] >= 0:
            stats.append(f"文書 <b>{t['n_documents']:,}</b>")
        stats.append(f"正味 {_net_html(t['net'])}")
        stats.append(ch.mix_bar([(k, t[k]) for k in SENTIMENTS3], width=120, label=t["label"]))
        stats.append(f'<span class="small">ネガ {_pct(t["negative"], 0)} / ニュートラル {_pct(t["neutral"], 0)} / '
                     f'ポジ {_pct(t["positive"], 0)}</span>')
        if d.week_of_seg is not None and len(d.weeks) > 1:
            wc = d.theme_weekly(tid)
            stats.append('<span class="small">週次推移</span> ' + ch.sparkline(wc, label=f"{t['label']} 週次件数: " + ", ".join(map(str, wc[-12:]))))
        if t["uid"] and d.hist is not None and len(d.hist_weeks) > 1:
            hc = d.hist_counts(t["uid"])
            stats.append(f'<span class="small">履歴 {len(hc)}週</span> ' + ch.sparkline(
                hc, color=ch.MUTED, label=f"{t['uid']} {t['label']} 週次件数（履歴ストア {d.hist_weeks[0]}〜{d.hist_weeks[-1]}）: "
                + ", ".join(map(str, hc))))
        parts = [
            f'<section class="card theme" id="theme-{tid}">',
            f'<div class="theme-head"><h3>{esc(t["label"])}<span class="theme-id">#{tid}</span>{_uid_badges(t)}</h3>'
            f'<a class="backtop" href="#overview">↑ 一覧へ</a></div>',
            f'<div class="theme-stats">{"".join(f"<span>{s}</span>" for s in stats)}</div>',
            _lens_block(t),
            f'<div>{_chips(t["keywords"], MAX_KEYWORDS_SECTION)}</div>',
        ]
        # representative quotes
        quote_pos: set[int] = set()
        seen_text: set[str] = set()
        items = []
        qids, qtexts = t["quotes"], t["quote_texts"]
        n_q = max(len(qids), len(qtexts))
        for j in range(n_q):
            if len(items) >= MAX_QUOTES:
                break
            pos_ = d.seg_row(qids[j]) if j < len(qids) else None
            text = qtexts[j] if j < len(qtexts) else (d.seg_value(pos_, "text") if pos_ is not None else None)
            if _is_missing(text) or not str(text).strip():
                continue
            sent = d.seg_value(pos_, "sentiment") if pos_ is not None else None
            if pos_ is not None:
                quote_pos.add(pos_)
            seen_text.add(str(text).strip())
            items.append(_quote_li(text, sent, d.doc_meta(pos_)))
        parts.append('<h4>代表的な声 <span class="en">Representative quotes</span></h4>')
        parts.append(f'<ul class="quotes">{"".join(items)}</ul>' if items else '<p class="note">代表例はありません。</p>')
        # most negative segments
        negs = []
        for p in neg_by_theme.get(tid, []):
            if len(negs) >= MAX_NEGATIVES:
                break
            text = d.seg_value(p, "text")
            if p in quote_pos or _is_missing(text) or str(text).strip() in seen_text:
                continue
            seen_text.add(str(text).strip())
            negs.append(_quote_li(text, "negative", d.doc_meta(p)))
        if negs:
            parts.append('<h4>最もネガティブな声 <span class="en">Most negative</span></h4>')
            parts.append(f'<ul class="quotes">{"".join(negs)}</ul>')
        parts.append("</section>")
        out.append("".join(parts))
    out.append("</section>")
    return "".join(out)


def _unassigned(d: _Data) -> str:
    body = [_h2("未分類のセグメント", "Unassigned segments")]
    if not d.n_segs:
        body.append('<p class="note">セグメントがありません。</p>')
        return _card("unassigned", "".join(body))
    if not d.has_seg_themes:
        body.append('<p class="note">テーマ割り当てが実行されていません（no theme assignment）。</p>')
        return _card("unassigned", "".join(body))
    mask, skipped = _unthemed(d)
    n_un, n_skip = int(mask.sum()), int(skipped.sum())
    body.append(f'<p><b>{n_un:,}</b> セグメント（テーマ対象の {_pct(n_un / max(d.n_segs - n_skip, 1))}）がどのテーマにも属していません。'
                "どのテーマの典型からも遠い文や、件数の少ない話題が主です。</p>")
    if n_skip:
        body.append(f'<p class="note">このほか挨拶・結び・注文番号・URL だけのセグメント {n_skip:,} 件は、'
                    "内容を持たないためテーマ分けの対象外です（segments.csv の kind 列）。</p>")
    if n_un and "text" in d.segs.columns:
        pos = np.flatnonzero(mask)
        texts = d.segs["text"].iloc[pos].astype(object)
        lens = texts.map(lambda s: len(str(s)) if not _is_missing(s) else 0).values
        good = pos[(lens >= 8) & (lens <= 200)]
        if len(good) < MAX_UNASSIGNED_EXAMPLES:
            good = pos
        # spread the examples over the corpus, deterministically
        step = max(1, len(good) // (MAX_UNASSIGNED_EXAMPLES * 2))
        items, seen = [], set()
        for p in good[::step]:
            text = d.seg_value(int(p), "text")
            if _is_missing(text) or not str(text).strip() or str(text).strip() in seen:
                continue
            seen.add(str(text).strip())
            items.append(_quote_li(text, d.seg_value(int(p), "sentiment"), d.doc_meta(int(p))))
            if len(items) >= MAX_UNASSIGNED_EXAMPLES:
                break
        if items:
            body.append('<h4>例 <span class="en">Examples</span></h4><ul class="quotes">' + "".join(items) + "</ul>")
    return _card("unassigned", "".join(body))


# -- run details -------------------------------------------------------------------------------
def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}" if math.isfinite(float(v)) else "—"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10000 else str(int(v))
    if _is_missing(v):
        return "—"
    return _clip(v, MAX_DETAIL_STR)


def _value_html(v: Any, depth: int = 0) -> str:
    if isinstance(v, pd.DataFrame):
        return esc(f"<table {v.shape[0]}×{v.shape[1]}>")
    if isinstance(v, dict):
        if not v:
            return '<span class="muted">—</span>'
        if depth >= MAX_DETAIL_DEPTH:
            return esc(_clip(json.dumps(v, ensure_ascii=False, default=str), MAX_DETAIL_STR))
        items = list(v.items())
        rows = "".join(f'<tr><td class="k">{esc(_clip(k, 80))}</td><td>{_value_html(val, depth + 1)}</td></tr>'
                       for k, val in items[:MAX_DETAIL_ITEMS])
        if len(items) > MAX_DETAIL_ITEMS:
            rows += f'<tr><td class="k">…</td><td class="muted">他 {len(items) - MAX_DETAIL_ITEMS} 件</td></tr>'
        return f"<table>{rows}</table>"
    if isinstance(v, (list, tuple, set, np.ndarray)):
        seq = list(v)
        if not seq:
            return '<span class="muted">—</span>'
        if all(not isinstance(x, (dict, list, tuple, set, np.ndarray)) for x in seq):
            shown = ", ".join(_scalar(x) for x in seq[:MAX_DETAIL_ITEMS])
            more = f" …（他 {len(seq) - MAX_DETAIL_ITEMS} 件）" if len(seq) > MAX_DETAIL_ITEMS else ""
            return esc(_clip(shown, MAX_DETAIL_STR * 2) + more)
        if depth >= MAX_DETAIL_DEPTH:
            return esc(_clip(json.dumps(seq, ensure_ascii=False, default=str), MAX_DETAIL_STR))
        lis = "".join(f"<li>{_value_html(x, depth + 1)}</li>" for x in seq[:MAX_DETAIL_ITEMS])
        if len(seq) > MAX_DETAIL_ITEMS:
            lis += f'<li class="muted">他 {len(seq) - MAX_DETAIL_ITEMS} 件</li>'
        return f'<ol class="kv-list">{lis}</ol>'
    return esc(_scalar(v))


def _timings_html(timings: dict) -> str:
    rows, total = [], 0.0
    for k, v in list(timings.items())[:MAX_DETAIL_ITEMS]:
        s = _f(v, float("nan"))
        if math.isfinite(s):
            total += s
        rows.append(f'<tr><td class="k">{esc(_clip(k, 80))}</td><td class="num">'
                    f'{f"{s:.2f} s" if math.isfinite(s) else esc(_scalar(v))}</td></tr>')
    rows.append(f'<tr><td class="k"><b>合計 total</b></td><td class="num"><b>{total:.2f} s</b></td></tr>')
    return f'<table style="width:auto">{"".join(rows)}</table>'


def _run_details(d: _Data, manifest: dict | None) -> str:
    inner = []
    if isinstance(manifest, dict) and manifest:
        inner.append('<h4>マニフェスト <span class="en">Manifest</span></h4>')
        rows = []
        for key, val in list(manifest.items())[:MAX_DETAIL_ITEMS]:
            cell = _timings_html(val) if key == "timings" and isinstance(val, dict) else _value_html(val, 1)
            rows.append(f'<tr><td class="k">{esc(_clip(key, 80))}</td><td>{cell}</td></tr>')
        inner.append(f'<div class="table-wrap"><table>{"".join(rows)}</table></div>')
    meta = d.meta
    timings = meta.get("timings")
    if isinstance(timings, dict) and timings and not (isinstance(manifest, dict) and isinstance(manifest.get("timings"), dict)):
        inner.append(f'<h4>処理時間 <span class="en">Timings</span></h4>{_timings_html(timings)}')
    for key, ja in (("ingest", "読み込み Ingest"), ("themes", "テーマ抽出 Themes"), ("store", "履歴ストア Store")):
        val = meta.get(key)
        if isinstance(val, dict) and val:
            inner.append(f"<h4>{esc(ja)}</h4>{_value_html(val, 1)}")
    if not inner:
        inner.append('<p class="note">実行情報はありません（no run details）。</p>')
    return _card("run", f'<details class="run"><summary>実行情報 <span class="muted">Run details</span></summary>'
                        f'{"".join(inner)}</details>')


# ==============================================================================================
# customer lenses: goals, pain ranking, journey x job, emotions
# ==============================================================================================
def _theme_link(d: _Data, theme_id: int, label: str, n: int = 80) -> str:
    """The theme's label, linked to its section when the page has one (cut to ``n`` characters,
    the full label as a tooltip)."""
    label = label or f"テーマ {theme_id}"
    short = _clip(label, n)
    title = f' title="{esc(_clip(label, 200))}"' if short != _clip(label, 200) else ""
    if theme_id in d.section_ids:
        return f'<a href="#theme-{theme_id}"{title}>{esc(short)}</a>'
    return f"<span{title}>{esc(short)}</span>"


def _split_paren(s: str) -> tuple[str, str]:
    """"74%（VOC推定: 困りごとの割合）" -> ("74%", "VOC推定: 困りごとの割合")."""
    s = s.strip()
    cut = [i for i in (s.find("（"), s.find("(")) if i > 0]
    if not cut:
        return s, ""
    i = min(cut)
    head, rest = s[:i].strip(), s[i:].strip()
    if rest[:1] in "（(" and rest[-1:] in "）)":
        rest = rest[1:-1].strip()
    return head, rest


EST_TITLE = "VOC推定: フィードバック（顧客の声）から推定した値で、KPI の実測値ではありません"
MEASURE_TITLE = "要測定: この KPI は顧客の声からは推定できません。実測値を取得してから目標を確定します"


def _goal_current(g: dict, compact: bool = False) -> str:
    text = g["current"]
    if g["has_current_value"]:
        estimated = g["current_value"] is not None
    else:
        estimated = "VOC推定" in text
    if not estimated:
        if not text and not g["has_current_value"]:
            return '<span class="muted">—</span>'
        sub = "" if compact else '<span class="sub">VOCでは測れない</span>'
        return f'<span class="tag measure" title="{esc(MEASURE_TITLE)}">要測定</span>{sub}'
    head, rest = _split_paren(text)
    if not head and g["current_value"] is not None:
        head = f'{g["current_value"]:.1f}'
    proxy = g["proxy"] if g["proxy"] and g["proxy"] != "なし" else rest.replace("VOC推定:", "").replace("VOC推定", "").strip()
    sub = "" if compact or not proxy else f'<span class="sub">{esc(_clip(proxy, 60))}</span>'
    return (f'<b class="val">{esc(_clip(head, 40))}</b> <span class="tag est" title="{esc(EST_TITLE)}">VOC推定</span>{sub}')


def _goal_target(g: dict) -> str:
    if not g["target"]:
        return '<span class="muted">—</span>'
    head, rest = _split_paren(g["target"])
    sub = f'<span class="sub">{esc(_clip(rest, 80))}</span>' if rest else ""
    if len(head) > 14 or not any(c.isdigit() for c in head):  # a rule in words, not a value
        return f'<span class="tnote">{esc(_clip(head, 60))}</span>{sub}'
    return f'<b class="val">{esc(_clip(head, 60))}</b>{sub}'


def _trend_html(trend: str, better: str) -> str:
    """Observed trend of the VOC estimate next to the desired direction, coloured by agreement."""
    t = trend if trend in ("↑", "↓", "→") else ""
    b = better if better in ("↑", "↓") else ""
    if not t:
        cls, word, tip = "tr-none", "データ不足", "直近8週間の日付付きデータが足りず、トレンドを判定できません"
    elif t == "→":
        cls, word, tip = "tr-flat", "横ばい", "直近2週間とその前6週間で大きな変化なし"
    elif b and t == b:
        cls, word, tip = "tr-good", "改善", "観測された動きが目標の向きと一致（良い方向）"
    elif b:
        cls, word, tip = "tr-bad", "悪化", "観測された動きが目標と逆向き（悪い方向）"
    else:
        cls, word, tip = "tr-flat", "", ""
    return (f'<span class="trend {cls}" title="{esc(tip)}"><span class="ta">観測 {esc(t or "—")} / 目標 {esc(b or "—")}</span>'
            + (f'<span class="tw">{esc(word)}</span>' if word else "") + "</span>")


def _horizon_html(h: str) -> str:
    """"中期（6ヶ月以内）・3ヶ月で中間確認" -> the horizon, then the checkpoint on its own line."""
    if not h:
        return "—"
    h = _clip(h, 80)
    if "）・" in h:
        head, rest = h.split("）・", 1)
        return f'<span class="nw">{esc(head)}）</span><span class="sub">{esc(rest)}</span>'
    return f'<span class="nw">{esc(h)}</span>' if len(h) <= 12 else esc(h)


def _dept_chips(depts: list[str]) -> str:
    return _chips(depts, MAX_DEPARTMENTS)


def _goals(d: _Data) -> str:
    if not d.goals and not d.has_lens:
        return ""
    body = [_h2("顧客視点の目標", "Customer-centred goals")]
    if not d.goals:
        body.append('<p class="note">提案された目標はありません（no goals were proposed）。</p>')
        return _card("goals", "".join(body))
    n_prob = sum(1 for g in d.goals if g["pxp"] != "POD")
    n_pod = len(d.goals) - n_prob
    scope = "と".join(x for x in (f"インパクトの大きい課題テーマ {n_prob} 件" if n_prob else "",
                                   f"強み（POD）{n_pod} 件" if n_pod else "") if x)
    body.append(f'<p class="lead">{scope}について、顧客の成果を起点に目標を提案します。'
                "目標値は POF（弱点）を半減、POP（標準）を維持、POD（強み）を伸ばす規則で計算しています。</p>")
    rows = []
    for g in d.goals:
        goal = esc(_clip(g["outcome"] or g["theme"], MAX_GOAL_CHARS))
        theme = (f'<span class="gsub">{_pxp_badge(g["pxp"])}{_theme_link(d, g["theme_id"], g["theme"])}'
                 + (f' <span class="muted">#{g["impact_rank"]}</span>' if g["impact_rank"] else "") + "</span>")
        kpi = esc(_clip(g["kpi"], 60)) or '<span class="muted">—</span>'
        if g["kpi_unit"]:
            kpi += f' <span class="muted small">[{esc(_clip(g["kpi_unit"], 12))}]</span>'
        rows.append(
            "<tr>"
            f'<td class="goal">{goal}{theme}</td>'
            f"<td>{kpi}</td>"
            f'<td class="cur">{_goal_current(g)}</td>'
            f'<td class="tgt">{_goal_target(g)}</td>'
            f"<td>{_trend_html(g['trend'], g['better'])}</td>"
            f"<td>{_dept_chips(g['departments'])}</td>"
            f'<td class="hz">{_horizon_html(g["horizon"])}</td>'
            + (f'<td class="wk">{_goal_spark(d, g)}</td>' if d.hist is not None else "")
            + "</tr>"
        )
    body.append('<h3 class="sub-h">KPIダッシュボード<span class="en">KPI dashboard</span></h3>')
    body.append(
        '<div class="table-wrap"><table class="dashboard"' + (' data-wk="1"' if d.hist is not None else "") + '><thead><tr>'
        '<th>顧客視点の目標<span class="en">Customer outcome</span></th>'
        '<th>KPI</th>'
        '<th>現状値<span class="en">Current</span></th>'
        '<th>目標値<span class="en">Target</span></th>'
        '<th>トレンド<span class="en">Trend</span></th>'
        '<th>担当部門<span class="en">Owner</span></th>'
        '<th>期限<span class="en">Horizon</span></th>'
        + ('<th class="wk">週次推移<span class="en">Trend over weeks</span></th>' if d.hist is not None else "")
        + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    body.append(
        '<div class="legend goal-legend">'
        f'<span><span class="tag est">VOC推定</span> 顧客の声から推定した値（KPI の実測値ではない）</span>'
        f'<span><span class="tag measure">要測定</span> VOC では測れない KPI — 実測してから目標を確定</span>'
        '<span><span class="trend tr-good"><span class="tw">改善</span></span> 観測トレンドが目標の向きと一致</span>'
        '<span><span class="trend tr-bad"><span class="tw">悪化</span></span> 目標と逆向き</span>'
        '</div>'
        '<p class="note">トレンド: 「観測」は VOC推定値の直近2週間とその前6週間の比較（↑ 上昇・↓ 低下・→ 横ばい）、'
        "「目標」は目指す向き。現状値・目標値は実行のたびに最新の VOC で引き直されます。"
        + (f"週次推移: 履歴ストアの週次集計から、テーマのVOC推定値（困りごと・否定的な声・苦情の割合, %）を直近 {len(d.hist_weeks)} 週"
           "分表示（左端と右端の週の値; 評価の指標は週次集計にないため —）。" if d.hist is not None else "")
        + "</p>")

    cards = []
    for g in d.goals[:MAX_GOAL_CARDS]:
        pxp = g["pxp"] if g["pxp"] in PXP else "none"
        ctx = " · ".join(x for x in (STAGE_JA.get(g["stage"], g["stage"]) if g["stage"] and g["stage"] != "none" else "",
                                     (JOB_JA.get(g["job_type"], g["job_type"]) + "ジョブ") if g["job_type"] and g["job_type"] != "none" else "") if x)
        head = (f'<div class="goal-head">{_pxp_badge(g["pxp"])}'
                + (f'<span class="rank">#{g["impact_rank"]}</span>' if g["impact_rank"] else "")
                + f'<span class="gtheme">{_theme_link(d, g["theme_id"], g["theme"])}</span>'
                + (f'<span class="muted small">{esc(ctx)}</span>' if ctx else "") + "</div>")
        acts = g["actions"][:MAX_ACTIONS]
        acts_html = ("<ul>" + "".join(f"<li>{esc(_clip(a, MAX_GOAL_CHARS))}</li>" for a in acts)
                     + (f'<li class="muted">他 {len(g["actions"]) - len(acts)} 件</li>' if len(g["actions"]) > len(acts) else "")
                     + "</ul>") if acts else '<span class="muted">—</span>'
        kpi = esc(_clip(g["kpi"], 60)) or "—"
        if g["proxy"] and g["proxy"] != "なし" and g["current_value"] is not None:
            kpi += f'<span class="sub">VOC推定の指標: {esc(_clip(g["proxy"], 40))}</span>'
        horizon = f'<span class="sub">期限: {esc(_clip(g["horizon"], 60))}</span>' if g["horizon"] else ""
        target = (f'<span class="now">現状 {_goal_current(g, compact=True)}</span><span class="arrow">→</span>'
                  f'<span class="to">{_goal_target(g)}</span>{horizon}')
        tpl = [
            ("顧客課題/ニーズ", esc(_clip(g["customer_need"], MAX_GOAL_CHARS)) or "—"),
            ("目指す顧客成果", esc(_clip(g["outcome"], MAX_GOAL_CHARS)) or "—"),
            ("目標指標", kpi),
            ("目標値", target),
            ("関連部門", _dept_chips(g["departments"])),
            ("必要な施策", acts_html),
        ]
        dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in tpl)
        cards.append(f'<article class="goal-card edge-{pxp}">{head}<dl class="goal-tpl">{dl}</dl></article>')
    body.append('<h3 class="sub-h">目標設計<span class="en">Goal template per theme</span></h3>')
    if len(d.goals) > MAX_GOAL_CARDS:
        body.append(f'<p class="note">上位 {MAX_GOAL_CARDS} 件を表示（全 {len(d.goals)} 件はダッシュボードと goals.csv）。</p>')
    body.append(f'<div class="goal-cards">{"".join(cards)}</div>')
    return _card("goals", "".join(body))


PXP_LEGEND = (
    '<div class="legend pxp-legend">'
    f'<span>{_pxp_badge("POF")} 弱点: ペイン ≥ 0.40 または 正味 ≤ −0.20</span>'
    f'<span>{_pxp_badge("POD")} 強み: 正味 ≥ +0.30・ペイン &lt; 0.15・構成比 ≥ 2%</span>'
    f'<span>{_pxp_badge("POP")} 標準: それ以外</span>'
    f'<span>{_pxp_badge("", True)} 10件未満（判定は参考）</span>'
    "</div>")


def _pain(d: _Data) -> str:
    ranked = [t for t in d.themes if t["impact_rank"]]
    if not ranked:
        return ""
    ranked.sort(key=lambda t: (t["impact_rank"], -t["size"]))
    shown = ranked[:MAX_PAIN_ROWS]
    impacts = [t["impact"] for t in shown if math.isfinite(t["impact"]) and t["pxp"] != "POD"]
    top_imp = max(impacts, default=0.0) or 1.0
    rows, pod_started = [], False
    for t in shown:
        if t["pxp"] == "POD" and not pod_started:
            pod_started = True
            rows.append('<tr class="group"><td colspan="9">強み（POD）— 件数 × ポジティブ度の順 '
                        '<span class="en">Strengths, ranked by volume × positivity</span></td></tr>')
        imp = t["impact"]
        bar = ""
        if math.isfinite(imp) and t["pxp"] != "POD":
            bar = f'<span class="ibar"><span style="width:{min(100.0, imp / top_imp * 100):.1f}%"></span></span>'
        pain = f'{_pct(t["pain"], 0)}' if math.isfinite(t["pain"]) else "—"
        pain_cls = ' class="num hot"' if math.isfinite(t["pain"]) and t["pain"] >= 0.40 else ' class="num"'
        rows.append(
            f'<tr class="{"pod" if t["pxp"] == "POD" else ""}">'
            f'<td class="num rank">{t["impact_rank"]}</td>'
            f'<td class="label">{_theme_link(d, t["theme_id"], t["label"], 24)}</td>'
            f'<td class="badges">{_pxp_badge(t["pxp"], t["low_evidence"]) or "—"}</td>'
            f'<td class="num">{t["size"]:,}</td>'
            f"<td{pain_cls}>{pain}</td>"
            f'<td class="num">{_net_html(t["net"])}</td>'
            f'<td class="num">{_growth_html(t["growth"])}</td>'
            f'<td class="num impact">{(f"{imp:,.1f}" if math.isfinite(imp) else "—")}{bar}</td>'
            f'<td>{_dept_chips(t["departments"])}</td>'
            "</tr>")
    body = [_h2("ペインポイント", "Pain points, ranked"),
            '<p class="lead">課題テーマ（POF・POP）をインパクトの大きい順に、強み（POD）はその後に表示。'
            + (f"上位 {len(shown)} テーマ（全 {len(ranked)}）。" if len(ranked) > len(shown) else "") + "</p>",
            '<div class="table-wrap"><table class="pain-table"><thead><tr>'
            '<th class="num">順位<span class="en">Rank</span></th>'
            '<th>テーマ<span class="en">Theme</span></th>'
            '<th>判定<span class="en">Tag</span></th>'
            '<th class="num">件数<span class="en">Size</span></th>'
            '<th class="num">ペイン<span class="en">Pain</span></th>'
            '<th class="num">正味<span class="en">Net</span></th>'
            '<th class="num">伸び<span class="en">Growth</span></th>'
            '<th class="num">インパクト<span class="en">Impact</span></th>'
            '<th>担当部門<span class="en">Owner</span></th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>',
            PXP_LEGEND,
            '<p class="note formula">インパクト <code>impact = n × (neg + 0.5 × pain) × (1 + min(2, max(0, growth)))</code>'
            "（n = 件数、neg = ネガティブ比率（混在は半分）、pain = ペインスコア = 困りごとを述べるセグメントの割合）。"
            "伸び <code>growth</code> = 直近2週間の週平均件数とその前6週間の比較（日付が8週間分ない場合は 0）。"
            "同点は件数の多い順。</p>"]
    return _card("pain", "".join(body))


def _journey(d: _Data) -> str:
    segs = d.segs
    if "journey_stage" not in segs.columns or "job_type" not in segs.columns:
        return ""
    body = [_h2("ジャーニー × ジョブ", "Journey × job")]
    content = (segs["kind"].astype(object) == "content").to_numpy() if "kind" in segs.columns else np.ones(len(segs), bool)

    def norm(col: str, keys: tuple[str, ...]) -> pd.Series:
        v = segs[col].astype(object).where(segs[col].notna(), "none").astype(str)
        return v.where(v.isin(keys), "none")

    stage = norm("journey_stage", STAGES)[content]
    job = norm("job_type", JOBS)[content]
    n = len(stage)
    if not n:
        body.append('<p class="note">内容のあるセグメントがありません（no content segments）。</p>')
        return _card("journey", "".join(body))
    row_keys, col_keys = STAGES + ("none",), JOBS + ("none",)
    ct = pd.crosstab(stage, job).reindex(index=list(row_keys), columns=list(col_keys), fill_value=0)
    counts = ct.to_numpy().astype(int).tolist()
    neg = None
    if d.seg_sent is not None:
        is_neg = (d.seg_sent.astype(object) == "negative").to_numpy()[content]
        nt = pd.crosstab(stage[is_neg], job[is_neg]) if is_neg.any() else pd.DataFrame()
        neg = nt.reindex(index=list(row_keys), columns=list(col_keys), fill_value=0).to_numpy().astype(int).tolist()
    rows = [(STAGE_JA[k], k) for k in STAGES] + [("なし", "none")]
    cols = [(JOB_JA[k], k) for k in JOBS] + [("なし", "none")]
    # the busiest and the most negative combinations (for the desc and a sentence)
    cells = [(counts[i][j], (neg[i][j] / counts[i][j]) if neg and counts[i][j] else 0.0, i, j)
             for i in range(len(STAGES)) for j in range(len(JOBS)) if counts[i][j]]
    desc = "、".join(f"{rows[i][0]}×{cols[j][0]} {c}件" + (f"（ネガ{ch.fmt_pct(s)}）" if neg else "")
                     for c, s, i, j in sorted(cells, reverse=True)[:8])
    svg = ch.heatmap(rows, cols, counts, neg, chart_id="chart-journey", title="ジャーニー段階 × ジョブ種別のセグメント数",
                     desc=(desc or "データなし") + "。行は認知・検討・購入・利用・サポート・リピート推奨・なし、列は機能的・感情的・社会的・なし。",
                     muted_rows=[len(STAGES)], muted_cols=[len(JOBS)])
    body.append(f'<p class="lead">内容のあるセグメント {n:,} 件（挨拶・定型文を除く）を、カスタマージャーニーの段階（行）と'
                "顧客が片付けたいジョブ（列: Jobs-to-be-Done）で集計。セルにカーソルを合わせると詳細を表示。</p>")
    body.append(f'<div class="chart">{svg}</div>')
    notes = []
    if cells:
        c, _, i, j = max(cells)
        notes.append(f"最も多い組み合わせは <b>{esc(rows[i][0])} × {esc(cols[j][0])}</b>（{c:,}件, {_pct(c / n)}）。")
        if neg:
            floor = max(10, int(0.02 * n))
            cand = [x for x in cells if x[0] >= floor]
            if cand:
                c2, s2, i2, j2 = max(cand, key=lambda x: (x[1], x[0]))
                notes.append(f"ネガティブ比率が最も高いのは <b>{esc(rows[i2][0])} × {esc(cols[j2][0])}</b>"
                             f"（{_pct(s2, 0)}, {c2:,}件; {floor}件以上のセル）。")
    n_none = sum(counts[-1]) + sum(r[-1] for r in counts[:-1])
    if n_none:
        notes.append(f"段階またはジョブが「なし」のセグメント（判定できる手がかりがない文）は {n_none:,} 件で、薄い色で別枠表示しています。")
    if notes:
        body.append('<p class="note">' + "".join(notes) + "</p>")
    return _card("journey", "".join(body))


EMO_VALENCE = {"joy": ch.POS, "trust": ch.POS, "anticipation": ch.POS, "surprise": "#8C8C8C",
               "sadness": ch.NEG, "anger": ch.NEG, "fear": ch.NEG, "disgust": ch.NEG}


def _emotions(d: _Data) -> str:
    if "emotion" not in d.docs.columns or not d.n_docs:
        return ""
    col = d.docs["emotion"]
    s = col.astype(object).where(col.notna(), "").astype(str).str.lower()
    body = [_h2("感情の内訳", "Emotions (Plutchik)")]
    stats = []
    for e in EMOTIONS:
        m = s.str.contains(rf"(?:^|[,;\s]){e}(?:\s*:|\s*,|\s*;|\s*$)", regex=True)
        stats.append((e, int(m.sum())))
    n_any = int((s.str.strip() != "").sum())
    if not n_any:
        body.append('<p class="note">感情が検出された文書はありません（no emotions detected）。</p>')
        return _card("emotions", "".join(body))
    stats.sort(key=lambda x: (-x[1], EMOTIONS.index(x[0])))
    svg = ch.hbar_chart(
        [(f"{EMOTION_JA[e]} {e}", c / d.n_docs * 100) for e, c in stats],
        chart_id="chart-emotions",
        title="感情を含む文書の割合（プルチックの8感情）",
        desc="、".join(f"{EMOTION_JA[e]} {ch.fmt_pct(c / d.n_docs)}（{c}件）" for e, c in stats),
        axis_label="文書に占める割合 (%) / share of documents",
        value_labels=[f"{_pct(c / d.n_docs)}（{c:,}件）" for _, c in stats],
        colors=[EMO_VALENCE[e] for e, _ in stats],
    )
    body.append(f'<p class="lead">各感情が1つ以上のセグメントに現れた文書の割合（1文書に複数の感情があり得るため合計は100%を超えます）。'
                f"感情が検出された文書は {n_any:,} 件（{_pct(n_any / d.n_docs)}）。</p>")
    body.append(f'<div class="chart">{svg}</div>')
    body.append(f'<div class="legend"><span><i style="background:{ch.POS}"></i>ポジティブ寄り（喜び・信頼・期待）</span>'
                f'<span><i style="background:{ch.NEG}"></i>ネガティブ寄り（怒り・嫌悪・悲しみ・恐れ）</span>'
                '<span><i style="background:#8C8C8C"></i>どちらでもない（驚き）</span></div>')
    return _card("emotions", "".join(body))


def _mini_mix(mix: dict, keys: tuple[str, ...], colors: dict, names: dict, label: str, top: int = 2) -> str:
    """A small 100% bar (all categories, tooltip) and the top categories as text ("none"/"other" only
    in the bar, unless nothing else is present)."""
    vals = [(k, max(0.0, mix.get(k, 0.0))) for k in keys]
    if not sum(v for _, v in vals):
        return '<span class="muted">—</span>'
    bar = ch.mix_bar(vals, width=120, height=10, label=label, colors=colors, names=names)
    named = [x for x in vals if x[1] > 0 and x[0] not in ("none", "other")] or [x for x in vals if x[1] > 0]
    tops = sorted(named, key=lambda x: -x[1])[:top]
    text = " · ".join(f"{esc(names.get(k, k))} {_pct(v, 0)}" for k, v in tops)
    return f'{bar}<span class="small">{text}</span>'


def _lens_block(t: dict) -> str:
    """The lens line of a theme card (empty for corpora without the customer lenses)."""
    if not (t["pxp"] or t["impact_rank"] or t["stage_mix"] or t["dominant_job"]):
        return ""
    items: list[tuple[str, str]] = []
    head = _pxp_badge(t["pxp"], t["low_evidence"])
    if t["impact_rank"]:
        head += f'<span class="small">インパクト順位 <b>#{t["impact_rank"]}</b></span>'
    if math.isfinite(t["impact"]):
        head += f'<span class="small muted">（impact {t["impact"]:,.1f}）</span>'
    if head:
        items.append(("判定", head))
    if math.isfinite(t["pain"]):
        items.append(("ペイン", f'<b class="{"hot" if t["pain"] >= 0.40 else ""}">{_pct(t["pain"], 0)}</b>'
                      + (f' <span class="small">伸び {_growth_html(t["growth"])}</span>' if math.isfinite(t["growth"]) else "")))
    if t["dominant_job"]:
        job = JOB_JA.get(t["dominant_job"], t["dominant_job"])
        share = f' {_pct(t["dominant_job_share"], 0)}' if math.isfinite(t["dominant_job_share"]) else ""
        items.append(("ジョブ", f"<b>{esc(job)}</b>{share}"))
    emo = sorted(((k, v) for k, v in t["emotions"].items() if k in EMOTION_JA and v > 0), key=lambda x: -x[1])[:3]
    if emo:
        items.append(("感情", "".join(f'<span class="emo">{esc(EMOTION_JA[k])} <b>{v:.2f}</b></span>' for k, v in emo)))
    if t["stage_mix"]:
        items.append(("ジャーニー", _mini_mix(t["stage_mix"], STAGES + ("none",), STAGE_COLORS, STAGE_JA,
                                          f"{t['label']} ジャーニー段階")))
    if t["intent_mix"]:
        items.append(("意図", _mini_mix(t["intent_mix"], INTENTS, INTENT_COLORS, INTENT_JA, f"{t['label']} 意図")))
    if t["departments"]:
        items.append(("担当部門", _dept_chips(t["departments"])))
    if not items:
        return ""
    return '<dl class="lens">' + "".join(f"<div><dt>{esc(k)}</dt><dd>{v}</dd></div>" for k, v in items) + "</dl>"


def _lens_legend() -> str:
    stage = "".join(f'<span><i style="background:{STAGE_COLORS[k]}"></i>{esc(STAGE_JA[k])}</span>' for k in STAGES + ("none",))
    intent = "".join(f'<span><i style="background:{INTENT_COLORS[k]}"></i>{esc(INTENT_JA[k])}</span>' for k in INTENTS)
    return (f'<div class="legend"><b class="lg">ジャーニー</b>{stage}</div>'
            f'<div class="legend"><b class="lg">意図</b>{intent}'
            '<span>感情 = テーマ内セグメントの平均確率（上位3つ）</span></div>')


# ==============================================================================================
# history store: what changed this week, alerts, themes over weeks
# ==============================================================================================
def _uid_span(uid: str) -> str:
    if not uid:
        return ""
    return (f'<span class="uid" title="安定テーマID: 実行をまたいで同じテーマに同じIDが付きます（stable theme id）">'
            f"{esc(uid)}</span>")


def _uid_badges(t: dict) -> str:
    """The stable theme id and a 継続 / 新規 / 分割 badge (empty without a history store)."""
    out = _uid_span(t["uid"])
    m = MATCH_JA.get(t["matched"])
    if m:
        ja, cls, tip = m
        if math.isfinite(t["match_score"]) and t["matched"] in ("continued", "matched"):
            tip += f"（一致スコア {t['match_score']:.2f}）"
        out += f'<span class="mbadge {cls}" title="{esc(tip)}">{esc(ja)}</span>'
    return out


def _uid_link(d: _Data, uid: str, label: str, n: int = 40) -> str:
    """The label of a stable theme id, linked to this run's theme section when it has one."""
    tid = d.uid_tid.get(uid)
    if tid is not None:
        return _theme_link(d, tid, label, n)
    short = _clip(label or uid, n)
    title = f' title="{esc(_clip(label, 200))}"' if label and short != _clip(label, 200) else ""
    return f"<span{title}>{esc(short)}</span>"


def _status_badge(status: str) -> str:
    ja, en = STATUS_JA.get(status, ("—", ""))
    key = status if status in STATUS_JA else "none"
    return f'<span class="status st-{key}" title="{esc(en)}">{esc(ja)}</span>'


def _arrow_html(arrow: Any, p: Any, kind: str) -> str:
    """↑ / ↓ / → coloured only when significant (p < ALPHA); ``kind``: "share" or "net"."""
    a = _str(arrow)
    a = a if a in ("↑", "↓", "→") else "→"
    pv = _f(p, float("nan"))
    sig = a != "→" and math.isfinite(pv) and pv < ALPHA
    cls = "arr"
    if sig:
        cls += " sig " + ({"share": ("s-up", "s-down"), "net": ("n-good", "n-bad")}[kind][0 if a == "↑" else 1])
        tip = f"{_p_fmt(pv)}: 有意（p < {ALPHA}）"
    else:
        a = "→"
        tip = f"{_p_fmt(pv)}: 有意な変化なし"
    if kind == "net" and sig:
        tip += "（↑ = ネガティブが減少、↓ = ネガティブが増加）"
    return f'<span class="{cls}" title="{esc(tip)}">{a}</span>'


def _opt_pct(v: Any, digits: int = 0) -> str:
    x = _f(v, float("nan"))
    return _pct(x, digits) if math.isfinite(x) and not _is_missing(v) else "—"


def _opt_net(v: Any) -> str:
    x = _f(v, float("nan"))
    return _net_html(x) if math.isfinite(x) and not _is_missing(v) else '<span class="muted">—</span>'


def _latest_week(d: _Data) -> str:
    for c in d.changes:
        if _str(c.get("week")):
            return _str(c.get("week"))
    if d.hist_weeks:
        return d.hist_weeks[-1]
    return next((_str(a.get("week")) for a in d.alerts if _str(a.get("week"))), "")


def _alerts_box(d: _Data) -> str:
    if d.alerts:
        items = []
        for a in d.alerts[:MAX_ALERTS]:
            uid, kind = _str(a.get("theme_uid")), _str(a.get("kind"))
            bits = [_uid_span(_clip(uid, 24)) + f'<span class="akind">{esc(ALERT_KIND_JA.get(kind, kind or "警告"))}</span>']
            if kind == "new_negative_theme":
                bits.append('<span title="過去の週に現れていないため検定の基準がありません">基準なし（新規）</span>')
            else:
                bits.append(esc(_p_fmt(a.get("p_value"))))
            if _str(a.get("week")):
                bits.append(esc(_clip(a.get("week"), 20)))
            tid = d.uid_tid.get(uid)
            if tid is not None and tid in d.section_ids:
                bits.append(f'<a href="#theme-{tid}">テーマ詳細 →</a>')
            msg = _str(a.get("message")) or f"「{_str(a.get('label'))}」の警告"
            items.append(f'<li><span class="amsg">{esc(_clip(msg, 300))}</span>'
                         f'<span class="ameta">{" · ".join(bits)}</span></li>')
        more = (f'<li class="muted">他 {len(d.alerts) - MAX_ALERTS} 件（alerts.json）</li>'
                if len(d.alerts) > MAX_ALERTS else "")
        sens = _str(d.alerts[0].get("sensitivity"))
        how = f"感度 {esc(sens)}（{esc(SENSITIVITY_NOTE[sens])}）" if sens in SENSITIVITY_NOTE else "設定した感度"
        note = (f"{how}で、基準期間（過去の週）の割合から見込まれる件数・割合を有意に上回ったテーマを警告しています"
                "（忙しい週で全体の件数が増えただけでは警告しません）。警告は出力フォルダの alerts.json と履歴ストアに保存されます。")
        return (f'<div class="alerts" aria-label="警告"><div class="ahead"><span class="aicon" aria-hidden="true">!</span>'
                f'警告 <span class="en">Alerts</span><b>{len(d.alerts):,} 件</b></div>'
                f'<ul>{"".join(items)}{more}</ul><p class="anote">{note}</p></div>')
    if not d.has_alerts_key:
        return ""
    extra = ""
    if d.hist is not None and len(d.hist_weeks) < 3:
        extra = '<span class="small muted">（基準となる過去の週が2週分たまるまで、警告は判定されません）</span>'
    return ('<p class="calm"><span class="cicon" aria-hidden="true">✓</span>今週の警告はありません'
            f'<span class="en">No alerts this week</span>{extra}</p>')


def _status_list(d: _Data, items: list[dict], status: str, ja: str, en: str, color: str) -> str:
    head = f'<h3 class="sub-h">{esc(ja)}<span class="en">{esc(en)}</span></h3>'
    if not items:
        return f'<div class="chg-col">{head}<p class="note">該当なし（none）</p></div>'
    lis = []
    for c in items[:MAX_STATUS_ITEMS]:
        uid = _clip(_str(c.get("theme_uid")), 24)
        label = _str(c.get("label")) or d.hist_label(uid) or uid
        counts = d.hist_counts(uid)
        spark = ""
        if len(counts) > 1:
            tip = f"{uid} {label} 週次件数（{d.hist_weeks[0]}〜{d.hist_weeks[-1]}）: " + ", ".join(map(str, counts))
            spark = ch.sparkline(counts, width=120, height=26, color=color, label=tip)
        lis.append(
            f'<li><div class="cl-head">{_uid_span(uid)}<span class="cl-label">{_uid_link(d, uid, label, 28)}</span></div>'
            f'<div class="cl-body"><span class="cl-nums">今週 <b>{_opt_pct(c.get("share"), 1)}</b>'
            f'（{_i(c.get("n")):,}件）<span class="sub">直近2週 {_opt_pct(c.get("recent_share"), 1)} / '
            f'前6週（基準）{_opt_pct(c.get("baseline_share"), 1)} · {esc(_p_fmt(c.get("p_trend")))}</span></span>'
            f"{spark}</div></li>")
    more = f'<li class="muted small">他 {len(items) - MAX_STATUS_ITEMS} テーマ（下の表）</li>' if len(items) > MAX_STATUS_ITEMS else ""
    return f'<div class="chg-col st-col-{status}">{head}<ul class="chg-list">{"".join(lis)}{more}</ul></div>'


def _wow_table(d: _Data) -> str:
    rows = []
    order = {"emerging": 0, "fading": 1, "steady": 2}
    for c in d.changes[:MAX_CHANGE_ROWS]:
        uid = _clip(_str(c.get("theme_uid")), 24)
        label = _str(c.get("label")) or d.hist_label(uid) or uid
        status = _str(c.get("status"))
        sc = _f(c.get("share_change"))
        share_cell = (f'{_arrow_html(c.get("arrow"), c.get("p_share"), "share")} {_pt(sc)}'
                      f'<span class="sub">{_opt_pct(c.get("share_prev"), 1)} → {_opt_pct(c.get("share"), 1)}</span>')
        net_prev = _f(c.get("net_prev"), float("nan"))
        net_cell = (f'{_arrow_html(c.get("arrow_net"), c.get("p_net"), "net")} {_opt_net(c.get("net"))}'
                    f'<span class="sub">前週 {ch.fmt_signed(net_prev) if math.isfinite(net_prev) and not _is_missing(c.get("net_prev")) else "—"}</span>')
        pain_cell = f'{_opt_pct(c.get("pain"))}<span class="sub">前週 {_opt_pct(c.get("pain_prev"))}</span>'
        rows.append(
            "<tr>"
            f'<td class="label" data-v="{esc(uid)}">{_uid_span(uid)}{_uid_link(d, uid, label, 26)}</td>'
            f'<td data-v="{order.get(status, 3)}">{_status_badge(status)}</td>'
            f'<td class="num" data-v="{_i(c.get("n"))}">{_i(c.get("n")):,}</td>'
            f'<td class="num" data-v="{_i(c.get("n_prev"))}">{_i(c.get("n_prev")):,}</td>'
            f'<td class="num" data-v="{sc:.6f}">{share_cell}</td>'
            f'<td class="num" data-v="{_f(c.get("net"), -9):.4f}">{net_cell}</td>'
            f'<td class="num" data-v="{_f(c.get("pain"), -1):.4f}">{pain_cell}</td>'
            "</tr>")
    more = (f'<tfoot><tr><td colspan="7">他 {len(d.changes) - MAX_CHANGE_ROWS:,} テーマは省略</td></tr></tfoot>'
            if len(d.changes) > MAX_CHANGE_ROWS else "")
    return (
        '<div class="table-wrap"><table class="sortable wow-table"><thead><tr>'
        '<th data-sort="str">ID・テーマ<span class="en">Theme</span></th>'
        '<th data-sort="num">状態<span class="en">Status</span></th>'
        '<th class="num" data-sort="num">今週<span class="en">This wk</span></th>'
        '<th class="num" data-sort="num">前週<span class="en">Last wk</span></th>'
        '<th class="num" data-sort="num">構成比<span class="en">Share Δ</span></th>'
        '<th class="num" data-sort="num">正味<span class="en">Net</span></th>'
        '<th class="num" data-sort="num">ペイン<span class="en">Pain</span></th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody>{more}</table></div>')


def _changes(d: _Data) -> str:
    if not d.has_store_changes:
        return ""
    week = _latest_week(d)
    start = _iso_week_start(week)
    st = d.store_info
    body = [_h2("変化", "What changed this week")]
    lead = []
    if week:
        lead.append(f"最新の週 <b>{esc(week)}</b>" + (f"（{_fmt_date(start)}〜）" if start is not None else "") + "を前週と比較。")
    bits = []
    if _i(st.get("periods")):
        bits.append(f"{_i(st.get('periods')):,} 期間")
    if _str(st.get("period")):
        bits.append(f"今回の期間 {esc(_clip(st.get('period'), 40))}")
    lead.append("履歴ストアに保存された週次集計から算出" + (f"（{' · '.join(bits)}）" if bits else "") + "。")
    body.append(f'<p class="lead">{"".join(lead)}</p>')
    body.append(_alerts_box(d))
    if d.changes:
        em = [c for c in d.changes if _str(c.get("status")) == "emerging"]
        fa = [c for c in d.changes if _str(c.get("status")) == "fading"]
        body.append('<div class="chg-cols">'
                    + _status_list(d, em, "emerging", "新たに増えているテーマ", "Emerging", ch.NEG)
                    + _status_list(d, fa, "fading", "減っているテーマ", "Fading", ch.POS) + "</div>")
        if d.hist is not None and len(d.hist_weeks) > 1 and (em or fa):
            body.append(f'<p class="note">線は直近 {len(d.hist_weeks)} 週（{esc(d.hist_weeks[0])}〜{esc(d.hist_weeks[-1])}）'
                        'の週次セグメント数。<a href="#history">テーマ推移のグラフへ →</a></p>')
        body.append('<h3 class="sub-h">前週比<span class="en">Week over week, all themes</span></h3>')
        if len(d.changes) > MAX_CHANGE_ROWS:
            body.append(f'<p class="note">上位 {MAX_CHANGE_ROWS} テーマを表示（全 {len(d.changes):,}）。</p>')
        body.append(_wow_table(d))
        body.append(
            '<p class="note formula">検定（両側）: 構成比 = 2つのポアソン率の条件付き二項検定（各週の総セグメント数を所与とし、'
            "全体の件数が増えただけの週では動きません）。正味センチメント = テーマ内のネガティブ比率の2標本比率 z 検定"
            "（正味の ↑ = ネガティブが減少）。矢印は p &lt; 0.05 のときのみ表示し、それ以外は →。"
            "状態は直近2週の構成比を前6週と比較: 増加 = 有意に1.5倍以上または新たに出現、減少 = 有意に2/3以下または消失。"
            "構成比の下段は前週 → 今週の構成比、正味とペイン（困りごとを述べるセグメントの割合）は今週の値と前週の値。</p>")
    elif "changes" in d.meta:
        body.append('<p class="note">比較できる週次データがありません（no weekly history to compare）。</p>')
    return _card("changes", "".join(body), "changes")


def _history_chart(d: _Data) -> str:
    if d.hist is None:
        return ""
    body = [_h2("テーマ推移", "Themes over weeks (history)")]
    h = d.hist[d.hist["theme_uid"] != "unassigned"]
    uids = list(dict.fromkeys(h["theme_uid"].tolist()))
    if not uids:
        body.append('<p class="note">履歴にテーマがありません（no themes in the history）。</p>')
        return _card("history", "".join(body))
    if len(d.hist_weeks) < 2:
        body.append(f'<p class="note">履歴ストアにはまだ {esc(d.hist_weeks[0])} の1週分しかありません。'
                    "週ごとに実行を重ねると、ここにテーマの推移が表示されます（only one week stored so far）。</p>")
        return _card("history", "".join(body))
    counts = {u: d.hist_counts(u) for u in uids}
    recent = min(4, len(d.hist_weeks))
    top = sorted(uids, key=lambda u: (-sum(counts[u][-recent:]), -sum(counts[u]), u))[:MAX_HISTORY_THEMES]
    labels = {u: d.hist_label(u) or u for u in top}
    series = [(f"{u} {labels[u]}", counts[u]) for u in top]
    hrefs = [f"#theme-{d.uid_tid[u]}" if d.uid_tid.get(u) in d.section_ids else None for u in top]
    body.append(f'<p class="lead">履歴ストアに保存された週次集計（ISO週）から、直近 {recent} 週の件数上位 {len(top)} テーマ'
                f"（全 {len(uids):,}）の週次セグメント数。直近 {len(d.hist_weeks)} 週（{esc(d.hist_weeks[0])}〜{esc(d.hist_weeks[-1])}）"
                "を表示し、縦軸は全パネル共通。テーマは安定IDで週をまたいで追跡しています"
                "（今回のデータの日付だけを使う「テーマの推移」とは別）。</p>")
    svg = ch.small_multiples(
        d.hist_starts, series, chart_id="chart-history", title="テーマ別の週次件数（履歴ストア）",
        desc=f"{d.hist_weeks[0]} から {d.hist_weeks[-1]} の週次件数。"
             + "、".join(f"{lab} 最新週{v[-1]}件・計{sum(v)}件" for lab, v in series),
        hrefs=hrefs)
    body.append(f'<div class="chart">{svg}</div>')
    return _card("history", "".join(body))


def _goal_spark(d: _Data, g: dict) -> str:
    """The goal's VOC proxy per week for its theme (store history), first and last values."""
    proxy = g["proxy"]
    code = PROXY_CODE.get(proxy)
    if not code:
        tip = ("評価の指標は週次集計に含まれないため省略" if proxy in RATING_PROXIES else "VOC推定の指標がありません")
        return f'<span class="muted small" title="{esc(tip)}">—</span>'
    uid = d.tid_uid.get(g["theme_id"])
    pts = d.proxy_points(uid, code) if uid else []
    if not pts:
        return '<span class="muted small" title="このテーマの週次データがありません">—</span>'
    vals = [v for _, v in pts]
    tip = f"{uid} {proxy}（週次, %）: " + ", ".join(f"{w} {v:.0f}%" for w, v in pts)
    (w0, v0), (w1, v1) = pts[0], pts[-1]
    better = g["better"]
    cls = ""
    if len(pts) > 1 and abs(v1 - v0) >= 3.0 and better in ("↑", "↓"):
        cls = "good" if (v1 < v0) == (better == "↓") else "bad"
    spark = ch.sparkline(vals, width=84, height=24, label=tip)
    last = f'<span class="nw">{esc(_short_week(w1))} <b class="{cls}">{v1:.0f}%</b></span>'
    text = last if len(pts) == 1 else f'<span class="nw">{esc(_short_week(w0))} {v0:.0f}%</span> → {last}'
    return f'<span class="kspark">{spark}<span class="sub" title="{esc(f"{w0} → {w1}")}">{text}</span></span>'


# -- duplicates & campaigns (voclens.social.dedup_stage) ---------------------------------------
DUP_RULE_JA = {"burst": "短時間に多数のアカウントから同じ文面（コピー＆ペースト）", "marker": "プレゼント・フォロー&RT 型のテンプレート投稿"}


def _duplicates(d: _Data) -> str:
    """The largest duplicate groups ("1 text, N copies") and suspected campaigns; nothing when
    the run found no duplicates."""
    m = _as_dict(d.meta.get("duplicates"))
    if not m.get("enabled") or not _i(m.get("groups")):
        return ""
    n, uniq = _i(m.get("documents")), _i(m.get("unique"))
    kpis = [_kpi("投稿", "Posts", f"{n:,}"), _kpi("異なる文面", "Unique texts", f"{uniq:,}"),
            _kpi("重複", "Copies", _pct((n - uniq) / max(n, 1)), f"{n - uniq:,} 件"),
            _kpi("キャンペーン疑い", "Campaigns", f"{_i(m.get('n_campaigns')):,}", f"{_i(m.get('campaign_documents')):,} 件")]
    body = [_h2("重複投稿とキャンペーン", "Duplicates & campaigns"), f'<div class="kpis">{"".join(kpis)}</div>',
            '<p class="note">リポスト・引用・コピペ・テンプレート投稿はひとつのグループにまとめ、テーマの発見では1件として数えています。'
            "テーマの件数（規模）はすべての投稿を含みます（themes.csv の n_unique_docs が異なる文面の数）。</p>"]
    rows = []
    for g in _Data._records(m.get("largest"))[:MAX_DETAIL_ITEMS]:
        kind = "類似" if g.get("kind") == "near" else "同一"
        flag = ' <span class="badge negative">キャンペーン疑い</span>' if g.get("campaign") else ""
        rows.append(f'<tr><td>{esc(_clip(g.get("text"), 120))}{flag}</td><td class="num" data-v="{_i(g.get("copies"))}">'
                    f'1 文面・{_i(g.get("copies")):,} 件</td><td>{esc(kind)}</td></tr>')
    if rows:
        head = ('<th>文面（代表＝最初の投稿）<span class="en">Text (earliest copy)</span></th>'
                '<th class="num">件数<span class="en">Copies</span></th><th>種類<span class="en">Kind</span></th>')
        body.append('<h4>大きなグループ <span class="en">Largest groups</span></h4>'
                    f'<div class="table-wrap"><table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    camps = _Data._records(m.get("campaigns"))
    if camps:
        items = [f'<li class="s-negative">{esc(_clip(c.get("text"), 160))}<span class="qmeta">{_i(c.get("copies")):,} 件 · '
                 f'{esc(DUP_RULE_JA.get(str(c.get("rule")), str(c.get("rule"))))}'
                 + (f' · {_i(c.get("authors")):,} アカウント' if not _is_missing(c.get("authors")) else "") + "</span></li>"
                 for c in camps]
        body.append('<h4>キャンペーンの疑い <span class="en">Suspected coordinated campaigns</span></h4>'
                    f'<ul class="quotes">{"".join(items)}</ul>')
    return _card("duplicates", "".join(body))


# ==============================================================================================
# entry point
# ==============================================================================================
def render_report(corpus: Corpus, manifest: dict | None = None, title: str = "voclens report") -> str:
    """Render ``corpus`` as one self-contained HTML document (a ``str``; write it as UTF-8).

    The page has no external resources (no URLs, fonts, scripts or stylesheets are fetched), uses
    a Japanese system font stack, and is fully readable without JavaScript. ``manifest`` (the
    run's settings, versions, counts and timings) is shown in a collapsible section at the end.
    Every text taken from the data is HTML-escaped; lists are capped so the file stays small.
    """
    d = _Data(corpus)
    lens = {"goals": _goals(d), "pain": _pain(d), "journey": _journey(d), "emotions": _emotions(d)}
    store = {"changes": _changes(d), "history": _history_chart(d)}
    social = {"social": render_social(corpus)}
    sections = [
        store["changes"],
        _summary(d),
        lens["goals"],
        lens["pain"],
        _overview(d),
        _sizes_chart(d),
        _sentiment_chart(d),
        lens["journey"],
        lens["emotions"],
        _trends(d),
        store["history"],
        _channels(d),
        social["social"],
        _duplicates(d),
        _theme_sections(d),
        _unassigned(d),
        _run_details(d, manifest),
    ]
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data:; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    return "".join([
        "<!DOCTYPE html>\n",
        '<html lang="ja">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="voclens">\n',
        f"<title>{esc(title)}</title>\n",
        f"<style>\n{_css()}\n</style>\n</head>\n<body>\n",
        '<div class="page">\n',
        _header(d, title, manifest),
        _nav(d, [k for k, v in {**lens, **store, **social}.items() if v]),
        "\n".join(x for x in sections if x),
        '\n<footer>voclens で生成 · このファイルは単体で開けます（外部リソースなし）· '
        "テキストは個人情報をマスクした状態で表示しています。</footer>\n",
        "</div>\n",
        f"<script>{_SCRIPT}</script>\n",
        "</body>\n</html>\n",
    ])
