"""Customer lenses: the shared classifier, cue patterns, emotion lexicon, roll-ups, theme rules, goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voclens.goals.propose import choose_kpi, pick_actions, target_value
from voclens.lenses.cues import cue_hits
from voclens.lenses.emotion import EMOTIONS, emotion_features
from voclens.lenses.linear import TextClassifier, predict_many
from voclens.lenses.stages import LENS_SETS, document_lenses, emotion_string
from voclens.lenses.themes import growth, pxp_tag, route


def test_multilabel_classifier_round_trip(tmp_path):
    texts = ["嬉しい！最高", "悲しい…", "楽しみだなあ", "びっくりした", "腹が立つ", "怖い", "気持ち悪い", "信頼できる"] * 3
    y = np.tile(np.eye(8, dtype=np.int8), (3, 1))
    emb = np.random.default_rng(0).normal(size=(len(texts), 4)).astype(np.float32)
    m = TextClassifier(EMOTIONS, multilabel=True, dense=("emotion_lexicon",), C=10, n_features=2**12).fit(texts, y, emb, n_jobs=1)
    p = m.predict_proba(texts, emb)
    assert p.shape == (len(texts), 8) and ((p >= 0) & (p <= 1)).all()
    m.save(tmp_path / "emo")
    m2 = TextClassifier.load(tmp_path / "emo")
    assert np.allclose(p, m2.predict_proba(texts, emb), atol=1e-5)
    assert (m2.predict(texts, emb).argmax(axis=1) == np.tile(np.arange(8), 3)).mean() > 0.8


def test_unseen_class_is_never_predicted_and_weights_are_used():
    texts = ["予約したい", "予約をお願いします", "部屋が綺麗", "景色が最高", "返品したい", "交換してほしい"]
    y = ["purchase", "purchase", "use", "use", "support", "support"]
    m = TextClassifier(LENS_SETS["journey_stage"], dense=("cues",), embed_weight=0, n_features=2**12).fit(
        texts, y, sample_weight=np.array([1, 1, 1, 1, 0.5, 0.5]), n_jobs=1)
    p = m.predict_proba(texts)
    assert p[:, LENS_SETS["journey_stage"].index("awareness")].max() < 1e-6
    shared = predict_many({"a": m, "b": m}, texts)
    assert np.allclose(shared["a"], p) and np.allclose(shared["b"], p)


@pytest.mark.parametrize(
    "text, group",
    [("返品の方法を教えてください", "question"), ("もう少し安くしてほしい", "request"), ("チェックインに時間がかかった", "stage_purchase"),
     ("子供が喜んでいました", "job_social"), ("広告で知りました", "stage_awareness"), ("また利用したいです", "stage_loyalty")],
)
def test_cues_match_on_lemmas(text, group):
    assert cue_hits(text).get(group, 0) >= 1


def test_emotion_lexicon_counts_and_negation():
    joy = EMOTIONS.index("joy")
    assert emotion_features("すごく嬉しい！")[joy] > 0
    assert emotion_features("全然嬉しくない")[joy] == 0
    from voclens.text.normalize import normalize  # the pipeline scores normalised text

    assert emotion_features(normalize("(´；ω；｀)").text)[EMOTIONS.index("sadness")] > 0


def test_emotion_levels():
    probs = np.array([0.95, 0.1, 0.55, 0, 0, 0, 0.75, 0])
    assert emotion_string(probs) == "joy:3,anticipation:1,disgust:2"


def test_emotion_strings_of_many_rows_compare_in_the_rows_precision():
    """One string per distinct level pattern; a float32 probability at a threshold (0.7 stored as
    0.69999999) is compared as float32, as a row-by-row comparison with the Python float does."""
    from voclens.lenses.stages import emotion_strings

    rows = np.zeros((5, len(EMOTIONS)), dtype=np.float32)
    rows[0, 0], rows[1, 0], rows[2, 4], rows[4, 0] = 0.7, 0.6999, 0.5, 0.7
    out = emotion_strings(rows)
    assert list(out) == ["joy:2", "joy:1", "anger:1", "", "joy:2"]
    assert list(out) == [emotion_string(r) for r in rows] and emotion_strings(rows[:0]).shape == (0,)


def test_document_roll_up_prefers_actionable_intent_and_any_pain():
    seg = pd.DataFrame({
        "doc_id": [0, 0, 1], "start": [0, 10, 0], "end": [10, 20, 8],
        "job_type": ["functional", "none", "social"], "job_type_p": [0.8, 0.9, 0.7],
        "journey_stage": ["use", "use", "loyalty"], "journey_stage_p": [0.9, 0.6, 0.8],
        "intent": ["praise", "complaint", "praise"], "intent_p": [0.9, 0.8, 0.9],
        "pain_point": [0, 1, 0], **{f"emo_{e}": [0.6 if e == "joy" else 0.0, 0.0, 0.0] for e in EMOTIONS},
    })
    out = document_lenses(seg)
    assert out.loc[0, "intent"] == "complaint" and out.loc[0, "pain_point"] == 1
    assert out.loc[0, "job_type"] == "functional" and out.loc[1, "job_type"] == "social"
    assert out.loc[0, "emotion"] == "joy:1" and out.loc[1, "emotion"] == ""


@pytest.mark.parametrize(
    "net, pain, share, tag",
    [(-0.5, 0.1, 0.1, "POF"), (0.2, 0.45, 0.1, "POF"), (0.4, 0.1, 0.05, "POD"), (0.4, 0.1, 0.01, "POP"), (0.0, 0.2, 0.1, "POP")],
)
def test_pof_pop_pod_rule(net, pain, share, tag):
    assert pxp_tag(net, pain, share) == tag


def test_growth_compares_latest_two_weeks_with_six_before():
    weekly = pd.DataFrame({w: [2 if w >= 2 else 8, 3] for w in range(8)}, index=[0, 1])
    g = growth(weekly, [0, 1, 2])
    assert g[0] == pytest.approx((8 - 2) / 2) and g[1] == 0 and g[2] == 0


def test_routing_uses_keywords_then_stage():
    assert "物流" in route(["配送", "遅延", "置き配"], "use")
    assert "開発" in route(["アプリ", "落ちる", "エラー"], "use")
    assert len(route([], "support", n=2)) == 1


def test_target_rules_follow_rules_md():
    assert target_value(40.0, "pain_share", "POF") == (20.0, "半減")
    assert target_value(0.8, "pain_share", "POF")[0] == 0.8
    assert target_value(60.0, "promoter_share", "POD") == (80.0, "100%との差を半減")
    assert target_value(30.0, "negative_share", "POP")[0] == 30.0
    assert target_value(3.0, "mean_rating", "POF", 5.0) == (4.0, "尺度上限との差を半減")


def test_kpi_choice_and_actions_come_from_the_catalogue():
    kpi = choose_kpi("support", "functional", "POF", ["カスタマーサポート"], has_rating=False)
    assert "support" in kpi["stages"] and kpi["voc_proxy"] not in ("mean_rating", "promoter_share")
    acts = pick_actions("support", "functional", "POF", "返金・解約")
    assert acts and all("「返金・解約」" in a or "{theme}" not in a for a in acts)


@pytest.mark.slow
def test_shipped_lens_models_read_clear_cases(use_embedder):
    from voclens.lenses.stages import load_lens_models

    models = load_lens_models()
    texts = ["来週の土曜に予約をお願いしたいです", "子供たちがとても喜んでいました", "返品の方法を教えてください", "部屋が汚くて最悪でした"]
    p = predict_many(models, texts, use_embedder.encode(texts))
    pick = lambda name, i: LENS_SETS[name][int(p[name][i].argmax())]  # noqa: E731
    assert pick("journey_stage", 0) in ("purchase", "consideration")
    assert pick("job_type", 1) == "social"
    assert pick("intent", 2) == "question"
    assert pick("intent", 3) == "complaint" and pick("pain_point", 3) == "1"


@pytest.mark.parametrize("ngram_range,n_features", [((1, 3), 2**18), ((2, 4), 2**20), ((1, 1), 97), ((3, 8), 2**12)])
def test_char_ngram_hasher_gives_scikit_learns_matrix(ngram_range, n_features):
    """The lens models were trained on HashingVectorizer(char_wb) features: the vectorised hasher
    gives the same matrix (columns, counts, order, dtypes) on Japanese, every kind of whitespace
    str.split knows, 4-byte characters and empty texts."""
    import random

    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    from voclens.lenses.hashing import CharNgramHasher

    rnd = random.Random(5)
    alphabet = list("配送は早かったが梱包が雑ｱｲ漢aZ1 　\t\n\x0b\x1c\x85\xa0\u2028éü€😊𪚲ｗ。、!#@") + ["ございます", "😊😊"]
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(2000)]
    texts += ["", " ", "a", "  a  b ", "\u3000x", "ご対応ありがとうございました。", "𠮷野家の牛丼 美味しい"]
    want = HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range, n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=False).transform(texts)
    got = CharNgramHasher(ngram_range, n_features).transform(texts)
    assert sp.isspmatrix_csr(got) and got.shape == want.shape and got.dtype == want.dtype
    for part in ("indptr", "indices", "data"):
        assert getattr(got, part).dtype == getattr(want, part).dtype
        assert np.array_equal(getattr(got, part), getattr(want, part)), part
