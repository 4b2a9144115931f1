"""Japanese tokens from fugashi + unidic-lite, as plain tuples and as spaCy ``Doc``s.

One tagger per process feeds everything: clause splitting, name masking, content terms for
theme labels, and the spaCy tokenizer (so spaCy's Matcher can run over UniDic lemmas without
SudachiPy). Terms fold 表記ゆれ through UniDic's lemma (語彙素: つながる/繋がる -> 繋がる) and join
compound nouns (配送 + 遅延 -> 配送遅延) so that theme labels read like Japanese.
"""

from __future__ import annotations

import csv
import functools
import re
import threading
from importlib import resources
from typing import NamedTuple

from voclens.errors import MissingDependencyError


class Token(NamedTuple):
    surface: str
    start: int
    end: int
    pos: str  # UniDic pos1: 名詞, 動詞, 助詞 ...
    pos2: str
    pos3: str
    lemma: str  # 語彙素 with the loanword gloss removed (センター-center -> センター)
    base: str  # 書字形基本形, the dictionary form as written
    cform: str  # 活用形


_local = threading.local()


def get_tagger():
    """This thread's MeCab tagger (unidic-lite; output one ``surface<TAB>features`` line per
    token, ``resources/tokenizer.mecabrc``), created on first use. One per thread: a MeCab
    tagger is not thread-safe, and threaded hosts (a Dask worker with threads, the HTTP server)
    would otherwise garble each other's tokens."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        try:
            import fugashi
            import unidic_lite
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("Japanese tokenisation", "pip install fugashi unidic-lite") from exc
        rc = resources.files("voclens.resources").joinpath("tokenizer.mecabrc")
        tagger = _local.tagger = fugashi.GenericTagger(f'-r "{rc}" -d "{unidic_lite.DICDIR}" -Ovoclens')
    return tagger


def tokenize(text: str) -> list[Token]:
    """Tokens with code-point offsets into ``text``.

    MeCab writes the whole text as one string, a ``surface<TAB>raw features`` line per token
    (UniDic fields: 0-2 POS, 5 活用形, 7 語彙素, 10 書字形基本形): a string split instead of a
    node object and two decoded properties per token (1.2x faster than fugashi's nodes, 1.9x
    faster than its feature objects; the same tokens, tested). Each distinct line is read once
    per process (``_LINES``): a corpus repeats a small vocabulary, so most tokens cost a dict
    lookup.
    """
    out: list[Token] = []
    pos = 0
    get = _LINES.get
    find = text.find
    for line in get_tagger().parse(text).split("\n")[:-1]:  # the last line is EOS
        f = get(line)
        if f is None:
            f = _line_fields(line)
            if f is None:  # not a token line (cannot happen with the format above): ask node by node
                return _tokenize_nodes(text)
        surface = f[0]
        start = find(surface, pos)
        if start < 0:  # MeCab dropped or altered characters; fall back to running position
            start = pos
        pos = start + len(surface)
        out.append(_new_token(Token, (surface, start, pos, f[1], f[2], f[3], f[4], f[5], f[6])))
    return out


def _line_fields(line: str) -> tuple | None:
    """(surface, pos, pos2, pos3, lemma, base, cform) of one output line, kept in ``_LINES``."""
    surface, tab, raw = line.partition("\t")
    if not tab:
        return None
    out = (surface, *_token_fields(surface, _features(raw)))
    if len(_LINES) < _LINES_MAX:
        _LINES[line] = out
    return out


def _token_fields(surface: str, f: tuple) -> tuple:
    """(pos, pos2, pos3, lemma, base, cform): the token's own surface stands in for a missing
    lemma (unknown words; a loanword gloss cut: センター-center -> センター) or base."""
    lemma = f[3]
    if lemma is None:
        lemma = surface
        if "-" in lemma and not lemma.startswith("-"):
            lemma = lemma.split("-", 1)[0]
    return f[0], f[1], f[2], lemma, f[4] or surface, f[5]


def _tokenize_nodes(text: str) -> list[Token]:
    """``tokenize`` through MeCab's nodes: the reference the line format is tested against."""
    out: list[Token] = []
    pos = 0
    for w in get_tagger()(text):
        surface = w.surface
        start = text.find(surface, pos)
        if start < 0:
            start = pos
        pos = start + len(surface)
        out.append(_new_token(Token, (surface, start, pos, *_token_fields(surface, _features(w.feature_raw)))))
    return out


_new_token = tuple.__new__  # Token(...) without the generated __new__ wrapper: 9 fields, per token

# Tokens handed from the segment stage to the tokenize stage. The segment stage parses each
# sentence on its own, and most segments are a whole sentence whose analysis text is that
# sentence's text: the same string gives the same tokens, so the tokenize stage takes them
# instead of parsing again (85% of the segment texts of real feedback). Keyed by the text, so
# an entry is right for whoever takes it (threads included); taken entries leave, the segment
# stage starts and the tokenize stage ends with it empty. Bounded by tokens (~110 MB, a chunk's
# sentences) for callers that segment without a tokenize stage after them.
_HANDED: dict[str, list[Token]] = {}
_HANDED_MAX_TOKENS = 600_000
_handed_tokens = 0


def hand_over(text: str, tokens: list[Token]) -> None:
    """Keep ``tokens`` (of ``text``) for ``take_tokens``."""
    global _handed_tokens
    if text not in _HANDED and _handed_tokens + len(tokens) <= _HANDED_MAX_TOKENS:
        _HANDED[text] = tokens
        _handed_tokens += len(tokens)


def take_tokens(text: str) -> list[Token]:
    """``tokenize(text)``, taking tokens handed over for this very text when there are some."""
    global _handed_tokens
    toks = _HANDED.pop(text, None)
    if toks is None:
        return tokenize(text)
    _handed_tokens -= len(toks)
    return toks


def drop_handed() -> None:
    global _handed_tokens
    _HANDED.clear()
    _handed_tokens = 0


_LINES: dict[str, tuple] = {}
_LINES_MAX = 300_000  # distinct (surface, features) seen; bounded so a huge corpus cannot grow it forever


def _features(raw: str) -> tuple:
    """(pos, pos2, pos3, lemma or None, base or None, cform) of one raw feature string; None
    where the token's own surface stands in (unknown words have no lemma or base)."""
    f = raw.split(",") if '"' not in raw else next(csv.reader([raw]))
    n = len(f)
    lemma = f[7] if n > 7 and f[7] not in ("*", "") else None
    if lemma is not None and "-" in lemma and not lemma.startswith("-"):
        lemma = lemma.split("-", 1)[0]  # loanword gloss: センター-center -> センター
    out = (f[0], f[1] if n > 1 else "", f[2] if n > 2 else "", lemma,
           f[10] if n > 10 and f[10] not in ("*", "") else None, f[5] if n > 5 and f[5] != "*" else "")
    return out


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Japanese stop words (data: resources/stopwords_ja.txt)."""
    text = resources.files("voclens.resources").joinpath("stopwords_ja.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


_NOUNISH = {"名詞", "接頭辞", "接尾辞"}
_NEG_AUX = {"ない", "ぬ", "ず", "ん"}
_EASE = {"にくい", "づらい", "辛い", "やすい", "易い"}


def _is_compound_part(t: Token) -> bool:
    if t.pos == "名詞":
        return t.pos2 not in ("数詞", "助動詞語幹") and not (t.pos2 == "普通名詞" and t.pos3 == "副詞可能" and len(t.surface) == 1)
    if t.pos == "接頭辞":
        return True
    if t.pos == "接尾辞":
        return t.pos2 == "名詞的"
    return False


def content_terms(tokens: list[Token], *, stop: frozenset[str] | None = None) -> list[str]:
    """Content terms for labels and keywords: joined compound nouns, adjective/verb lemmas.

    Verbs and adjectives followed by a negation keep it (繋がらない), because for feedback
    the negation is the point.
    """
    stop = stop_words() if stop is None else stop
    terms: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if _is_compound_part(t):
            j = i
            parts: list[Token] = []
            while j < n and _is_compound_part(tokens[j]):
                parts.append(tokens[j])
                j += 1
            while parts and parts[0].pos in ("接尾辞",):
                parts = parts[1:]
            while parts and parts[-1].pos == "接頭辞":
                parts = parts[:-1]
            if parts:
                # fold 表記ゆれ part by part through the lemma, but keep the written form of kana words
                term = "".join(p.surface if p.pos != "名詞" or p.pos2 == "固有名詞" else _fold(p) for p in parts)
                if term not in stop and not _is_junk(term):
                    terms.append(term)
            i = max(j, i + 1)
            continue
        nxt = tokens[i + 1] if i + 1 < n else None
        if t.pos == "動詞" and nxt is not None and nxt.pos == "接尾辞" and nxt.base in _EASE:
            # ease of use is the point: 使いにくい, 分かりづらい, 見やすい stay whole
            term = t.surface + nxt.base
            if term not in stop:
                terms.append(term)
            i += 2
            continue
        if t.pos in ("動詞", "形容詞", "形状詞") and t.pos2 != "非自立可能":
            lemma = t.base if t.pos == "形状詞" else t.lemma
            if nxt is not None and t.pos != "形状詞" and (
                (nxt.pos == "助動詞" and nxt.base in _NEG_AUX) or (t.pos == "形容詞" and nxt.lemma in ("無い", "ない"))
                or (nxt.surface == "ませ" and i + 2 < n and tokens[i + 2].surface == "ん")
            ):
                # keep the written negative: 繋がらない, 繋がりません, 美味しくない
                lemma = t.surface + ("ません" if nxt.surface == "ませ" else "ない")
            if lemma not in stop and not _is_junk(lemma):
                terms.append(lemma)
        i += 1
    return terms


def noun_terms(tokens: list[Token], *, stop: frozenset[str] | None = None) -> list[str]:
    """Nouns for topic features: each noun of a compound and the compound itself.

    配送遅延 gives 配送, 遅延 and 配送遅延, so a segment about 配送 and one about 配送遅延 share
    a feature; predicates (遅い, 繋がらない) are left to the embeddings and the labels.
    """
    stop = stop_words() if stop is None else stop
    out: list[str] = []
    run: list[Token] = []
    for t in [*tokens, None]:
        if t is not None and _is_compound_part(t):
            run.append(t)
            continue
        nouns = [p for p in run if p.pos == "名詞"]
        for p in nouns:
            w = _fold(p) if p.pos2 != "固有名詞" else p.surface
            if w not in stop and not _is_junk(w):
                out.append(w)
        if len(nouns) > 1:
            whole = "".join(p.surface if p.pos != "名詞" or p.pos2 == "固有名詞" else _fold(p) for p in run)
            if whole not in stop and not _is_junk(whole):
                out.append(whole)
        run = []
    return out


def _fold(t: Token) -> str:
    # kana spellings fold to the dictionary's written form (つながり -> 繋がり); words written with
    # kanji keep their surface, so product names (旬彩) are never rewritten (彩 -> 彩り)
    if t.lemma and re_hiragana(t.surface) and not t.lemma.isascii():
        return t.lemma
    return t.surface


_HIRAGANA = re.compile("[\u3041-\u309fー]*")


def re_hiragana(s: str) -> bool:
    return _HIRAGANA.fullmatch(s) is not None


def _is_junk(term: str) -> bool:
    if len(term) < 2 and not ("\u4e00" <= term <= "\u9fff"):
        return True
    return not any(map(str.isalnum, term))


# --- spaCy ------------------------------------------------------------------------------------

_UPOS = {
    "名詞": "NOUN", "代名詞": "PRON", "動詞": "VERB", "形容詞": "ADJ", "形状詞": "ADJ", "連体詞": "DET",
    "副詞": "ADV", "接続詞": "CCONJ", "感動詞": "INTJ", "助動詞": "AUX", "助詞": "ADP", "接頭辞": "NOUN",
    "接尾辞": "NOUN", "記号": "SYM", "補助記号": "PUNCT", "空白": "SPACE",
}


def doc_from_tokens(vocab, text: str, toks: list[Token]):
    """A spaCy ``Doc`` from our tokens (lemmas, UPOS, UniDic tags), without tokenising again."""
    from spacy.tokens import Doc

    words, spaces, lemmas, pos, tags = [], [], [], [], []
    n = len(toks)
    for k, t in enumerate(toks):
        end = t.end
        if end == t.start:
            continue
        nxt = toks[k + 1].start if k + 1 < n else len(text)
        words.append(t.surface)
        spaces.append(nxt > end and text[end] == " ")
        lemmas.append(t.lemma)
        upos, tag = upos_and_tag(t)
        pos.append(upos)
        tags.append(tag)
    return Doc(vocab, words=words, spaces=spaces, lemmas=lemmas, pos=pos, tags=tags)


_TAGS: dict[tuple[str, str, str], tuple[str, str]] = {}  # (pos, pos2, pos3) -> (UPOS, tag): a few hundred


def upos_and_tag(t: Token) -> tuple[str, str]:
    """The UPOS and UniDic tag (名詞-普通名詞-一般) a spaCy ``Doc`` built from ``t`` carries."""
    return _TAGS.get(t[3:6]) or _upos_tag(t.pos, t.pos2, t.pos3)


def _upos_tag(pos: str, pos2: str, pos3: str) -> tuple[str, str]:
    """UPOS and the UniDic tag (名詞-普通名詞-一般) of one POS triple, memoised in ``_TAGS``."""
    upos = "PROPN" if pos2 == "固有名詞" else ("NUM" if pos2 == "数詞" else _UPOS.get(pos, "X"))
    if pos == "助詞" and pos2 == "接続助詞":
        upos = "SCONJ"
    out = _TAGS[(pos, pos2, pos3)] = (upos, "-".join(p for p in (pos, pos2, pos3) if p and p != "*"))
    return out


class FugashiTokenizer:
    """A spaCy tokenizer over fugashi/UniDic: ``Doc``s with lemmas, UPOS and UniDic tags."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text: str):
        return doc_from_tokens(self.vocab, text, tokenize(text))

    # spaCy serialisation hooks: nothing to save, the dictionary ships with unidic-lite
    def to_bytes(self, **kwargs):
        return b""

    def from_bytes(self, data, **kwargs):
        return self

    def to_disk(self, path, **kwargs):
        return None

    def from_disk(self, path, **kwargs):
        return self


@functools.lru_cache(maxsize=1)
def japanese_nlp():
    """A blank spaCy pipeline with the fugashi tokenizer (no SudachiPy needed)."""
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingDependencyError("spaCy documents", "pip install spacy") from exc
    nlp = spacy.blank("xx")
    nlp.tokenizer = FugashiTokenizer(nlp.vocab)
    return nlp
