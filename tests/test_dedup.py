"""Duplicate posts and campaigns (voclens.social): grouping, no false merges, stage contract,
meta counts, and themes that count each group once. Team-written posts; no models loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.pipeline import Pipeline, RunContext, is_chunkable
from voclens.social import DedupStage
from voclens.social.dedup import DuplicateFinder, _ranges, canonical, overlap, shingle_sets

ORIGINAL = "モグモグマートの配送、今日も2時間遅れた。冷凍品が溶けかけてて本当に困る"
POSTS = [
    ORIGINAL,                                                               # 0 original
    "RT @kaito_88: " + ORIGINAL,                                            # 1 repost
    "ﾓｸﾞﾓｸﾞマートの配送、今日も２時間遅れた！！！冷凍品が溶けかけてて本当に困る https://t.co/ab12 #配送遅延",  # 2 width, marks, URL, tag
    "ほんとそれ。" + ORIGINAL,                                                # 3 quote post (short comment)
    "モグモグマートの配送、今日も3時間遅れた。冷凍品が溶けかけてて本当に困る",         # 4 template (number)
    "モグモグマートの配送、今日は時間通りに届いた。冷凍品もカチカチで助かる",          # 5 same topic, different post
    "モグモグマートの配送、昨日も遅れたけど連絡が丁寧だったので許せる",               # 6 same topic, different post
    "アプリの決済画面でエラーが出て注文できない。何度やっても同じ",                   # 7 unrelated
    "【プレゼントキャンペーン】フォロー&RTで抽選10名様にミールキット1か月分が当たる！",   # 8 giveaway template
    "【プレゼントキャンペーン】フォロー&RTで抽選5名様にミールキット1か月分が当たる！",    # 9
    "【プレゼントキャンペーン】フォロー＆RTで抽選30名様にミールキット2か月分が当たる！",  # 10
    "今日の夕飯はモグモグマートのミールキットで鮭のクリーム煮にした。家族に好評だった",   # 11 unrelated
    "それな。わかる。自分も同じことがあって、サポートに電話したけど全然つながらなかったし、返金の話も曖昧なままで、もう解約を考えてる。" + ORIGINAL,  # 12 long comment
]


def _finder(posts=POSTS, **kw) -> DuplicateFinder:
    return DuplicateFinder(n_jobs=1, **kw).fit(posts)


def test_canonical_folds_reposts_urls_tags_width_and_marks():
    key, repost = canonical(POSTS[1])
    assert repost and key == canonical(ORIGINAL)[0]
    assert canonical(POSTS[2])[0] == key
    assert canonical("ミルク！！") == canonical("みるく")
    assert canonical("🎉🎉")[0] and canonical("🎉🎉")[0] != canonical("🎉")[0]  # emoji-only posts keep their form
    # full-width and upper-case links, mentions and tags go too (they are matched after NFKC and lower case)
    assert canonical("新色が出た ＨＴＴＰＳ://Example.COM/x ＷＷＷ.Shop.JP ＠Shop_Official ＃新色 #PR") == canonical("新色が出た")


def test_exact_near_quote_and_template_posts_group_with_the_original():
    f = _finder()
    assert list(f.group_[:5]) == [0, 0, 0, 0, 0]
    assert list(f.exact_[:5]) == [True, True, True, False, False]
    assert f.group_[8] == f.group_[9] == f.group_[10] == 8


def test_similar_but_different_posts_stay_apart():
    f = _finder()
    for i in (5, 6, 7, 11):
        assert f.group_[i] == i, POSTS[i]
    # a quote whose comment is longer than the quoted post: the original is not most of it
    assert f.group_[12] == 12


def test_exact_only_and_short_posts():
    f = _finder(near=False)
    assert list(f.group_[:5]) == [0, 0, 0, 3, 4]
    short = DuplicateFinder(n_jobs=1).fit(["草", "草", "草生える", "了解です", "了解です！"])
    assert list(short.group_) == [0, 0, 2, 3, 3]


def test_representative_is_the_earliest_by_date_then_input_order():
    f = DuplicateFinder(n_jobs=1).fit([ORIGINAL, POSTS[1], POSTS[2]], order=np.array([30, 10, 10]))
    assert list(f.group_) == [1, 1, 1]


def test_exact_overlap_and_ranges():
    assert list(_ranges(np.array([5, 0, 9]), np.array([2, 0, 3]))) == [5, 6, 9, 10, 11]
    hashes, offsets = shingle_sets(["abcde", "abcdx", "ab"], 3)
    assert list(np.diff(offsets)) == [3, 3, 1]
    assert list(overlap(hashes, offsets, np.array([0, 0]), np.array([1, 2]))) == [2, 0]


def _corpus(texts, dates=None, authors=None) -> Corpus:
    corpus = Corpus.from_texts(texts, dates=dates)
    if authors is not None:
        corpus.documents["extra"] = [f'{{"user_name": "{a}"}}' for a in authors]
    return corpus


def test_stage_contract_columns_and_meta():
    stage = DedupStage()
    assert stage.name == "dedup" and not is_chunkable(stage)
    corpus = Pipeline([stage])(_corpus(POSTS), RunContext())
    docs = corpus.documents
    assert list(docs["dup_group"][:5]) == [0] * 5 and docs["dup_count"].iat[0] == 5
    assert list(docs["dup_kind"][:5]) == ["", "exact", "exact", "near", "near"]
    assert docs["dup_count"].iat[7] == 1 and docs["dup_kind"].iat[7] == ""
    m = corpus.meta["duplicates"]
    assert (m["documents"], m["unique"], m["groups"], m["exact_groups"], m["near_groups"]) == (13, 7, 2, 0, 2)
    assert m["largest"][0]["copies"] == 5 and m["reposts"] == 1
    # the giveaway template is small (3 < marker_min_copies): not a campaign
    assert not docs["campaign"].any()


def test_disabled_stage_leaves_every_post_alone():
    settings = Settings.load(overrides={"dedup.enabled": False})
    docs = Pipeline([DedupStage()])(_corpus(POSTS), RunContext(settings=settings)).documents
    assert (docs["dup_group"] == docs["doc_id"]).all() and (docs["dup_count"] == 1).all() and not docs["campaign"].any()


def test_campaigns_burst_of_copies_from_many_authors_and_giveaway_markers():
    paste = "モグモグマートのミールキット最高すぎる！みんなも今すぐ試してみて、絶対ハマるから"
    giveaway = "【プレゼント】フォロー&RTで抽選{}名様にギフト券が当たるキャンペーン実施中"
    texts = [paste] * 25 + [giveaway.format(i) for i in range(1, 7)] + ["RT @x: " + ORIGINAL] * 30 + [ORIGINAL]
    dates = pd.date_range("2026-10-01 09:00", periods=len(texts), freq="10min")
    authors = [f"user{i}" for i in range(len(texts))]
    docs = Pipeline([DedupStage()])(_corpus(texts, dates=list(dates), authors=authors), RunContext())
    d, m = docs.documents, docs.meta["duplicates"]
    assert d["campaign"][:31].all()
    assert not d["campaign"][31:].any()  # 30 retweets of a complaint: amplification, not a campaign
    assert {c["rule"] for c in m["campaigns"]} == {"burst", "marker"} and m["n_campaigns"] == 2
    burst = next(c for c in m["campaigns"] if c["rule"] == "burst")
    assert burst["authors"] == 25 and burst["copies"] == 25
    # the same copies by one account, or spread over weeks, are not a coordinated burst
    one = Pipeline([DedupStage()])(_corpus(texts[:25], dates=list(dates[:25]), authors=["bot"] * 25), RunContext())
    assert not one.documents["campaign"].any()
    slow = Pipeline([DedupStage()])(_corpus(texts[:25], dates=list(pd.date_range("2026-01-01", periods=25, freq="3D"))), RunContext())
    assert not slow.documents["campaign"].any()


def _theme_corpus(copies: int) -> Corpus:
    """Two topics of 12 texts each; topic A's first text is reposted ``copies`` times."""
    a = [f"配送が遅い{i}日目" for i in range(12)]
    b = [f"アプリが落ちる{i}回目" for i in range(12)]
    texts = a + b + ["RT @x: " + a[0]] * copies
    corpus = Corpus.from_texts(texts)
    n = len(texts)
    corpus.documents["dup_group"] = np.r_[np.arange(24), np.zeros(copies, dtype=np.int64)]  # as the dedup stage groups them
    rng = np.random.default_rng(0)
    centre = {0: rng.normal(size=16), 1: rng.normal(size=16)}
    emb = np.vstack([centre[0 if (i < 12 or i >= 24) else 1] + 0.05 * rng.normal(size=16) for i in range(n)])
    emb[24:] = emb[0]
    corpus.segments = pd.DataFrame({
        "seg_id": np.arange(n), "doc_id": np.arange(n), "text": texts, "norm": texts, "kind": "content",
        "terms": [["配送"] if (i < 12 or i >= 24) else ["アプリ"] for i in range(n)],
        "nouns": [["配送"] if (i < 12 or i >= 24) else ["アプリ"] for i in range(n)],
    })
    corpus.embeddings = emb.astype(np.float32)
    return corpus


@pytest.mark.parametrize("copies", [0, 40])
def test_themes_count_each_group_once_and_keep_the_volume(copies):
    from voclens.themes import ThemeStage

    settings = Settings.load(overrides={"themes.n_themes": 2, "themes.lexical_weight": 0.0, "themes.dims": 4,
                                        "themes.outlier_z": 0.0})
    corpus = ThemeStage()(_theme_corpus(copies), RunContext(settings=settings))
    t = corpus.themes.set_index("label")
    assert int(t["size"].sum()) == 24 + copies
    assert int(t["n_unique_docs"].sum()) == 24
    big = t.loc[t["size"].idxmax()]
    assert big["size"] == 12 + copies and big["n_unique_docs"] == 12
    assert len(set(big["quote_texts"])) == len(big["quote_texts"])


def test_report_section_lists_largest_groups_and_campaigns():
    from voclens.report.html import render_report

    giveaway = "【プレゼントキャンペーン】フォロー&RTで抽選{}名様にミールキットが当たる！"
    corpus = Pipeline([DedupStage()])(_corpus(POSTS + [giveaway.format(i) for i in range(6)]), RunContext())
    html = render_report(corpus)
    assert 'id="duplicates"' in html and "1 文面・5 件" in html and "キャンペーンの疑い" in html
    alone = Pipeline([DedupStage()])(_corpus(POSTS[5:8]), RunContext())
    assert 'id="duplicates"' not in render_report(alone)  # no duplicates: no section


def test_a_few_copies_leave_theme_discovery_as_it_was():
    from voclens.themes import ThemeStage

    base = {"themes.n_themes": 2, "themes.lexical_weight": 0.0, "themes.dims": 4, "themes.outlier_z": 0.0}
    high = ThemeStage()(_theme_corpus(20), RunContext(settings=Settings.load(overrides={**base, "dedup.themes_min_share": 0.5})))
    assert not high.meta["themes"]["duplicates_counted_once"]
    assert int(high.themes["n_unique_docs"].sum()) == 24  # the unique count is there either way
    low = ThemeStage()(_theme_corpus(20), RunContext(settings=Settings.load(overrides=base)))
    assert low.meta["themes"]["duplicates_counted_once"]



def test_shingles_hashed_in_blocks_equal_one_pass():
    """Blocks bound the hashing's working memory; they must not change a single hash."""
    from voclens.social.dedup import shingle_sets

    texts = ["配送は早かったが梱包が雑", "", "あ", "ab", "ポイントが付かない!!", "同じ文面", "同じ文面", "😊👍" * 30] * 7
    whole = shingle_sets(texts, 3, block_chars=10**9)
    for block in (1, 5, 40):
        h, off = shingle_sets(texts, 3, block_chars=block)
        assert np.array_equal(h, whole[0]) and np.array_equal(off, whole[1])
