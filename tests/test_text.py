"""Normalisation offsets, PII masking, sentence and clause splitting, tokens and terms."""

from __future__ import annotations

import pytest

from voclens.text.normalize import analysis_text, extract_features, normalize
from voclens.text.pii import find_pii, mask, mask_text
from voclens.text.segment import segment
from voclens.text.tokenize import content_terms, japanese_nlp, noun_terms, tokenize


def _segments(raw: str, clauses: bool = True) -> list[str]:
    n = normalize(raw)
    return [n.text[s.start:s.end] for s in segment(n.text, tokenize(n.text), clauses=clauses)]


def test_normalize_widths_marks_and_offsets():
    raw = "ｱﾌﾟﾘが落ちる！！！ーーーＷｉＦｉ　最悪～～"
    n = normalize(raw)
    assert n.text == "アプリが落ちる!ーwifi 最悪〜"
    assert len(n.offsets) == len(n.text) + 1
    a, b = n.raw_span(0, 3)  # アプリ came from four half-width characters
    assert raw[a:b] == "ｱﾌﾟﾘ"
    a, b = n.raw_span(n.text.index("wifi"), n.text.index("wifi") + 4)
    assert raw[a:b] == "ＷｉＦｉ"


def test_urls_are_copied_not_squashed_and_features_kept():
    n = normalize("https://www.Example.com/A を見て #モグモグマート @mogu_support すごーーーい")
    f = extract_features(n.text)
    assert f.urls == ("https://www.Example.com/A",)
    assert f.mentions == ("@mogu_support",) and f.hashtags == ("モグモグマート",)
    assert analysis_text(n.text) == "を見て モグモグマート すごーい"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("配達の田中さんに連絡", "配達の[NAME]さんに連絡"),
        ("山田太郎様 宛", "[NAME]様 宛"),
        ("連絡先 taro.yamada@example.com まで", "連絡先 [EMAIL] まで"),
        ("携帯 090-1234-5678 です", "携帯 [PHONE] です"),
        ("０３－１２３４－５６７８へ", "[PHONE]へ"),
        ("〒150-0001 東京都渋谷区神宮前1-2-3", "[POSTCODE] [ADDRESS]"),
        ("カード 4111 1111 1111 1111 で払った", "カード [CARD] で払った"),
    ],
)
def test_pii_is_masked(raw, expected):
    assert mask_text(raw) == expected


def test_roles_dates_and_pseudonyms_are_not_masked():
    text = "店員さんとお客様、ドライバーさんに感謝。注文番号 20261028-0012、2026-10-28 の件。Bさん：はい"
    assert find_pii(normalize(text).text) == []


def test_mask_with_offset_only_touches_the_slice():
    text = "前文。佐藤さんが対応"
    spans = find_pii(text)
    assert mask(text[3:], spans, offset=3) == "[NAME]さんが対応"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("配送は早かったが、梱包が雑でした。", ["配送は早かったが、", "梱包が雑でした。"]),
        ("味は美味しいけど量が少ない😭次は頼まないかも", ["味は美味しいけど", "量が少ない😭", "次は頼まないかも"]),
        ("高いのに美味しくない", ["高いのに", "美味しくない"]),
        ("返信が遅い。しかし、対応は丁寧でした(^^)", ["返信が遅い。", "しかし、対応は丁寧でした(^^)"]),
        ("すみませんが、返品の方法を教えてください。", ["すみませんが、返品の方法を教えてください。"]),
        ("梱包が雑でした。", ["梱包が雑でした。"]),  # が as subject marker is no boundary
        ("使うのに便利です", ["使うのに便利です"]),  # purpose のに is no boundary
        ("普通でした。(笑)", ["普通でした。(笑)"]),  # a lone mark stays with its sentence
        ("メールはa.b@example.comです。よろしく。", ["メールはa.b@example.comです。", "よろしく。"]),
        ("アプリが落ちる\n二度と使わない", ["アプリが落ちる", "二度と使わない"]),
    ],
)
def test_sentences_and_contrastive_clauses(raw, expected):
    assert _segments(raw) == expected


def test_clause_splitting_can_be_turned_off():
    assert _segments("配送は早かったが、梱包が雑でした。", clauses=False) == ["配送は早かったが、梱包が雑でした。"]


def test_terms_join_compounds_keep_negation_and_drop_stop_words():
    terms = content_terms(tokenize("お客様センターの配送遅延がひどくて電話が繋がらない。決済エラーが出る"))
    assert "お客様センター" in terms and "配送遅延" in terms and "決済エラー" in terms
    assert "繋がらない" in terms
    assert "こと" not in terms and "する" not in terms


def test_spacy_tokenizer_without_sudachi():
    doc = japanese_nlp()("配送が遅かったです")
    assert [t.text for t in doc][:2] == ["配送", "が"]
    assert doc[2].lemma_ == "遅い" and doc[2].pos_ == "ADJ"
    assert doc.text == "配送が遅かったです"


@pytest.mark.parametrize(
    "text, stripped, kind",
    [
        ("お客様:困ってます", "困ってます", "content"),
        ("【入電】冷蔵品が保冷なしで置き配。", "冷蔵品が保冷なしで置き配。", "content"),
        ("お世話になっております。", "お世話になっております。", "boilerplate"),
        ("よろしくお願いいたします。", "よろしくお願いいたします。", "boilerplate"),
        ("注文番号はmm-2611-14660です", "注文番号はmm-2611-14660です", "boilerplate"),
        ("(^^)", "(^^)", "empty"),
        ("ありがとうございました。", "ありがとうございました。", "content"),  # thanks in a review is praise
    ],
)
def test_boilerplate_and_speaker_labels(text, stripped, kind):
    from voclens.text.boilerplate import segment_kind, strip_prefixes

    assert strip_prefixes(text) == stripped
    assert segment_kind(stripped) == kind


def test_parallel_map_matches_inline(monkeypatch):
    import voclens.parallel as par
    from voclens.text.stages import _terms_chunk

    texts = ["配送が遅い", "アプリが落ちる", "味は最高でした", "電話が繋がらない"] * 50
    inline = par.map_chunks(_terms_chunk, texts, n_jobs=1, chunk_size=16)
    monkeypatch.setattr(par, "MIN_ITEMS", 0)
    seen = []
    parallel = par.map_chunks(_terms_chunk, texts, n_jobs=2, chunk_size=16, progress=lambda d, t: seen.append(d))
    assert parallel == inline and seen[-1] == len(texts)


def test_literal_finder_matches_what_the_longest_first_alternation_matches():
    """Leftmost, longest, non-overlapping: the regex it replaced, on texts made of the entries'
    pieces (where overlaps and prefixes are the rule), and on a lexicon's real entries."""
    import random
    import re

    from voclens.lenses.emotion import load_emotion_lexicon
    from voclens.text.literals import LiteralFinder

    rng = random.Random(0)
    for terms in (["ab", "a", "abc", "bca", "c", "ca", "cab", "(^^)", "^", "ー", ""],
                  list(load_emotion_lexicon().symbols)):
        finder = LiteralFinder(terms)
        regex = re.compile("|".join(re.escape(t) for t in sorted(filter(None, terms), key=len, reverse=True)))
        pieces = [t[:rng.randint(1, 4)] for t in terms if t] + ["x", "。"]
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            assert list(finder.finditer(text)) == [(m.start(), m.end(), m.group()) for m in regex.finditer(text)], text
    assert not LiteralFinder([""]) and list(LiteralFinder([""]).finditer("abc")) == []


def test_a_sentences_own_tokens_are_handed_to_the_tokenize_stage():
    """The segment stage parses sentence by sentence and hands over the tokens of each segment
    that is a whole sentence with its own text; the tokenize stage takes them instead of parsing
    again. Terms stay what parsing each segment's text gives, and nothing is left behind."""
    import pandas as pd

    import voclens.text.tokenize as tk
    from voclens.config import Settings
    from voclens.corpus import Corpus
    from voclens.pipeline import RunContext
    from voclens.text.stages import Segmenter, Tokenizer, segment_document

    one, two = "アプリがすぐ落ちるので困っています", "配送は早かったが梱包が雑"
    three = "ロールちゃんのライブ壁紙でほんわかしよう♪\n配送は早かったが、梱包が雑でした。田中様に電話しました。\n(^^)また買います!"
    tk.drop_handed()
    segment_document(two, mask_pii=True, clauses=True, min_clause_chars=4, hand_tokens=True)
    assert not tk._HANDED  # two clauses: each is tokenised on its own by the tokenize stage
    segment_document(one, mask_pii=True, clauses=True, min_clause_chars=4)
    assert not tk._HANDED  # only the segment stage hands tokens over
    segment_document(one, mask_pii=True, clauses=True, min_clause_chars=4, hand_tokens=True)
    assert list(tk._HANDED) == [normalize(one).text]
    segment_document(three, mask_pii=True, clauses=True, min_clause_chars=4, hand_tokens=True)
    # not the clauses, nor the sentence with a masked name
    assert set(tk._HANDED) == {normalize(one).text, "ロールちゃんのライブ壁紙でほんわかしよう♪", "(^^)また買います!"}

    parsed = []
    real = tk.tokenize
    docs = pd.DataFrame({"doc_id": [0, 1, 2], "text": [one, two, three]})
    ctx = RunContext(settings=Settings.load(overrides={"run.n_jobs": 1}))
    corpus = Segmenter()(Corpus(documents=docs, originals=docs.set_index("doc_id")["text"]), ctx)
    try:
        tk.tokenize = lambda text: parsed.append(text) or real(text)
        corpus = Tokenizer()(corpus, ctx)
    finally:
        tk.tokenize = real
    seg = corpus.segments
    assert "ロールちゃんのライブ壁紙でほんわかしよう♪" in seg["norm"].tolist() and "[NAME]様に電話しました。" in seg["norm"].tolist()
    taken = {normalize(one).text, "ロールちゃんのライブ壁紙でほんわかしよう♪", "(^^)また買います!"}
    assert not taken & set(parsed) and sorted(parsed) == sorted(set(seg["norm"]) - taken)
    assert seg["terms"].tolist() == [content_terms(real(t)) for t in seg["norm"]]
    assert seg["nouns"].tolist() == [noun_terms(real(t)) for t in seg["norm"]]
    assert not tk._HANDED
