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
