"""Social listening: engagement weights, brands and share of voice, watch-term alerts, SNS text.

Every post here is written by the team for these tests (fictional shops: モグモグマート, サクッと便).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import voclens
from voclens.config import Settings
from voclens.errors import ConfigError, InputError
from voclens.ingest.records import corpus_from_records
from voclens.pipeline import RunContext
from voclens.social.brands import brand_changes, brand_table
from voclens.social.engagement import EngagementStage, is_weighted, parse_count, reach_weight
from voclens.social.sns import document_hashtags
from voclens.social.watchlist import load_watchlist, watch_alerts

WATCHLIST = """
[[brand]]
name = "モグモグマート"
group = "ネットスーパー"
role = "own"
variants = ["モグモグマート", "Mogumogu Mart", "MGM", "モグマ"]

[[brand]]
name = "サクッと便"
group = "ネットスーパー"
role = "competitor"
variants = ["サクッと便", "SKB", "イオン便"]

[[brand]]
name = "旬彩キット"
group = "商品"
role = "product"
variants = ["旬彩キット"]

[[term]]
name = "配送センター"
variants = ["配送センター"]
alert = "any"
severity = "medium"
"""


@pytest.fixture()
def watchlist_file(tmp_path):
    p = tmp_path / "watch.toml"
    p.write_text(WATCHLIST, encoding="utf-8")
    return p


def _ctx(**flat) -> RunContext:
    return RunContext(settings=Settings.load(None, flat))


# -- engagement --------------------------------------------------------------------------------------
def test_engagement_aliases_flags_and_reach_weights():
    recs = [
        {"text": "冷凍食品が溶けてた", "いいね数": "1.2万", "リツイート数": "3,400", "返信": 120},
        {"text": "今日も届いた", "いいね数": 0, "リツイート数": 0, "返信": 0},
        {"text": "アプリが重い", "favorite_count": 4, "retweet_count": 1, "impressions": 5000},
    ]
    c = EngagementStage()(corpus_from_records(recs), _ctx())
    d = c.documents
    assert d["likes"].tolist() == [12000, 0, 4] and d["reposts"].tolist() == [3400, 0, 1]
    assert d["views"].isna().tolist() == [True, True, False]
    a = 50 * (12000 + 3400 + 120)
    assert d["reach"].iloc[0] == pytest.approx(math.sqrt(1 + a / 50), rel=1e-4)
    assert d["reach"].iloc[1] == 1.0  # nobody reacted: one voice
    assert d["reach"].iloc[2] == pytest.approx(math.sqrt(1 + 5000 / 50), rel=1e-4)  # views win when present
    assert is_weighted(d)
    # a post with 50k likes outweighs fifty posts nobody reacted to, but not a corpus of thousands
    big = reach_weight(pd.DataFrame({"likes": [50000.0]}))[0]
    assert 50 < big < 1000
    # a column only a flag can name
    c = EngagementStage()(corpus_from_records([{"text": "いい感じ", "ハート数": "7"}]), _ctx(**{"ingest.engagement_columns": ["likes=ハート数"]}))
    assert c.documents["likes"].tolist() == [7]
    with pytest.raises(InputError, match="ハート"):
        EngagementStage()(corpus_from_records([{"text": "いい感じ"}]), _ctx(**{"ingest.engagement_columns": ["likes=ハート"]}))
    with pytest.raises(ConfigError, match="FIELD=COLUMN"):
        EngagementStage()(corpus_from_records([{"text": "いい感じ"}]), _ctx(**{"ingest.engagement_columns": ["hearts"]}))
    # no engagement at all: weight 1, unweighted
    c = EngagementStage()(corpus_from_records([{"text": "普通のアンケート回答です"}]), _ctx())
    assert c.documents["reach"].tolist() == [1.0] and not is_weighted(c.documents)
    assert parse_count("3.4K") == 3400 and math.isnan(parse_count("たくさん")) and math.isnan(parse_count(None))


# -- brands ---------------------------------------------------------------------------------------
def test_brand_variants_fold_and_short_abbreviations_need_word_edges(watchlist_file):
    m = load_watchlist(watchlist_file).brand_matcher
    assert m.find("もぐもぐまーとで買った") == ["モグモグマート"]  # hiragana, long vowel
    assert m.find("ﾓｸﾞﾓｸﾞﾏｰﾄの配達") == ["モグモグマート"]  # half-width katakana
    assert m.find("ＭＯＧＵＭＯＧＵ　ＭＡＲＴ最高") == ["モグモグマート"]  # full-width alphabet, space
    assert m.find("モグモグ・マートとSKBを比べた") == ["モグモグマート", "サクッと便"]
    assert m.find("MGMで注文") == ["モグモグマート"]
    assert m.find("5SKBのプラン") == [] and m.find("skb") == []  # digit before; short capitals only
    assert m.find("mgm的にはあり") == []
    assert m.find("ライオン便のCM") == []  # イオン便 inside other katakana
    assert m.find("モグモグ食べてモグマで注文") == ["モグモグマート"]
    assert m.find("") == []


def test_share_of_voice_sums_to_one_per_group_and_net_sentiment_from_mentioning_segments(watchlist_file):
    watch = load_watchlist(watchlist_file)
    seg = pd.DataFrame({
        "seg_id": range(6), "doc_id": [0, 0, 1, 2, 3, 4],
        "brands": [["モグモグマート"], ["モグモグマート"], ["サクッと便"], ["モグモグマート", "サクッと便"], ["旬彩キット"], []],
        "sentiment": ["positive", "negative", "negative", "mixed", "positive", "neutral"],
        "theme_id": [0, 0, 1, 1, 0, -1], "kind": "content",
    })
    docs = pd.DataFrame({"doc_id": range(5), "reach": [10.0, 1.0, 1.0, 1.0, 1.0]})
    themes = pd.DataFrame({"theme_id": [0, 1], "label": ["配送", "価格"]})
    t = brand_table(seg, docs, themes, watch).set_index("brand")
    assert t.loc["モグモグマート", "mentions"] == 2  # doc 0 names it twice: one mention
    assert t.groupby("group")["share_of_voice"].sum().round(6).tolist() == [1.0, 1.0]
    assert t.groupby("group")["reach_share"].sum().round(6).tolist() == [1.0, 1.0]
    assert t.loc["モグモグマート", "share_of_voice"] == 0.5 and t.loc["モグモグマート", "reach_share"] == pytest.approx(11 / 13, abs=1e-4)
    assert t.loc["サクッと便", "net_sentiment"] == pytest.approx((0.5 - 1.5) / 2)
    assert t.loc["モグモグマート", "top_themes"][0].startswith("配送")


# -- watch terms and alerts ---------------------------------------------------------------------------
def test_watch_terms_shipped_merged_and_replaced(watchlist_file):
    both = load_watchlist(watchlist_file)
    names = [t.name for t in both.terms]
    assert {"リコール", "異物混入", "炎上", "個人情報", "返金", "食中毒", "訴訟", "配送センター"} <= set(names)
    mine = load_watchlist(watchlist_file, default_terms=False)
    assert [t.name for t in mine.terms] == ["配送センター"]
    m = both.term_matcher
    assert m.find("サラダに虫が入ってた") == ["異物混入"]
    assert m.find("無事故で届きました") == [] and m.find("配達中の事故で遅れた") == ["事故"]
    assert m.find("味付けが濃い") == []  # no hiragana けが inside 付けが


def test_watch_alerts_have_the_spike_alert_shape():
    from voclens.trends.alerts import _alert

    watch = load_watchlist(None)
    weeks = [f"2026-W{w}" for w in range(40, 48)]
    rows = [{"term": "返金", "week": w, "n_segments": 1, "n_documents": 1, "total_segments": 200} for w in weeks[:-1]]
    rows += [{"term": "返金", "week": weeks[-1], "n_segments": 12, "n_documents": 12, "total_segments": 200},
             {"term": "異物混入", "week": weeks[-1], "n_segments": 1, "n_documents": 1, "total_segments": 200},
             {"term": "炎上", "week": weeks[-1], "n_segments": 1, "n_documents": 1, "total_segments": 200},
             {"term": "解約", "week": weeks[-1], "n_segments": 1, "n_documents": 1, "total_segments": 200}]
    hits = pd.DataFrame([{"term": "異物混入", "quotes": ["サラダに虫が入ってた"]}])
    alerts = watch_alerts(pd.DataFrame(rows), watch, hits)
    kinds = {a["label"]: a["kind"] for a in alerts}
    assert kinds == {"返金": "watch_term_spike", "異物混入": "watch_term", "炎上": "watch_term_new"}  # 解約: spike-only, no spike
    shape = set(_alert("w", "T1", "l", "k", "medium", 1, 1, 0.1, "m"))
    assert all(shape <= set(a) for a in alerts) and all(a["week"] == weeks[-1] for a in alerts)
    assert "サラダに虫が入ってた" in next(a["message"] for a in alerts if a["label"] == "異物混入")
    json.dumps(alerts, ensure_ascii=False)  # JSON-safe for alerts.json and the webhook


def test_brand_week_over_week():
    w = pd.DataFrame([
        {"brand": "A", "brand_group": "g", "week": "2026-W46", "mentions": 50, "n_segments": 50, "n_positive": 40, "n_negative": 5, "reach": 60},
        {"brand": "B", "brand_group": "g", "week": "2026-W46", "mentions": 50, "n_segments": 50, "n_positive": 10, "n_negative": 30, "reach": 50},
        {"brand": "A", "brand_group": "g", "week": "2026-W47", "mentions": 20, "n_segments": 20, "n_positive": 10, "n_negative": 5, "reach": 20},
        {"brand": "B", "brand_group": "g", "week": "2026-W47", "mentions": 80, "n_segments": 80, "n_positive": 10, "n_negative": 50, "reach": 90},
    ])
    ch = brand_changes(w).set_index("brand")
    assert ch.loc["A", "sov_prev"] == 0.5 and ch.loc["A", "sov"] == 0.2 and ch.loc["A", "arrow"] == "↓"
    assert ch.loc["B", "arrow"] == "↑" and ch.loc["B", "prev_week"] == "2026-W46"


# -- SNS text ----------------------------------------------------------------------------------------
def test_hashtags_kept_whole_and_mentions_masked_by_setting_with_offsets_intact():
    from voclens.text.stages import segment_document

    raw = "@mogu_support 冷凍のアイスが溶けてた https://example.com/p/1 #モグモグマート #おうちごはん"
    masked, kinds, rows = segment_document(raw, mask_pii=True, clauses=True, min_clause_chars=4, mask_mentions=True)
    shown = " ".join(r[4] for r in rows)
    assert "@mogu_support" not in masked and "[MENTION]" in shown and "https://example.com/p/1" in shown and "mention" in kinds
    for r in rows:  # offsets still point into the original text
        assert raw[r[2]:r[3]].replace("@mogu_support", "[MENTION]") == r[4]
    _, _, kept = segment_document(raw, mask_pii=True, clauses=True, min_clause_chars=4, mask_urls=True)
    assert "@mogu_support" in " ".join(r[4] for r in kept) and "[URL]" in " ".join(r[4] for r in kept)
    seg = pd.DataFrame({"doc_id": [0] * len(rows), "hashtags": [r[7] for r in rows]})
    assert document_hashtags(seg, [0]) == [["モグモグマート", "おうちごはん"]]


def test_slang_laughter_follows_the_clause_and_ambiguous_spellings_do_not_fire():
    from voclens.lenses.lexicon import lexicon_features

    pos, neg = lambda t: float(lexicon_features(t)[0]), lambda t: float(lexicon_features(t)[1])  # noqa: E731
    assert neg("配送遅すぎて草") > neg("配送遅すぎ") > 0  # mocking laughter: more negative
    assert pos("うますぎてワロタ") > pos("うますぎ") > 0
    assert neg("最悪w") > neg("最悪")
    assert lexicon_features("草むしりした").sum() == 0 and lexicon_features("草").sum() == 0  # no polarity on its own
    assert lexicon_features("newな商品").sum() == 0
    assert float(lexicon_features("神回だった")[5]) > 0 and neg("オワコン") > 0 and float(lexicon_features("詰んだ")[5]) < 0


# -- the whole pipeline, two weeks into a store --------------------------------------------------------
POSTS = [
    "モグモグマートの野菜いつも新鮮で助かる", "モグモグマートの配達員さん丁寧で神", "旬彩キット美味しすぎて草 #旬彩キット",
    "サクッと便は配送が遅すぎて詰んだ", "モグモグマートのアプリ重い…", "サクッと便の品揃えはまあまあ",
    "今週の旬彩キットも当たり #モグモグマート", "定期便の解約がわかりにくい", "卵が割れてた。サポートは対応早かった",
    "冷凍食品が溶けてた", "ミールキットの量が少なめ", "チャットで問い合わせたらすぐ解決した",
]


def _posts(week_start: str, extra: list[dict]) -> list[dict]:
    day = pd.Timestamp(week_start)
    out = [{"id": f"{week_start}-{i}", "text": t, "date": (day + pd.Timedelta(hours=9 * i)).isoformat(), "channel": "sns",
            "likes": i % 4, "reposts": i % 2} for i, t in enumerate(POSTS)]
    return out + extra


@pytest.mark.slow
def test_pipeline_two_weeks_in_a_store_brands_move_and_watch_alerts_use_the_alert_channel(watchlist_file, tmp_path):
    store = tmp_path / "s.duckdb"
    w1 = _posts("2026-11-09", [{"id": "a1", "text": "サクッと便、今日は早かった", "date": "2026-11-14T10:00:00", "channel": "sns",
                                "likes": 1, "reposts": 0}])
    w2 = _posts("2026-11-16", [
        {"id": "b1", "text": "@mogu_support モグモグマートのサラダに虫が入ってた。返金より原因を教えて", "date": "2026-11-20T10:00:00",
         "channel": "sns", "likes": 3200, "reposts": 900, "views": 250000},
        *({"id": f"b{i}", "text": f"サクッと便に乗り換えた{i}日目、配送が早い", "date": "2026-11-21T10:00:00", "channel": "sns",
           "likes": 2, "reposts": 0} for i in range(2, 8)),
    ])
    opts = {"social.watchlist": str(watchlist_file), "themes.n_themes": 3, "run.n_jobs": 1, "text.mentions": "mask"}
    voclens.analyze(corpus_from_records(w1), store=store, period="2026-W46", **opts)
    out = tmp_path / "out"
    c = voclens.analyze(corpus_from_records(w2), store=store, period="2026-W47", out=out, **opts)

    # reach beside counts, in the table and the report
    assert {"reach", "reach_share", "net_sentiment_reach", "hashtags"} <= set(c.themes.columns)
    assert c.themes["reach_share"].sum() == pytest.approx(1.0, abs=1e-3)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "構成比（リーチ加重）" in html and "構成比（件数）" in html and "シェア・オブ・ボイス" in html
    # brands: share of voice sums, and the week-over-week move comes from the store
    brands = pd.DataFrame(c.meta["brands"])
    assert brands.groupby("group")["share_of_voice"].sum().round(6).eq(1.0).all()
    moves = {r["brand"]: r for r in c.meta["brand_changes"]}
    assert moves["サクッと便"]["prev_week"] == "2026-W46" and moves["サクッと便"]["sov"] > moves["サクッと便"]["sov_prev"]
    # watch term: in alerts.json, the store's alerts table, with a masked quote
    alerts = json.loads((out / "alerts.json").read_text(encoding="utf-8"))
    foreign = next(a for a in alerts if a["label"] == "異物混入")
    assert foreign["kind"] == "watch_term" and "@mogu_support" not in foreign["message"]
    from voclens.store import Store

    with Store(store, read_only=True) as st:
        stored = st.con.execute("SELECT label, kind FROM alerts WHERE period = '2026-W47'").fetchall()
        assert ("異物混入", "watch_term") in stored
        assert set(st.brand_weekly()["week"]) == {"2026-W46", "2026-W47"}
    # the masked mention still counts as a brand mention (matched on the original text)
    doc = c.documents.set_index("id").loc["b1"]
    assert "モグモグマート" in doc["brands"] and "異物混入" in doc["watch_terms"] and "[MENTION]" in doc["text"]
    assert doc["reach"] > 50 * c.documents.set_index("id").loc["b2", "reach"] / 2
    assert np.isfinite(c.documents["reach"]).all()
    # slang reads as it should in the full model
    sent = c.segments.set_index("text")["sentiment"]
    assert sent.get("サクッと便は配送が遅すぎて詰んだ") == "negative"
