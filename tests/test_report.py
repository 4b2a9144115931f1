"""Tests for the self-contained HTML report (voclens.report)."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from html import escape

import numpy as np
import pandas as pd
import pytest

from voclens.corpus import Corpus
from voclens.report import render_report
from voclens.report.charts import text_width, truncate

XSS = '<script>alert("xss")</script>'
URL = "https://example.com/track?id=12&lang=ja"
LONG_LABEL = "アプリの使いやすさ（ログイン・画面遷移・エラー表示に関する不満と改善要望）"

# theme label, keywords, [(segment text, sentiment)]
THEMES = [
    ("配送遅延", ["配送", "遅い", "届かない", "到着", "日数"], [
        ("注文してから一週間たっても届きません", "negative"),
        ("配送が予定より3日も遅れました", "negative"),
        ("到着予定日を過ぎても連絡がなかった", "negative"),
        ("発送までに時間がかかりすぎです", "negative"),
        ("配送状況が追跡ページで確認できず不安でした", "negative"),
        ("今回は予定通りに届きました", "positive"),
        ("翌日に届いて助かりました", "positive"),
        ("配送日数は普通だと思います", "neutral"),
    ]),
    ("梱包・破損", ["梱包", "箱", "破損", "傷", "潰れ"], [
        ("箱が潰れた状態で届きました", "negative"),
        ("商品に傷がついていて残念です", "negative"),
        ("梱包が雑で中身が動いていた", "negative"),
        ("緩衝材がしっかり入っていて安心しました", "positive"),
        ("丁寧な梱包でした", "positive"),
        ("箱のサイズが大きすぎると感じました", "neutral"),
    ]),
    ("商品の品質", ["品質", "素材", "丈夫", "縫製", "色"], [
        ("生地がしっかりしていて品質が良いです", "positive"),
        ("縫製が丁寧で長く使えそう", "positive"),
        ("色が写真と少し違いました", "negative"),
        ("二回洗濯したら毛玉ができました", "negative"),
        ("値段の割に丈夫で満足しています", "positive"),
        ("素材はポリエステルです", "neutral"),
        ("思ったより薄手でした", "neutral"),
    ]),
    ("サポート対応", ["問い合わせ", "返信", "対応", "電話", "オペレーター"], [
        ("問い合わせへの返信が遅すぎます", "negative"),
        ("電話がなかなかつながりませんでした", "negative"),
        ("オペレーターの方の対応がとても丁寧でした", "positive"),
        ("[NAME]様に迅速に対応していただきました", "positive"),
        ("メール [EMAIL] に返信がありません", "negative"),
        ("問い合わせフォームから連絡しました", "neutral"),
        ("回答がテンプレートのようで残念でした " + XSS, "negative"),
    ]),
    (LONG_LABEL, ["アプリ", "ログイン", "画面", "操作", "エラー"], [
        ("アプリにログインできなくなりました", "negative"),
        ("決済画面でエラーが出て先に進めません", "negative"),
        ("アップデート後に動作が重くなった", "negative"),
        ("画面が見やすく操作も簡単です", "positive"),
        ("お気に入り機能が便利です", "positive"),
        ("アプリから注文しました", "neutral"),
        ("詳しくは " + URL + " を参照とのことでした", "neutral"),
    ]),
    ("価格・送料 & クーポン", ["価格", "送料", "高い", "クーポン", "<b>割引</b>"], [
        ("送料が高いと感じます", "negative"),
        ("クーポンが使えなかった", "negative"),
        ("セールで安く買えて満足です", "positive"),
        ("この価格なら十分です", "positive"),
        ("送料無料の条件がわかりにくい", "negative"),
        ("価格は他店と同じくらいです", "neutral"),
    ]),
]
UNASSIGNED = [("よろしくお願いします", "neutral"), ("特にありません", "neutral"),
              ("また利用します", "positive"), ("家族へのプレゼントに購入", "neutral"),
              ("以前も同じことがありました", "negative"), ("ありがとうございました", "positive")]
SCORE = {"negative": -0.7, "neutral": 0.0, "positive": 0.7}


def make_corpus(with_dates: bool = True, n_docs: int = 110, seed: int = 7, tz: str | None = None) -> Corpus:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-04-01")  # a Monday; 6 weeks of data
    channels = ["review", "ticket", "sns", "interview", "other"]
    docs, segs = [], []
    seg_id = 0
    for doc_id in range(n_docs):
        n = int(rng.integers(1, 4))
        pieces = []
        for k in range(n):
            if rng.random() < 0.12:
                tid, (text, sent) = -1, UNASSIGNED[int(rng.integers(len(UNASSIGNED)))]
            else:
                tid = int(rng.choice(6, p=[0.26, 0.14, 0.2, 0.18, 0.12, 0.10]))
                text, sent = THEMES[tid][2][int(rng.integers(len(THEMES[tid][2])))]
            if doc_id == 3 and k == 0:
                tid, (text, sent) = 3, THEMES[3][2][6]  # the <script> text
            if doc_id == 5 and k == 0:
                tid, (text, sent) = 4, THEMES[4][2][6]  # the text with a URL
            p = {"negative": 0.1, "neutral": 0.2, "positive": 0.1}
            p[sent] = 0.7
            score = SCORE[sent] + float(rng.normal(0, 0.12))
            segs.append({
                "seg_id": seg_id, "doc_id": doc_id, "sent_idx": k, "clause_idx": 0, "start": 0,
                "end": len(text), "text": text, "norm": text, "terms": list(THEMES[tid][1][:2]) if tid >= 0 else [],
                "theme_id": tid, "theme_similarity": float(rng.uniform(0.4, 0.9)) if tid >= 0 else 0.0,
                "sentiment": sent, "sentiment_score": max(-1.0, min(1.0, score)),
                "p_negative": p["negative"], "p_neutral": p["neutral"], "p_positive": p["positive"],
            })
            pieces.append((text, sent, score))
            seg_id += 1
        sents = {s for _, s, _ in pieces}
        dsent = "mixed" if {"positive", "negative"} <= sents else (
            "negative" if "negative" in sents else ("positive" if "positive" in sents else "neutral"))
        chan = channels[int(rng.integers(len(channels)))]
        date = start + pd.Timedelta(days=int(rng.integers(0, 42)), hours=int(rng.integers(0, 24)))
        docs.append({
            "doc_id": doc_id, "id": f"R{doc_id:04d}", "source": "feedback_2024Q2.csv", "row": doc_id + 2,
            "channel": chan, "date": date if with_dates else pd.NaT,
            "rating": float(rng.integers(1, 6)) if chan == "review" else np.nan,
            "text": "。".join(t for t, _, _ in pieces) + "。", "extra": json.dumps({"store": "東京"}, ensure_ascii=False),
            "theme_id": -1, "theme_label": "", "sentiment": dsent,
            "sentiment_score": float(np.mean([s for _, _, s in pieces])),
        })
    documents = pd.DataFrame(docs)
    documents["date"] = pd.to_datetime(documents["date"])
    if tz and with_dates:
        documents["date"] = documents["date"].dt.tz_localize(tz)
    segments = pd.DataFrame(segs)
    n_all = len(segments)
    rows = []
    for tid, (label, kws, _) in enumerate(THEMES):
        s = segments[segments.theme_id == tid]
        shares = s.sentiment.value_counts(normalize=True)
        top = s.drop_duplicates("text").sort_values("theme_similarity", ascending=False).head(3)
        quotes = top.seg_id.tolist()
        if tid in (3, 4):  # make sure the <script> and URL texts are representative quotes
            x = s[s.text.str.contains("<script>" if tid == 3 else URL, regex=False)].seg_id.iloc[0]
            quotes = [x] + [q for q in quotes if q != x][:2]
        rows.append({
            "theme_id": tid, "label": label, "keywords": kws, "size": len(s),
            "n_documents": s.doc_id.nunique(), "share": len(s) / n_all,
            "positive": float(shares.get("positive", 0)), "neutral": float(shares.get("neutral", 0)),
            "negative": float(shares.get("negative", 0)),
            "net_sentiment": float(shares.get("positive", 0) - shares.get("negative", 0)),
            "mean_score": float(s.sentiment_score.mean()), "quotes": quotes,
            "quote_texts": [segments.set_index("seg_id").text[q] for q in quotes],
        })
    themes = pd.DataFrame(rows)
    n_un = int((segments.theme_id == -1).sum())
    meta = {
        "timings": {"ingest": 0.12, "segment": 0.4, "embed": 3.2, "themes": 1.1, "sentiment": 0.9},
        "ingest": {"rows_in": n_docs + 4, "rows_ok": n_docs, "rows_rejected": 4, "files": ["feedback_2024Q2.csv"]},
        "themes": {"n_themes": 6, "unassigned": n_un, "unassigned_share": n_un / n_all,
                   "k_selection": {"method": "silhouette", "candidates": [4, 6, 8], "chosen": 6}},
    }
    return Corpus(documents=documents, segments=segments, themes=themes, meta=meta)


MANIFEST = {
    "created": "2024-05-13T09:00:00+09:00",
    "settings": {"language": "ja", "min_theme_size": 5, "model": "intfloat/multilingual-e5-small",
                 "homepage": "http://example.org/should-be-text"},
    "versions": {"voclens": "0.1.0", "pandas": pd.__version__},
    "counts": {"documents": 110, "segments": 230},
    "timings": {"ingest": 0.1, "themes": 1.2},
}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return make_corpus()


@pytest.fixture(scope="module")
def page(corpus) -> str:
    return render_report(corpus, MANIFEST, title="週次VoCレポート <テスト>")


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def _in_tag(html: str, pos: int) -> bool:
    return html.rfind("<", 0, pos) > html.rfind(">", 0, pos)


# -- structure ---------------------------------------------------------------------------------
def test_is_one_complete_document(page):
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="ja">' in page
    assert '<meta charset="utf-8">' in page
    assert page.rstrip().endswith("</html>")
    assert page.count("<html") == 1 and page.count("<body") == 1
    for font in ('"Hiragino Sans"', '"Noto Sans CJK JP"', '"Yu Gothic"', '"Meiryo"', "sans-serif"):
        assert font in page
    page.encode("utf-8")


def test_no_external_resources(page):
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert "<iframe" not in page and "<img" not in page
    assert not re.search(r"<script[^>]*\ssrc\s*=", page)
    # every src/href attribute is an in-page anchor
    for m in re.finditer(r"""\s(?:src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)""", page):
        assert m.group(1).startswith("#"), m.group(0)
    # URLs only occur as escaped text from the data, never inside a tag
    hits = [m.start() for m in re.finditer(r"(?:https?:)?//", page)]
    for pos in hits:
        assert not _in_tag(page, pos), page[max(0, pos - 80): pos + 40]
    assert "example.com/track" in page  # the data URL is kept as text


def test_contains_theme_labels_and_quotes(page, corpus):
    for label in corpus.themes.label:
        assert escape(label) in page
    first_quote = corpus.themes.quote_texts.iloc[0][0]
    assert first_quote in page
    for tid in corpus.themes.theme_id:
        assert f'id="theme-{tid}"' in page
        assert f'href="#theme-{tid}"' in page


def test_escapes_data(page):
    assert XSS not in page
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # only the report's own inline script
    assert "<b>割引</b>" not in page and "&lt;b&gt;割引&lt;/b&gt;" in page
    assert "価格・送料 &amp; クーポン" in page
    assert "週次VoCレポート &lt;テスト&gt;" in page


def test_never_uses_unmasked_originals():
    c = make_corpus()
    c.originals = pd.Series(["山田太郎 yamada@example.jp 090-1234-5678"] * c.n_documents)
    html = render_report(c)
    assert "yamada@example.jp" not in html and "山田太郎" not in html


def test_all_svgs_parse_as_xml(page):
    svgs = _svgs(page)
    assert len(svgs) >= 4
    ids = {ET.fromstring(s).get("class") for s in svgs}
    assert "chart-svg" in ids
    for s in svgs:
        root = ET.fromstring(s)
        assert root.tag == "svg"
        assert root.find("title") is not None
    charts = [ET.fromstring(s) for s in svgs if 'class="chart-svg"' in s]
    assert len(charts) == 4  # sizes, sentiment, themes over time, net sentiment
    for c in charts:
        assert c.find("desc") is not None
        assert float(c.get("viewBox").split()[2]) <= 960


def test_sections_in_order(page):
    order = ["summary", "overview", "sizes", "sentiment", "trends", "channels", "themes", "unassigned", "run"]
    pos = [page.index(f'id="{i}"') for i in order]
    assert pos == sorted(pos)


def test_header_counts(page, corpus):
    assert "2024-04-" in page and "2024-05-" in page  # period
    assert f"{corpus.n_documents:,}" in page
    assert f"{corpus.n_segments:,}" in page
    assert "rejects.csv" in page
    assert "mix-big" in page


def test_overview_sorted_by_size(page, corpus):
    table = page[page.index('class="sortable themes-table"'):]
    table = table[table.index("<tbody>"): table.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    sizes = [int(re.findall(r'<td class="num" data-v="([^"]*)"', r)[0]) for r in rows]
    assert sizes == sorted(corpus.themes["size"], reverse=True)


def test_long_labels_truncated_with_full_title(page):
    charts = [s for s in _svgs(page) if "chart-sizes" in s]
    assert charts
    root = ET.fromstring(charts[0])
    texts = ["".join(t.itertext()) for t in root.iter("text")]
    assert LONG_LABEL not in texts
    assert any(t.endswith("…") and LONG_LABEL.startswith(t[:-1]) for t in texts)
    titles = ["".join(t.itertext()) for t in root.iter("title")]
    assert any(LONG_LABEL in t for t in titles)


def test_weeks_start_monday(corpus):
    from voclens.report.html import _Data

    d = _Data(corpus)
    assert d.weeks and all(w.weekday() == 0 for w in d.weeks)
    assert len(d.weeks) == 6
    assert sum(d.weekly_counts()) == corpus.n_segments


def test_theme_weekly_matches_mask(corpus):
    from voclens.report.html import _Data

    d = _Data(corpus)
    for tid in range(6):
        assert d.theme_weekly(tid) == d.weekly_counts(d.seg_theme == tid)
    assert d.theme_weekly(99) == [0] * len(d.weeks)


def test_long_date_range_is_capped():
    from voclens.report.html import MAX_WEEKS

    c = make_corpus()
    c.documents.loc[0, "date"] = pd.Timestamp("2015-01-05")  # e.g. a mis-parsed date
    html = render_report(c)
    assert f"直近 {MAX_WEEKS} 週のみ表示" in html
    assert "2015-01-05" in html  # the header period still shows the full range
    for s in _svgs(html):
        ET.fromstring(s)


def test_run_details_from_manifest(page):
    run = page[page.index('id="run"'):]
    assert "<details" in run
    assert "multilingual-e5-small" in run
    assert "http://example.org/should-be-text" in run  # escaped text, not a link
    assert "silhouette" in run  # corpus.meta themes.k_selection


# -- degraded inputs ---------------------------------------------------------------------------
def test_no_dates():
    c = make_corpus(with_dates=False)
    html = render_report(c)
    assert "chart-trends" not in html and "chart-net" not in html
    assert "日付のデータがない" in html
    assert "日付なし" in html
    for s in _svgs(html):
        ET.fromstring(s)
    assert 'class="spark"' not in html


def test_tz_aware_dates():
    html = render_report(make_corpus(tz="Asia/Tokyo"))
    assert "chart-trends" in html


def test_empty_themes_table():
    c = make_corpus()
    c.themes = pd.DataFrame()
    c.segments["theme_id"] = -1
    html = render_report(c)
    assert "テーマがありません" in html
    assert "chart-sizes" not in html
    for s in _svgs(html):
        ET.fromstring(s)


def test_empty_corpus():
    html = render_report(Corpus())
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    for s in _svgs(html):
        ET.fromstring(s)


def test_minimal_tables_and_missing_meta():
    c = make_corpus()
    c.themes = c.themes[["theme_id", "label"]]
    c.segments = c.segments.drop(columns=["sentiment_score", "p_negative"])
    c.documents = c.documents.drop(columns=["sentiment", "rating"])
    c.meta = {"themes": {"n_themes": 6}}
    html = render_report(c, manifest=None)
    assert "配送遅延" in html
    assert "実行情報" in html
    for s in _svgs(html):
        ET.fromstring(s)


def test_lists_from_parquet_like_arrays():
    c = make_corpus()
    c.themes["keywords"] = c.themes["keywords"].map(np.array)
    c.themes["quotes"] = c.themes["quotes"].map(lambda q: np.array(q, dtype=np.int64))
    c.themes["quote_texts"] = c.themes["quote_texts"].map(np.array)
    html = render_report(c)
    assert c.themes.quote_texts.iloc[0][0] in html
    assert "配送" in html


def test_large_corpus_stays_small():
    rng = np.random.default_rng(0)
    n_docs, n_segs, k = 40_000, 100_000, 30
    docs = pd.DataFrame({
        "doc_id": np.arange(n_docs), "id": [f"D{i}" for i in range(n_docs)], "source": "big.csv",
        "row": np.arange(n_docs), "channel": rng.choice(["review", "ticket", "sns"], n_docs),
        "date": pd.Timestamp("2023-01-02") + pd.to_timedelta(rng.integers(0, 365, n_docs), unit="D"),
        "rating": np.nan, "text": "テキスト", "extra": "{}", "theme_id": -1, "theme_label": "",
        "sentiment": rng.choice(["positive", "neutral", "negative", "mixed"], n_docs),
        "sentiment_score": 0.0,
    })
    sent = rng.choice(["positive", "neutral", "negative"], n_segs)
    segs = pd.DataFrame({
        "seg_id": np.arange(n_segs), "doc_id": rng.integers(0, n_docs, n_segs), "sent_idx": 0, "clause_idx": 0,
        "start": 0, "end": 10, "text": [f"セグメント本文その{i}です。長めの文章が入ります" for i in range(n_segs)],
        "norm": "", "terms": [[] for _ in range(n_segs)], "theme_id": rng.integers(-1, k, n_segs),
        "theme_similarity": 0.5, "sentiment": sent, "sentiment_score": rng.uniform(-1, 1, n_segs),
        "p_negative": 0.3, "p_neutral": 0.3, "p_positive": 0.4,
    })
    themes = pd.DataFrame({
        "theme_id": np.arange(k), "label": [f"テーマ名{i}" for i in range(k)],
        "keywords": [[f"語{j}" for j in range(12)] for _ in range(k)],
        "size": segs.theme_id.value_counts().reindex(range(k)).values, "n_documents": 1000,
        "share": 0.03, "positive": 0.3, "neutral": 0.4, "negative": 0.3, "net_sentiment": 0.0,
        "mean_score": 0.0, "quotes": [[1, 2, 3, 4, 5, 6, 7]] * k, "quote_texts": [["引用"] * 7] * k,
    })
    t0 = time.perf_counter()
    html = render_report(Corpus(documents=docs, segments=segs, themes=themes))
    assert time.perf_counter() - t0 < 30
    assert len(html.encode("utf-8")) < 1_000_000
    for s in _svgs(html):
        ET.fromstring(s)


# -- chart helpers -----------------------------------------------------------------------------
def test_truncate_fits_width():
    s = truncate(LONG_LABEL, 120)
    assert s.endswith("…") and text_width(s) <= 120
    assert truncate("短い", 120) == "短い"


# ==============================================================================================
# customer lenses: goals, pain ranking, journey x job, emotions, theme lens line
# ==============================================================================================
from voclens.report.html import MAX_GOALS  # noqa: E402

# per theme: (journey stage, job type, departments, POF/POP/POD, growth)
LENS_BY_THEME = {
    0: ("use", "functional", ["物流", "カスタマーサポート"], "POF", 0.53),
    1: ("use", "functional", ["物流", "品質管理"], "POF", 0.10),
    2: ("use", "emotional", ["商品管理", "品質管理"], "POD", -0.05),
    3: ("support", "functional", ["カスタマーサポート"], "POF", -0.12),
    4: ("purchase", "functional", ["開発", "マーケティング"], "POP", 0.0),
    5: ("consideration", "social", ["マーケティング", "経理/請求"], "POP", 0.31),
}
EMOTION_OF = {"negative": ("anger", "disgust", "sadness", "fear"), "positive": ("joy", "trust", "anticipation", "surprise"),
              "neutral": ("anticipation",)}
BOILERPLATE = {"よろしくお願いします", "ありがとうございました"}
GOALS = [
    {"theme_id": 0, "theme": "配送遅延", "pxp": "POF", "stage": "use", "job_type": "functional",
     "customer_need": "利用段階・機能的ジョブ: 「配送遅延」 — 例「注文してから一週間たっても届きません」",
     "outcome": "注文した商品が約束の日に届き、予定どおりに使い始められる", "kpi": "配送遅延率", "kpi_id": "late_delivery_rate",
     "kpi_unit": "%", "proxy": "困りごとの割合", "current": "62%（VOC推定: 困りごとの割合）", "current_value": 62.4,
     "target": "31%（半減）", "target_value": 31.0, "better": "↓", "trend": "↑", "horizon": "中期（6ヶ月以内）・3ヶ月で中間確認",
     "departments": ["物流", "カスタマーサポート"],
     "actions": ["配送業者ごとの遅延率を週次で可視化し、遅延の多い地域の便を見直す",
                 "到着予定の変更を自動でメール通知し、「配送遅延」の問い合わせを減らす"], "impact_rank": 1},
    {"theme_id": 3, "theme": "サポート対応", "pxp": "POF", "stage": "support", "job_type": "functional",
     "customer_need": "サポート段階・機能的ジョブ: 「サポート対応」 — 例「問い合わせへの返信が遅すぎます」",
     "outcome": "問い合わせがその日のうちに解決し、すぐに元どおり使える", "kpi": "初回解決率(FCR)", "kpi_id": "fcr",
     "kpi_unit": "%", "proxy": "苦情の割合", "current": "48%（VOC推定: 苦情の割合）", "current_value": 48.0,
     "target": "24%（半減）", "target_value": 24.0, "better": "↓", "trend": "↓", "horizon": "中期（6ヶ月以内）・3ヶ月で中間確認",
     "departments": ["カスタマーサポート"],
     "actions": ["担当者が購入履歴と過去の問い合わせを即座に確認できるようにする", "回答テンプレートを見直す " + XSS],
     "impact_rank": 2},
    {"theme_id": 1, "theme": "梱包・破損", "pxp": "POF", "stage": "use", "job_type": "functional",
     "customer_need": "利用段階・機能的ジョブ: 「梱包・破損」", "outcome": "商品が傷のない状態で届く",
     "kpi": "リピート率", "kpi_id": "repeat_rate", "kpi_unit": "%", "proxy": "なし", "current": "要測定（VOCでは測れない）",
     "current_value": None, "target": "現状値を測定後に設定（問題テーマは半減、強みは差の半分を改善）", "target_value": None,
     "better": "↑", "trend": "", "horizon": "長期（1年以内）", "departments": ["物流", "品質管理"],
     "actions": ["緩衝材の基準を見直し、破損の多い商品カテゴリから梱包を改める"], "impact_rank": 3},
    {"theme_id": 2, "theme": "商品の品質", "pxp": "POD", "stage": "use", "job_type": "emotional",
     "customer_need": "利用段階・感情的ジョブ: 「商品の品質」 — 例「縫製が丁寧で長く使えそう」",
     "outcome": "品質の良さを実感し、安心して使い続けられる", "kpi": "推奨者の割合", "kpi_id": "promoter_share", "kpi_unit": "%",
     "proxy": "推奨者（最高評価）の割合", "current": "41%（VOC推定: 推奨者（最高評価）の割合）", "current_value": 41.0,
     "target": "70%（100%との差を半減）", "target_value": 70.0, "better": "↑", "trend": "→", "horizon": "長期（1年以内）",
     "departments": ["商品管理", "品質管理"], "actions": ["「商品の品質」の強みを商品ページとレビュー導線で訴求する"],
     "impact_rank": 6},
]


def make_lens_corpus() -> Corpus:
    """The report fixture with every customer lens and a goals table, as LensSummaryStage and
    GoalStage would leave them (themes: dicts for the mixes, lists for departments)."""
    c = make_corpus()
    seg, docs = c.segments.copy(), c.documents.copy()
    rng = np.random.default_rng(11)
    stage, job, intent, pain, kind, emo_str = [], [], [], [], [], []
    emo_p = {e: [] for e in ("joy", "sadness", "anticipation", "surprise", "anger", "fear", "disgust", "trust")}
    for tid, text, sent in zip(seg.theme_id, seg.text, seg.sentiment):
        k = "boilerplate" if text in BOILERPLATE else "content"
        if tid >= 0:
            st, jb = LENS_BY_THEME[tid][:2]
            if rng.random() < 0.25:  # some spread over the grid
                st = ["awareness", "consideration", "purchase", "use", "support", "loyalty", "none"][int(rng.integers(7))]
                jb = ["functional", "emotional", "social", "none"][int(rng.integers(4))]
        else:
            st, jb = ("loyalty", "emotional") if sent == "positive" else ("none", "none")
        if k != "content":
            st, jb = "none", "none"
        it = {"negative": "complaint", "positive": "praise"}.get(sent, "question" if "？" in text else "other")
        if sent == "negative" and "ほしい" in text:
            it = "request"
        stage.append(st), job.append(jb), intent.append(it), kind.append(k)
        pain.append(int(sent == "negative" or "できません" in text))
        probs = {e: float(rng.uniform(0, 0.15)) for e in emo_p}
        present = [] if k != "content" else list(EMOTION_OF[sent][: int(rng.integers(0, 3))])
        for e in present:
            probs[e] = float(rng.uniform(0.55, 0.95))
        for e in emo_p:
            emo_p[e].append(probs[e])
        emo_str.append(",".join(f"{e}:{int(rng.integers(1, 4))}" for e in present))
    seg = seg.assign(kind=kind, job_type=job, job_type_p=0.8, journey_stage=stage, journey_stage_p=0.7, intent=intent,
                     intent_p=0.75, pain_point=np.array(pain, dtype=np.int8), pain_p=0.6, emotion=emo_str,
                     **{f"emo_{e}": v for e, v in emo_p.items()})
    first = seg.sort_values("seg_id").groupby("doc_id").first()
    emo_doc = seg.groupby("doc_id")["emotion"].agg(lambda s: ",".join(x for x in s if x))
    docs = docs.assign(job_type=docs.doc_id.map(first.job_type), journey_stage=docs.doc_id.map(first.journey_stage),
                       intent=docs.doc_id.map(first.intent), pain_point=docs.doc_id.map(seg.groupby("doc_id").pain_point.max()),
                       emotion=docs.doc_id.map(emo_doc).fillna(""))
    th = c.themes.copy()
    lens = {k: [] for k in ("dominant_job", "dominant_job_share", "dominant_stage", "stage_mix", "intent_mix", "pain_score",
                            "emotions", "top_emotion", "growth", "pxp", "departments")}
    for tid in th.theme_id:
        s = seg[seg.theme_id == tid]
        jobs = s.job_type.value_counts(normalize=True)
        stages = s.journey_stage.value_counts(normalize=True)
        intents = s.intent.value_counts(normalize=True)
        emos = {e: round(float(s[f"emo_{e}"].mean()), 4) for e in emo_p}
        lens["dominant_job"].append(jobs.drop("none", errors="ignore").index[0])
        lens["dominant_job_share"].append(float(jobs.drop("none", errors="ignore").iloc[0]))
        lens["dominant_stage"].append(stages.drop("none", errors="ignore").index[0])
        lens["stage_mix"].append({k: float(stages.get(k, 0.0)) for k in
                                  ("awareness", "consideration", "purchase", "use", "support", "loyalty", "none")})
        lens["intent_mix"].append({k: float(intents.get(k, 0.0)) for k in ("complaint", "request", "question", "praise", "other")})
        lens["pain_score"].append(float(s.pain_point.mean()))
        lens["emotions"].append(emos)
        lens["top_emotion"].append(max(emos, key=emos.get))
        lens["growth"].append(LENS_BY_THEME[tid][4])
        lens["pxp"].append(LENS_BY_THEME[tid][3])
        lens["departments"].append(list(LENS_BY_THEME[tid][2]))
    th = th.assign(**lens)
    neg = th.negative.to_numpy()
    th["impact"] = (th["size"] * (neg + 0.5 * th.pain_score) * (1 + th.growth.clip(0, 2))).round(3)
    th["low_evidence"] = th.theme_id == 5  # as if the theme had fewer than 10 segments
    problems = th[th.pxp != "POD"].sort_values(["impact", "size"], ascending=False).theme_id.tolist()
    strengths = th[th.pxp == "POD"].theme_id.tolist()
    rank = {t: i + 1 for i, t in enumerate(problems + strengths)}
    th["impact_rank"] = th.theme_id.map(rank)
    c.segments, c.documents, c.themes = seg, docs, th
    c.goals = pd.DataFrame(GOALS)
    return c


@pytest.fixture(scope="module")
def lens_corpus() -> Corpus:
    return make_lens_corpus()


@pytest.fixture(scope="module")
def lens_page(lens_corpus) -> str:
    return render_report(lens_corpus, MANIFEST, title="VoCレポート（顧客視点）")


def _section(html: str, sid: str) -> str:
    start = html.index(f'id="{sid}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_lens_sections_present_in_order_and_in_nav(lens_page):
    order = ["summary", "goals", "pain", "overview", "sizes", "sentiment", "journey", "emotions", "trends", "channels",
             "themes", "unassigned", "run"]
    pos = [lens_page.index(f'id="{i}"') for i in order]
    assert pos == sorted(pos)
    nav = lens_page[lens_page.index('<nav class="toc"'): lens_page.index("</nav>")]
    for sid in ("goals", "pain", "journey", "emotions"):
        assert f'href="#{sid}"' in nav
    assert "顧客視点の目標" in lens_page and "Customer-centred goals" in lens_page
    assert "ペインポイント" in lens_page and "Pain points, ranked" in lens_page


def test_lens_page_is_safe_and_self_contained(lens_page):
    assert XSS not in lens_page
    assert "回答テンプレートを見直す &lt;script&gt;" in lens_page
    assert lens_page.count("<script") == 1
    assert "<link" not in lens_page and "url(" not in lens_page and "<img" not in lens_page
    for m in re.finditer(r"""\s(?:src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)""", lens_page):
        assert m.group(1).startswith("#"), m.group(0)
    for s in _svgs(lens_page):
        root = ET.fromstring(s)
        assert root.find("title") is not None
    charts = [ET.fromstring(s) for s in _svgs(lens_page) if 'class="chart-svg"' in s]
    assert len(charts) == 6  # + journey heatmap, emotions
    for c in charts:
        assert c.find("desc") is not None and float(c.get("viewBox").split()[2]) <= 960


def test_dashboard_shows_kpi_current_target_departments(lens_page):
    goals = _section(lens_page, "goals")
    table = goals[goals.index('class="dashboard"'): goals.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], flags=re.S)
    assert len(rows) == len(GOALS)
    for g, row in zip(GOALS, rows):  # problems first by impact_rank, as given
        assert escape(g["outcome"]) in row
        assert escape(g["kpi"]) in row
        for dept in g["departments"]:
            assert escape(dept) in row
        assert escape(g["horizon"].split("・")[0]) in row
    assert "<b class=\"val\">62%</b>" in rows[0] and "VOC推定" in rows[0] and "困りごとの割合" in rows[0]
    assert "<b class=\"val\">31%</b>" in rows[0] and "半減" in rows[0]
    # the observed trend against the desired direction
    assert "観測 ↑ / 目標 ↓" in rows[0] and "tr-bad" in rows[0]  # rising pain: wrong way
    assert "観測 ↓ / 目標 ↓" in rows[1] and "tr-good" in rows[1]
    assert "要測定" in rows[2] and "VOC推定</span>" not in rows[2] and "tr-none" in rows[2]
    assert "観測 → / 目標 ↑" in rows[3] and "tr-flat" in rows[3]
    assert "pxp pxp-POF" in rows[0] and "pxp pxp-POD" in rows[3]
    assert 'href="#theme-0"' in rows[0]


def test_goal_cards_follow_the_template(lens_page):
    goals = _section(lens_page, "goals")
    cards = re.findall(r'<article class="goal-card edge-(\w+)">(.*?)</article>', goals, flags=re.S)
    assert [p for p, _ in cards] == [g["pxp"] for g in GOALS]
    for (_, card), g in zip(cards, GOALS):
        for label in ("顧客課題/ニーズ", "目指す顧客成果", "目標指標", "目標値", "関連部門", "必要な施策"):
            assert f"<dt>{label}</dt>" in card
        assert card.count("<li>") == len(g["actions"])
        assert escape(g["customer_need"]) in card
    assert "要測定" in cards[2][1]


def test_pain_ranking_sorted_by_impact_rank(lens_page, lens_corpus):
    pain = _section(lens_page, "pain")
    body = pain[pain.index("<tbody>"): pain.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    data = [r for r in rows if 'class="num rank"' in r]
    ranks = [int(re.search(r'<td class="num rank">(\d+)</td>', r).group(1)) for r in data]
    assert ranks == sorted(lens_corpus.themes.impact_rank) == list(range(1, 7))
    labels = [re.search(r'href="#theme-(\d+)"', r).group(1) for r in data]
    expected = lens_corpus.themes.sort_values("impact_rank").theme_id.astype(str).tolist()
    assert labels == expected
    # problems first; the strengths after a group row
    tags = [re.search(r"pxp pxp-(POF|POP|POD)", r).group(1) for r in data]
    assert tags[-1] == "POD" and "POD" not in tags[:-1]
    assert body.index('class="group"') < body.index("pxp pxp-POD")
    assert 'class="pxp pxp-POF"' in pain and "参考" in pain
    assert "↑ +53%" in pain  # growth of the delivery theme
    assert "impact = n × (neg + 0.5 × pain) × (1 + min(2, max(0, growth)))" in pain
    assert "ペイン ≥ 0.40" in pain and "正味 ≤ −0.20" in pain


def test_journey_heatmap(lens_page, lens_corpus):
    svg = [s for s in _svgs(lens_page) if 'id="chart-journey-t"' in s]
    assert len(svg) == 1
    root = ET.fromstring(svg[0])
    assert root.get("role") == "img" and root.find("desc") is not None
    texts = ["".join(t.itertext()) for t in root.iter("text")]
    for label in ("認知", "検討", "購入", "利用", "サポート", "リピート・推奨", "なし", "機能的", "感情的", "社会的",
                  "awareness", "loyalty", "functional"):
        assert label in texts, label
    rows = [texts.index(x) for x in ("認知", "検討", "購入", "利用", "サポート", "リピート・推奨")]
    assert rows == sorted(rows)
    # every content segment is counted once; boilerplate is left out
    cells = [c for c in root.iter("g") if c.get("class") == "cell"]
    assert len(cells) == 7 * 4
    total = sum(int(re.search(r": ([\d,]+)件", c.find("title").text).group(1).replace(",", "")) for c in cells)
    seg = lens_corpus.segments
    assert total == int((seg.kind == "content").sum()) < len(seg)
    assert any("ネガ" in t for t in texts)


def test_emotion_overview(lens_page, lens_corpus):
    svg = [s for s in _svgs(lens_page) if 'id="chart-emotions-t"' in s]
    assert len(svg) == 1
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg[0]).iter("text")]
    for ja in ("喜び", "悲しみ", "期待", "驚き", "怒り", "恐れ", "嫌悪", "信頼"):
        assert any(t.startswith(ja) for t in texts), ja
    docs = lens_corpus.documents
    joy = docs.emotion.str.contains("joy").mean()
    assert f"{joy * 100:.1f}%" in " ".join(texts)


def test_theme_cards_have_lens_line(lens_page, lens_corpus):
    card = _section(lens_page, "theme-0")
    assert '<dl class="lens">' in card
    assert "pxp pxp-POF" in card and "インパクト順位 <b>#" in card
    assert "<dt>ジョブ</dt>" in card and "機能的" in card
    assert "<dt>ジャーニー</dt>" in card and "<dt>意図</dt>" in card and "<dt>ペイン</dt>" in card
    emos = lens_corpus.themes.set_index("theme_id").emotions[0]
    top = max(emos, key=emos.get)
    ja = {"joy": "喜び", "sadness": "悲しみ", "anticipation": "期待", "surprise": "驚き", "anger": "怒り", "fear": "恐れ",
          "disgust": "嫌悪", "trust": "信頼"}[top]
    assert f"{ja} <b>{emos[top]:.2f}</b>" in card
    assert "物流" in card and "カスタマーサポート" in card
    assert "参考" in _section(lens_page, "theme-5")  # low evidence
    assert "ジャーニー" in _section(lens_page, "themes")  # the colour legend


def test_old_corpus_has_no_lens_sections(page):
    for sid in ("goals", "pain", "journey", "emotions"):
        assert f'id="{sid}"' not in page and f'href="#{sid}"' not in page
    body = page[page.index("</style>"):]
    assert '<dl class="lens">' not in body and "pxp-" not in body


@pytest.mark.parametrize("variant", ["empty", "missing", "partial", "no_attr"])
def test_goals_missing_or_partial(variant):
    c = make_lens_corpus()
    if variant == "empty":
        c.goals = pd.DataFrame()
    elif variant == "missing":
        c.goals = None
    elif variant == "partial":
        c.goals = pd.DataFrame({"theme": ["配送遅延", "梱包・破損"], "kpi": ["配送遅延率", "破損率"]})
    else:
        object.__delattr__(c, "goals")
    html = render_report(c)
    assert 'id="pain"' in html and 'id="journey"' in html
    if variant == "partial":
        assert "配送遅延率" in html and "破損率" in html
    else:
        assert "提案された目標はありません" in html
    for s in _svgs(html):
        ET.fromstring(s)


def test_lens_columns_after_a_file_round_trip():
    """Parquet/CSV give JSON strings for the mixes, arrays or joined strings for the lists."""
    c = make_lens_corpus()
    for col in ("stage_mix", "intent_mix", "emotions"):
        c.themes[col] = c.themes[col].map(lambda d: json.dumps(d, ensure_ascii=False))
    c.themes["departments"] = c.themes["departments"].map(np.array)
    c.themes["low_evidence"] = c.themes["low_evidence"].astype(str)
    c.goals["departments"] = c.goals["departments"].map("、".join)
    c.goals["actions"] = c.goals["actions"].map("\n".join)
    html = render_report(c)
    card = _section(html, "theme-0")
    assert '<svg class="mixbar"' in card and "物流" in card
    assert "参考" in _section(html, "theme-5")
    dash = _section(html, "goals")
    assert '<span class="chip" title="物流">' in dash
    assert dash.count("<li>") == sum(len(g["actions"]) for g in GOALS)


def test_partial_lens_columns_render():
    c = make_lens_corpus()
    c.themes = c.themes[["theme_id", "label", "size", "pxp", "impact_rank"]]
    c.segments = c.segments.drop(columns=["kind", "sentiment"])
    c.documents = c.documents.drop(columns=["emotion"])
    html = render_report(c)
    assert 'id="pain"' in html and 'id="journey"' in html and 'id="emotions"' not in html
    for s in _svgs(html):
        ET.fromstring(s)


def test_many_goals_are_capped():
    c = make_lens_corpus()
    c.goals = pd.DataFrame([dict(GOALS[0], impact_rank=i + 1, outcome=f"成果{i}") for i in range(MAX_GOALS * 3)])
    html = render_report(c)
    goals = _section(html, "goals")
    table = goals[goals.index("<tbody>"): goals.index("</tbody>")]
    assert table.count("<tr>") == MAX_GOALS


# ==============================================================================================
# history store: what changed this week, alerts, themes over weeks, stable theme ids
# ==============================================================================================
from voclens.report.html import MAX_CHANGE_ROWS  # noqa: E402
from voclens.trends import changes as weekly_changes, detect_spikes, proxy_series  # noqa: E402

STORE_WEEKS = [f"2026-W{w}" for w in range(38, 48)]  # 10 ISO weeks, the latest is 2026-W47
UID_OF = {0: "T0001", 1: "T0002", 2: "T0003", 3: "T0004", 4: "T0005", 5: "T0006"}
MATCHED = {0: "continued", 1: "matched", 2: "continued", 3: "continued", 4: "split", 5: "new"}
XSS_ALERT = "新しいテーマ「" + XSS + "」が今週 12 件の否定的な声とともに現れました"


def make_weekly() -> pd.DataFrame:
    """10 weeks of stored aggregates: 配送遅延 spikes in the latest week (more and more negative),
    サポート対応 drops, the price theme is new in the last two weeks, 旧ポイント制度 disappeared."""
    labels = {uid: THEMES[tid][0] for tid, uid in UID_OF.items()}
    labels["T0008"] = "旧ポイント制度"
    rows = []
    for i, week in enumerate(STORE_WEEKS):
        last = i == len(STORE_WEEKS) - 1
        n = {"T0001": 60 if last else 20 + i % 3, "T0002": 12 + i % 2, "T0003": 18 + (i % 4) - 1,
             "T0004": 8 if last else 25 + i % 2, "T0005": 10 + i % 3, "T0006": 13 + i % 2 if i >= 8 else 0,
             "T0008": 10 if i < 8 else 0, "unassigned": 15}
        neg = {"T0001": 45 if last else 6, "T0002": 5, "T0003": 3, "T0004": 3 if last else 10, "T0005": 4,
               "T0006": 8, "T0008": 2, "unassigned": 3}
        total = sum(n.values())
        for uid, k in n.items():
            if not k:
                continue
            rows.append({"theme_uid": uid, "week": week, "n_segments": k, "n_documents": max(1, k - 3),
                         "n_negative": float(min(neg[uid], k)), "n_positive": float(max(0, k - neg[uid]) // 2),
                         "n_pain": int(min(k, neg[uid] + 2)), "n_complaint": int(min(k, neg[uid])),
                         "total_segments": total, "label": labels.get(uid, uid)})
    return pd.DataFrame(rows)


def make_store_corpus() -> Corpus:
    """The lens fixture as `voclens analyze --store` leaves it: stable ids on the themes and
    changes, alerts and the weekly history in meta."""
    c = make_lens_corpus()
    th = c.themes.copy()
    th["theme_uid"] = th.theme_id.map(UID_OF)
    th["matched"] = th.theme_id.map(MATCHED)
    th["match_score"] = np.where(th.matched == "new", np.nan, 0.83)
    c.themes = th
    weekly = make_weekly()
    alerts = detect_spikes(weekly, sensitivity="medium")
    alerts.append({"week": "2026-W47", "theme_uid": "T0099", "label": XSS, "kind": "new_negative_theme",
                   "sensitivity": "medium", "observed": 12.0, "expected": 0.0, "p_value": 0.0,
                   "message": XSS_ALERT, "created": "2026-11-23T09:00:00+00:00"})
    c.meta = dict(c.meta)
    c.meta.update({
        "store": {"path": "/data/voc/store.duckdb", "period": "2026-W47", "run_id": "2026-W47@20261123T090000",
                  "edits_added": 0, "periods": 10},
        "changes": weekly_changes(weekly).to_dict("records"), "alerts": alerts, "history_weekly": weekly,
    })
    return c


@pytest.fixture(scope="module")
def store_corpus() -> Corpus:
    return make_store_corpus()


@pytest.fixture(scope="module")
def store_page(store_corpus) -> str:
    return render_report(store_corpus, MANIFEST, title="週次VoCレポート（履歴）")


def _changes_row(html: str, uid: str) -> str:
    sec = _section(html, "changes")
    table = sec[sec.index('class="sortable wow-table"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"): table.index("</tbody>")], flags=re.S)
    hits = [r for r in rows if f'<span class="uid"' in r and f">{uid}</span>" in r]
    assert len(hits) == 1, uid
    return hits[0]


def test_store_fixture_is_realistic(store_corpus):
    ch_ = {c["theme_uid"]: c for c in store_corpus.meta["changes"]}
    assert ch_["T0001"]["arrow"] == "↑" and ch_["T0001"]["arrow_net"] == "↓" and ch_["T0001"]["week"] == "2026-W47"
    assert ch_["T0004"]["arrow"] == "↓"
    assert ch_["T0006"]["status"] == "emerging" and ch_["T0008"]["status"] == "fading"
    assert any(a["kind"] == "negative_volume" and a["theme_uid"] == "T0001" for a in store_corpus.meta["alerts"])


def test_changes_section_comes_first(store_page):
    order = ["changes", "summary", "goals", "pain", "overview", "trends", "history", "channels", "themes", "run"]
    pos = [store_page.index(f'id="{i}"') for i in order]
    assert pos == sorted(pos)
    assert store_page.index("</nav>") < store_page.index('id="changes"')
    between = store_page[store_page.index("</nav>"): store_page.index('id="changes"')]
    assert "<section" in between and between.count("<section") == 1  # nothing else in between
    nav = store_page[store_page.index('<nav class="toc"'): store_page.index("</nav>")]
    links = re.findall(r'href="#([\w-]+)"', nav)
    assert links[0] == "changes" and "history" in links
    assert links.index("trends") < links.index("history") < links.index("channels")
    assert "What changed this week" in store_page and "Themes over weeks (history)" in store_page


def test_alerts_shown_and_escaped(store_page, store_corpus):
    sec = _section(store_page, "changes")
    assert 'class="alerts"' in sec and "今週の警告はありません" not in sec
    for a in store_corpus.meta["alerts"]:
        assert escape(a["message"]) in sec
    assert XSS not in store_page and "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in sec
    assert store_page.count("<script") == 1
    assert "否定的な声の急増" in sec and "否定的な新テーマ" in sec
    assert re.search(r"p (?:=|&lt;) [\d.e-]+", sec)
    assert "alerts.json" in sec and "感度 medium" in sec
    # an alert on a theme of this run links to its section
    box = sec[sec.index('class="alerts"'):]
    assert 'href="#theme-0"' in box[: box.index("</ul>")]


def test_emerging_and_fading_lists(store_page):
    sec = _section(store_page, "changes")
    em = sec[sec.index("新たに増えているテーマ"): sec.index("減っているテーマ")]
    fa = sec[sec.index("減っているテーマ"): sec.index("前週比")]
    assert ">T0006</span>" in em and ">T0008</span>" not in em
    assert ">T0008</span>" in fa and "旧ポイント制度" in fa and ">T0006</span>" not in fa
    assert "価格・送料 &amp; クーポン" in em and 'href="#theme-5"' in em
    for part in (em, fa):
        assert '<svg class="spark"' in part and "前6週（基準）" in part and "今週 <b>" in part
    for s in _svgs(sec):
        ET.fromstring(s)


def test_week_over_week_table_and_arrows(store_page, store_corpus):
    sec = _section(store_page, "changes")
    body = sec[sec.index("<tbody>", sec.index("wow-table")): sec.index("</tbody>", sec.index("wow-table"))]
    assert body.count("<tr>") == len(store_corpus.meta["changes"])
    spike = _changes_row(store_page, "T0001")
    assert 'class="arr sig s-up"' in spike and "↑" in spike      # share up, significant
    assert 'class="arr sig n-bad"' in spike                       # more negatives, significant
    assert ">60<" in spike and 'href="#theme-0"' in spike
    drop = _changes_row(store_page, "T0004")
    assert 'class="arr sig s-down"' in drop
    steady = _changes_row(store_page, "T0002")
    assert "sig" not in steady and 'class="arr"' in steady and "→" in steady
    assert 'class="status st-steady"' in steady
    assert 'class="status st-fading"' in _changes_row(store_page, "T0008")
    assert "旧ポイント制度" in _changes_row(store_page, "T0008") and 'href="#theme' not in _changes_row(store_page, "T0008")
    note = sec[sec.rindex('class="note formula"'):]
    assert "条件付き二項検定" in note and "z 検定" in note and "p &lt; 0.05" in note


def test_history_chart_svg(store_page):
    sec = _section(store_page, "history")
    svgs = [s for s in _svgs(sec) if 'id="chart-history-t"' in s]
    assert len(svgs) == 1
    root = ET.fromstring(svgs[0])
    assert root.get("role") == "img" and root.find("desc") is not None
    assert float(root.get("viewBox").split()[2]) <= 960
    panels = [g for g in root.iter("g") if g.get("class") == "panel"]
    assert len(panels) == 7  # every stored theme (at most 8), the unassigned left out
    texts = ["".join(t.itertext()) for t in root.iter("text")]
    assert any(t.startswith("T0001 配送遅延") for t in texts) and any(t.startswith("T0008 旧ポイント制度") for t in texts)
    assert not any("unassigned" in t for t in texts)
    # panels of this run's themes link to their sections; T0008 is not in this run
    assert len([a for a in root.iter("a")]) == 6
    assert "9/14" in texts and "11/16" in texts  # 2026-W38 and 2026-W47 start on these Mondays
    assert "直近 10 週" in sec and "2026-W38" in sec
    # the chart on this run's dates stays as it was
    assert 'id="chart-trends-t"' in store_page


def test_kpi_dashboard_weekly_sparklines(store_page, store_corpus):
    goals = _section(store_page, "goals")
    table = goals[goals.index('class="dashboard"'): goals.index("</table>")]
    assert "週次推移" in table and "Trend over weeks" in table
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], flags=re.S)
    assert len(rows) == len(GOALS)
    weekly = store_corpus.meta["history_weekly"]
    for g, row in zip(GOALS, rows):
        cell = row[row.index('<td class="wk">'):]
        code = {"困りごとの割合": "pain_share", "苦情の割合": "complaint_share"}.get(g["proxy"])
        if code:
            pts = proxy_series(weekly, UID_OF[g["theme_id"]], code)
            assert '<svg class="spark"' in cell
            assert f"W{pts[0][0][-2:]} {pts[0][1]:.0f}%" in cell and f"{pts[-1][1]:.0f}%</b>" in cell
        else:  # rating proxy or no proxy: nothing to draw
            assert "<svg" not in cell and "—" in cell
    for s in _svgs(goals):
        ET.fromstring(s)


def test_theme_ids_and_match_badges(store_page):
    ov = _section(store_page, "overview")
    for tid, uid in UID_OF.items():
        assert f">{uid}</span>" in ov
    assert ov.count(">継続</span>") == 4 and ov.count(">新規</span>") == 1 and ov.count(">分割</span>") == 1
    card = _section(store_page, "theme-0")
    head = card[: card.index("</h3>")]
    assert ">T0001</span>" in head and ">継続</span>" in head and "一致スコア 0.83" in head
    assert ">新規</span>" in _section(store_page, "theme-5")[:400]
    assert "履歴 10週" in card  # the stored weekly sparkline on the card


def test_store_page_is_safe_and_parses(store_page):
    assert "<link" not in store_page and "url(" not in store_page and "<img" not in store_page
    for m in re.finditer(r"""\s(?:src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)""", store_page):
        assert m.group(1).startswith("#"), m.group(0)
    for pos in (m.start() for m in re.finditer(r"(?:https?:)?//", store_page)):
        assert not _in_tag(store_page, pos)
    for s in _svgs(store_page):
        assert ET.fromstring(s).find("title") is not None
    charts = [s for s in _svgs(store_page) if 'class="chart-svg"' in s]
    assert len(charts) == 7  # the lens page's six + themes over weeks (history)
    assert "/data/voc/store.duckdb" in _section(store_page, "run")  # store details, as text


def test_reports_without_a_store_have_no_store_sections(page, lens_page):
    for html in (page, lens_page):
        body = html[html.index("</style>"):]
        for sid in ("changes", "history"):
            assert f'id="{sid}"' not in body and f'href="#{sid}"' not in body
        for marker in ("週次推移<span", "Trend over weeks", 'class="uid"', "mbadge", "wow-table", 'class="alerts"',
                       "今週の警告", "chart-history", "data-wk", "履歴 "):
            assert marker not in body, marker


def test_store_keys_one_at_a_time():
    # only alerts (empty): the section with a calm line, no tables, no history chart
    c = make_corpus()
    c.meta = dict(c.meta, alerts=[])
    html = render_report(c)
    sec = _section(html, "changes")
    assert "今週の警告はありません" in sec and "wow-table" not in sec and 'id="history"' not in html
    assert html.index('id="changes"') < html.index('id="summary"')
    # only the history: the chart, but no changes section
    c = make_corpus()
    c.meta = dict(c.meta, history_weekly=make_weekly())
    html = render_report(c)
    assert 'id="history"' in html and 'id="changes"' not in html and 'href="#changes"' not in html
    for s in _svgs(html):
        ET.fromstring(s)
    # a history of a single week: a note instead of a chart
    c.meta = dict(c.meta, history_weekly=make_weekly().query("week == '2026-W47'"))
    html = render_report(c)
    assert "1週分しかありません" in _section(html, "history") and "chart-history" not in html


def test_store_meta_after_a_round_trip_and_caps():
    """changes as a DataFrame, the history as records, missing values as NaN; long lists capped."""
    c = make_store_corpus()
    many = pd.DataFrame([dict(c.meta["changes"][0], theme_uid=f"T{i:04d}", label=f"テーマ{i}", status="steady",
                              net=np.nan, net_prev=None, pain=np.nan) for i in range(MAX_CHANGE_ROWS + 15)])
    c.meta["changes"] = many
    c.meta["history_weekly"] = c.meta["history_weekly"].to_dict("records")
    c.meta["alerts"] = [dict(a, p_value=None) for a in c.meta["alerts"]] * 8
    html = render_report(c)
    sec = _section(html, "changes")
    body = sec[sec.index("<tbody>", sec.index("wow-table")): sec.index("</tbody>", sec.index("wow-table"))]
    assert body.count("<tr>") == MAX_CHANGE_ROWS and "15 テーマは省略" in sec
    alerts = sec[sec.index('class="alerts"'): sec.index("</ul>", sec.index('class="alerts"'))]
    assert alerts.count('<span class="amsg">') == 10 and "alerts.json" in alerts
    assert "該当なし" in sec  # no emerging / fading themes left
    assert 'id="chart-history-t"' in html
    for s in _svgs(html):
        ET.fromstring(s)
