"""The text layer's shortcuts give exactly what the plain code paths give.

tokenize() reads MeCab's output as one string, normalize() copies runs of plain characters whole, find_pii() skips patterns a text cannot
match, split_clauses() bisects the token list, and the chunk functions reuse the result of a
repeated text. Each test runs the shortcut against the path it replaces on awkward input.
"""

from __future__ import annotations

import random
import re

import pytest

from voclens.text import normalize as norm_mod
from voclens.text import pii as pii_mod
from voclens.text.stages import _segment_chunk, _terms_chunk
from voclens.text.tokenize import _tokenize_nodes, tokenize

# characters that exercise every rule of normalize(): widths, marks, squashing, spaces, URLs
_ALPHABET = list(
    "ああいアｱｶﾞﾞﾟ漢字笑wｗW!！?？。、.,ー〜~～\u301c …・♪☆★♡♥ \n\n\r\t\u3000\u00a0\u0085\u2028"
    "AaZz0000１２²①㍻ｶ\u3099\u0301e\ufe0f😊#＃@_-/:（）"
) + ["https://ex.com/a", "www.foo.jp/x", "@user_1", "#タグ", "ああああ", "1111"]


def _random_texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("opts", [{}, {"lowercase": False}, {"squash": False}])
def test_normalize_run_copy_matches_the_chunk_loop(monkeypatch, opts):
    texts = _random_texts(3000) + ["ｱﾌﾟﾘが落ちる！！！ーーーＷｉＦｉ　最悪～～", "すごーーーい10000円" * 3, "あ" * 2500]
    fast = [norm_mod.normalize(t, **opts) for t in texts]
    monkeypatch.setattr(norm_mod, "_PLAIN_RUN", re.compile(r"(?!)"))  # never matches: every chunk by the loop
    slow = [norm_mod.normalize(t, **opts) for t in texts]
    assert [(n.text, n.offsets) for n in fast] == [(n.text, n.offsets) for n in slow]


def test_find_pii_prefilters_change_nothing(monkeypatch):
    texts = [
        "田中さんの電話は090-1234-5678、〒150-0001 東京都渋谷区神宮前1-2-3 です",
        "カード 4111 1111 1111 1111 で払った。mail: a.b@example.co.jp",
        "横浜市に住んでいます", "特になし", "市役所の対応が良かった",
    ] + _random_texts(500)
    texts = [norm_mod.normalize(t).text for t in texts]
    fast = [pii_mod.find_pii(t) for t in texts]
    always = re.compile("")  # search() always finds the empty match: every pattern runs
    monkeypatch.setattr(pii_mod, "_DIGIT_RE", always)
    monkeypatch.setattr(pii_mod, "_MUNICIPALITY_RE", always)
    assert fast == [pii_mod.find_pii(t) for t in texts]
    assert any(fast)


def test_tokens_from_mecabs_output_string_are_the_node_by_node_tokens():
    """Whitespace MeCab skips or keeps (\\u3000 is a token, \\t and \\n are not), control
    characters, unknown words, a surface that reads EOS, loanword glosses, quoted features."""
    texts = _random_texts(3000, seed=11) + [
        "\u3000テスト\u3000", "テスト\t\x0b\x0c\r\nあ", "EOS", "EOS\nEOS", "a\u2028b", "センター行き", "\"引用\",です",
        "配送は早かったが、梱包が雑でした。(^^)", "", " ", "\n", "𪚲𪚲ñ",
    ]
    texts += [norm_mod.normalize(t).text for t in texts]
    assert [tokenize(t) for t in texts] == [_tokenize_nodes(t) for t in texts]


def test_token_offsets_never_decrease():
    """split_clauses() finds a sentence's tokens by bisection, which needs this order."""
    for text in _random_texts(500, seed=3) + ["  配送は早かったが、\n\n梱包が雑でした。 (^^) ", ""]:
        toks = tokenize(text)
        assert all(a.start <= b.start and a.end <= b.end and a.start <= a.end for a, b in zip(toks, toks[1:]))


def test_repeated_texts_in_a_chunk_reuse_results_without_sharing_lists():
    texts = ["特になし", "配送は早かったが、梱包が雑でした #遅延", "特になし", "配送は早かったが、梱包が雑でした #遅延"]
    opts = dict(mask_pii=True, clauses=True, min_clause_chars=4)
    memo = _segment_chunk(texts, **opts)
    one_by_one = [_segment_chunk([t], **opts)[0] for t in texts]
    assert memo == one_by_one
    assert memo[1][2][-1][-1] is not memo[3][2][-1][-1]  # hashtag lists
    terms = _terms_chunk(texts)
    assert terms == [_terms_chunk([t])[0] for t in texts]
    assert terms[1][0] is not terms[3][0]


def test_hashed_ngrams_of_repeated_texts_are_the_hasher_rows():
    from sklearn.feature_extraction.text import HashingVectorizer

    hasher = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=2**12, alternate_sign=False, norm=None)
    texts = ["特になし", "配送が遅い", "特になし", "梱包が雑", "配送が遅い", "特になし"]
    [(_, _, got)] = _terms_chunk(texts, hasher=hasher)
    want = hasher.transform(texts)
    assert got.shape == want.shape and (got != want).nnz == 0
    assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()


def test_cue_hits_over_tokens_match_spacy_matchers():
    """The cue counts taken straight from the tokens equal spaCy's PhraseMatcher + Matcher over a
    Doc, on the team's lens corpus (full of cue phrases), clause-like fragments and noise."""
    import csv
    from pathlib import Path

    from voclens.lenses import cues as cues_mod
    from voclens.text.tokenize import doc_from_tokens, japanese_nlp

    cues = cues_mod.load_cues()
    assert cues.fast is not None  # the shipped cues.toml has only one-token tag/lemma patterns
    root = Path(__file__).resolve().parents[1] / "corpora" / "lenses"
    texts = [row["text"] for f in sorted(root.glob("*.tsv"))
             for row in csv.DictReader(f.open(encoding="utf-8"), delimiter="\t")]
    texts += ["ですか？ですかね。かしら", "下さいください下さい", "チェックインチェックイン", ""]
    texts += _random_texts(500, seed=11)
    nlp = japanese_nlp()
    fired = 0
    for text in texts:
        toks = tokenize(text)
        doc = doc_from_tokens(nlp.vocab, text, toks)
        want: dict[str, int] = {}
        for match_id, _, _ in list(cues.phrase_matcher(doc)) + list(cues.matcher(doc)):
            name = nlp.vocab.strings[match_id]
            want[name] = want.get(name, 0) + 1
        got = cues_mod.cue_hits(text, toks)
        assert got == want, text
        fired += bool(got)
    assert fired > len(texts) // 4  # the comparison is not between empty dicts


def test_cue_patterns_beyond_one_token_tag_and_lemma_use_spacy():
    from voclens.lenses.cues import _fast_cues

    simple = [{"name": "q", "patterns": [[{"TAG": {"REGEX": "^助詞"}, "LEMMA": {"IN": ["か"]}}]]}]
    assert _fast_cues(simple, {}) is not None
    for pattern in ([{"LEMMA": "か"}, {"LEMMA": "ね"}], [{"LEMMA": "か", "OP": "?"}], [{"POS": "ADP"}]):
        assert _fast_cues([{"name": "q", "patterns": [pattern]}], {}) is None  # spaCy's Matcher decides


def test_tokenizer_stage_runs_each_distinct_text_once_and_fills_every_row():
    import numpy as np
    import pandas as pd

    from voclens.config import Settings
    from voclens.corpus import Corpus
    from voclens.lenses.linear import token_featurizers
    from voclens.pipeline import RunContext
    from voclens.text import stages

    features, ngrams, prepare = token_featurizers()
    base = ["特になし", "配送は早かったが、梱包が雑でした", "アプリが落ちる😡", "店員さんの対応が神"]
    texts = base * 700  # repeats further apart than one map_chunks slice (2,000 items)
    seg = pd.DataFrame({"seg_id": np.arange(len(texts)), "doc_id": np.arange(len(texts)), "norm": texts})
    calls = []
    real = stages._terms

    def counting(chunk, *a):
        calls.append(len(chunk))
        return real(chunk, *a)

    stages._terms = counting
    try:
        corpus = stages.Tokenizer(features, ngrams, prepare)(Corpus(segments=seg.copy()), RunContext(Settings.load(overrides={"run.n_jobs": 1})))
    finally:
        stages._terms = real
    assert sum(calls) == len(base)
    [(alone, dense, hashed)] = _terms_chunk(base, features=features, hasher=ngrams[1])
    for i in range(len(texts)):
        assert (corpus.segments["terms"][i], corpus.segments["nouns"][i]) == alone[i % 4]
        for name in features:
            assert np.array_equal(corpus.features[name][i], dense[name][i % 4])
    assert (corpus.features[ngrams[0]] != hashed[np.arange(len(texts)) % 4]).nnz == 0
    assert corpus.segments["terms"][1] is not corpus.segments["terms"][5]  # no two cells share a list


def test_segmenter_stage_runs_each_distinct_document_once():
    import numpy as np
    import pandas as pd

    from voclens.config import Settings
    from voclens.corpus import Corpus
    from voclens.pipeline import RunContext
    from voclens.text import stages

    base = ["特になし", "配送は早かったが、梱包が雑でした #遅延 山田様", "RT @abc: アプリが落ちる😡"]
    texts = base * 1500  # repeats further apart than one map_chunks slice (2,000 items)
    docs = pd.DataFrame({"doc_id": np.arange(len(texts)), "text": texts})
    calls = []
    real = stages.segment_document

    def counting(t, **kw):
        calls.append(t)
        return real(t, **kw)

    stages.segment_document = counting
    try:
        corpus = stages.Segmenter()(Corpus(documents=docs.copy()), RunContext(Settings.load(overrides={"run.n_jobs": 1})))
    finally:
        stages.segment_document = real
    assert sorted(calls) == sorted(base)
    seg = corpus.segments
    one = {t: stages._segment_chunk([t], **stages.segment_options(Settings().text))[0] for t in base}
    for d in (0, 1, 2, 4497, 4498, 4499):
        rows = seg[seg["doc_id"] == d]
        want = one[texts[d]][2]
        assert [tuple(r) for r in rows[["sent_idx", "clause_idx", "start", "end", "text", "norm", "kind"]].itertuples(index=False)] == [
            r[:-1] for r in want]
        assert corpus.documents["text"].iat[d] == one[texts[d]][0]
    first, again = seg.loc[seg["doc_id"] == 1, "hashtags"].tolist(), seg.loc[seg["doc_id"] == 4, "hashtags"].tolist()
    assert first == again and ["遅延"] in first and all(a is not b for a, b in zip(first, again))  # equal, never shared
