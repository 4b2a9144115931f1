"""The report's social-listening card: reach-weighted themes, share of voice, watch terms.

Every figure is labelled as a count (件数) or reach-weighted (リーチ加重); when the data has no
engagement columns the card says the figures are unweighted and shows counts only. Quotes are
the segments' shown texts, already masked (personal data, and @mentions unless kept).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from voclens.report import charts as ch
from voclens.report.charts import esc

MAX_THEMES = 15
MAX_BRANDS = 20
MAX_TERMS = 15
MAX_QUOTES = 2
ROLE_JA = {"own": "自社", "competitor": "競合", "product": "商品"}
SEVERITY_JA = {"high": "高", "medium": "中", "low": "低"}


def _num(v: Any, default: float = float("nan")) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return default
    return x if math.isfinite(x) else default


def _pct(v: Any) -> str:
    x = _num(v)
    return "—" if math.isnan(x) else f"{x * 100:.1f}%"


def _net(v: Any) -> str:
    x = _num(v)
    if math.isnan(x):
        return '<span class="muted">—</span>'
    cls = "net-neg" if x < -0.05 else ("net-pos" if x > 0.05 else "net-neu")
    return f'<span class="net {cls}">{ch.fmt_signed(x)}</span>'


def _list(v: Any) -> list:
    if isinstance(v, (list, tuple)):
        return list(v)
    if hasattr(v, "tolist"):
        return list(v.tolist())
    return []


def render_social(corpus) -> str:
    meta = corpus.meta if isinstance(corpus.meta, dict) else {}
    info = meta.get("social")
    if not isinstance(info, dict):
        return ""
    weighted = bool(info.get("weighted"))
    body = ['<h2>ソーシャルリスニング<span class="en">Social listening: reach, brands, watch terms</span></h2>']
    eng = info.get("engagement") or {}
    if weighted:
        body.append(f'<p class="lead">エンゲージメント列（{esc("、".join(eng.get("columns", [])))}）のある '
                    f'{int(eng.get("documents", 0)):,} 件の投稿を、到達の大きさで重み付けした<b>リーチ加重</b>の数値を'
                    "<b>件数</b>ベースの数値と並べて示します。リーチ = √(1 + 推定閲覧数 / 50)"
                    "（閲覧数があればそれを、なければ 50 ×（いいね＋リポスト＋返信＋引用）とフォロワー数 × 5% の大きい方）。"
                    "反応のない投稿やアンケート回答は 1。</p>")
    else:
        body.append('<p class="lead">エンゲージメント列（いいね・リポスト・閲覧数など）がないため、'
                    "この章の数値はすべて<b>件数ベース（重み付けなし, unweighted）</b>です。</p>")
    body.append(_themes(corpus.themes, weighted))
    body.append(_brands(meta, weighted))
    body.append(_watch(meta))
    return f'<section class="card" id="social">{"".join(x for x in body if x)}</section>'


def _themes(themes: pd.DataFrame, weighted: bool) -> str:
    if not isinstance(themes, pd.DataFrame) or themes.empty or "reach_share" not in themes:
        return ""
    t = themes.sort_values("reach_share" if weighted else "size", ascending=False).head(MAX_THEMES)
    head = "<tr><th>テーマ</th><th>件数<br><span class=\"en\">count</span></th><th>構成比（件数）</th>"
    if weighted:
        head += "<th>構成比（リーチ加重）</th>"
    head += "<th>正味（件数）</th>" + ("<th>正味（リーチ加重）</th>" if weighted else "") + "<th>ハッシュタグ</th></tr>"
    rows = []
    for r in t.to_dict("records"):
        tags = " ".join(f"#{esc(h)}" for h in _list(r.get("hashtags"))[:4]) or '<span class="muted">—</span>'
        cells = [esc(r.get("label", "")), f"{int(_num(r.get('size'), 0)):,}", _pct(r.get("share"))]
        if weighted:
            cells.append(_pct(r.get("reach_share")))
        cells.append(_net(r.get("net_sentiment")))
        if weighted:
            cells.append(_net(r.get("net_sentiment_reach")))
        cells.append(tags)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    title = "テーマ: 件数とリーチ加重" if weighted else "テーマ: 件数"
    note = ("リーチ加重の構成比 = テーマのセグメントのリーチの合計 / 全セグメントのリーチの合計。正味 = ポジティブ − ネガティブ"
            "（リーチ加重はリーチで重み付けした平均）。件数の列はテーマ一覧と同じ値です。") if weighted else ""
    return (f'<h3 class="sub-h">{esc(title)}<span class="en">{"Counts and reach-weighted" if weighted else "Counts"}</span></h3>'
            f'<div class="table-wrap"><table class="data"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'
            + (f'<p class="note">{note}</p>' if note else ""))


def _brands(meta: dict, weighted: bool) -> str:
    brands = meta.get("brands")
    if not brands:
        if meta.get("social", {}).get("n_brands", 0) == 0:
            return ('<p class="note">ブランドのウォッチリストが指定されていません（--watchlist FILE で自社・競合・商品を'
                    "指定するとシェア・オブ・ボイスを表示します）。</p>")
        return ""
    changes = {c["brand"]: c for c in meta.get("brand_changes") or []}
    frame = pd.DataFrame(brands)
    out = ['<h3 class="sub-h">ブランド: シェア・オブ・ボイスとセンチメント<span class="en">Share of voice and brand sentiment</span></h3>']
    for i, (group, g) in enumerate(frame.groupby("group", sort=False)):
        g = g.sort_values("mentions", ascending=False).head(MAX_BRANDS)
        items = [(str(r["brand"]), _num(r["share_of_voice"], 0.0)) for r in g.to_dict("records")]
        svg = ch.hbar_chart(items, chart_id=f"chart-sov-{i}", title=f"{group}: シェア・オブ・ボイス（件数）",
                            desc="、".join(f"{b} {v:.0%}" for b, v in items), axis_label="シェア（言及件数）",
                            value_labels=[f"{v:.0%}" for _, v in items])
        head = ("<tr><th>ブランド</th><th>区分</th><th>言及（件数）</th><th>SOV（件数）</th>"
                + ("<th>SOV（リーチ加重）</th>" if weighted else "")
                + "<th>正味（言及セグメント）</th><th>前週 → 今週 SOV</th><th>一緒に語られるテーマ</th></tr>")
        rows = []
        for r in g.to_dict("records"):
            c = changes.get(r["brand"])
            wow = '<span class="muted">—</span>'
            if c and c.get("prev_week"):
                wow = (f'{_pct(c.get("sov_prev"))} → {_pct(c.get("sov"))} <b title="p={_num(c.get("p_sov"), 1):.2g}">'
                       f'{esc(c.get("arrow", "→"))}</b> <span class="small muted">({esc(c.get("week", ""))})</span>')
            cells = [f"<b>{esc(r['brand'])}</b>", esc(ROLE_JA.get(r.get("role"), r.get("role", ""))), f"{int(r['mentions']):,}",
                     _pct(r["share_of_voice"])]
            if weighted:
                cells.append(_pct(r.get("reach_share")))
            cells += [_net(r["net_sentiment"]) if r["n_segments"] else '<span class="muted">—</span>', wow,
                      esc("、".join(_list(r.get("top_themes")))) or '<span class="muted">—</span>']
            rows.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
        out.append(f'<h4>{esc(group)}</h4><div class="chart">{svg}</div>'
                   f'<div class="table-wrap"><table class="data"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>')
    out.append('<p class="note">言及 = ブランド名（表記ゆれを含む）を含む投稿・声の件数（1件に何度出ても1）。SOV = グループ内の言及の合計に'
               "対する割合（グループ内で合計100%）。正味 = ブランド名を含むセグメントのポジティブ − ネガティブの割合。"
               "前週比の矢印は2標本比率検定で p &lt; 0.05 のときのみ（履歴ストアがあればその週次集計、なければ今回のデータの日付から）。</p>")
    return "".join(out)


def _watch(meta: dict) -> str:
    hits = meta.get("watchlist") or []
    alerts = meta.get("watch_alerts") or []
    out = ['<h3 class="sub-h">監視語<span class="en">Watch terms</span></h3>']
    if alerts:
        items = "".join(f'<li><b>[{esc(SEVERITY_JA.get(a.get("severity"), ""))}]</b> {esc(a.get("message", ""))}</li>' for a in alerts[:10])
        out.append(f'<div class="alerts" aria-label="監視語の警告"><div class="ahead"><span class="aicon" aria-hidden="true">!</span>'
                   f'監視語の警告 <span class="en">Watch-term alerts</span><b>{len(alerts):,} 件</b></div><ul>{items}</ul>'
                   '<p class="anote">最新の週に出現（any / first）または平常時から急増（spike）した監視語。alerts.json・履歴ストア・'
                   "Webhook に週次のスパイク警告と同じ形で出力されます。</p></div>")
    if not hits:
        out.append('<p class="note">監視語（リコール、異物混入、炎上、個人情報など）は見つかりませんでした。</p>')
        return "".join(out)
    rows = []
    for h in hits[:MAX_TERMS]:
        quotes = "".join(f'<li>{esc(str(q)[:140])}</li>' for q in _list(h.get("quotes"))[:MAX_QUOTES])
        rows.append(f"<tr><td><b>{esc(h['term'])}</b></td><td>{esc(SEVERITY_JA.get(h.get('severity'), ''))}</td>"
                    f"<td>{int(h['n_documents']):,}</td><td>{_num(h.get('reach'), 0):,.1f}</td>"
                    f'<td><ul class="quotes">{quotes}</ul></td></tr>')
    out.append('<div class="table-wrap"><table class="data"><thead><tr><th>監視語</th><th>重要度</th><th>件数（投稿・声）</th>'
               f'<th>リーチ（合計）</th><th>例（マスク済み）</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    return "".join(out)
