"""Split normalised text into sentences and contrastive clauses.

Feedback packs several judgements into one sentence (配送は早かったが、梱包が雑でした), so a
segment is a clause when a contrastive particle or conjunction joins two judgements, and a
sentence otherwise. Boundaries never fall inside protected spans (URLs, e-mail addresses and
other personal data), and fragments made only of marks (😊, (^^), !) stay with their sentence.
Splitting uses UniDic tags, so が as a subject marker (梱包が) is never a boundary.
"""

from __future__ import annotations

import functools
import re
import tomllib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from importlib import resources
from operator import itemgetter

from voclens.text.tokenize import Token

_TERMINALS = set("。!?♪")
_CLOSERS = set("」』)]}】〉》\"'”’")
_EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\uFE0F\u200D]+"
)
_WORD_RE = re.compile(r"[0-9A-Za-z\u3041-\u3096\u30a1-\u30fa\u3400-\u9fff\uf900-\ufaff々〆ー]")


_START, _END = itemgetter(1), itemgetter(2)  # Token.start, Token.end


@dataclass(frozen=True)
class SegmentSpan:
    start: int  # offsets into the normalised text
    end: int
    sent_idx: int
    clause_idx: int


@functools.lru_cache(maxsize=1)
def _rules() -> dict:
    text = resources.files("voclens.resources").joinpath("clauses.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {
        "particles": frozenset(data["particles"]),
        "conjunctions": frozenset(data["conjunctions"]),
        "cushions": tuple(data["cushions"]),
    }


def _inside(pos: int, protected: list[tuple[int, int]]) -> bool:
    return any(a < pos < b for a, b in protected)


def split_sentences(text: str, tokens: list[Token] | None = None, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Sentence spans: after 。!?♪ (and closing brackets), newlines, emoji or kaomoji before more text."""
    return sentence_spans(text, mark_cuts(text) | kaomoji_ends(tokens or ()), protected)


def kaomoji_ends(tokens: list[Token]) -> set[int]:
    """Ends of the kaomoji UniDic knows ((^^) ( ´ ▽ ` ): 補助記号-ＡＡ), where sentences may end too."""
    return {t.end for t in tokens if t.pos == "補助記号" and t.pos2 == "ＡＡ"}


def mark_cuts(text: str) -> set[int]:
    """Where sentences may end by their characters alone (no tokens needed): after 。!?♪ (and
    closing brackets), newlines and emoji."""
    cuts = set()
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "\n":
            cuts.add(i + 1)
        elif ch in _TERMINALS or (ch == "." and _is_period(text, i)):
            j = i + 1
            while j < n and (text[j] in _TERMINALS or text[j] in _CLOSERS or text[j] == "."):
                j += 1
            cuts.add(j)
            i = j
            continue
        i += 1
    for m in _EMOJI_RE.finditer(text):
        if m.start() > 0 and text[m.start() - 1] != "\n":
            cuts.add(m.end())
    return cuts


def sentence_spans(text: str, cuts: set[int], protected: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Trimmed spans between ``cuts`` (none inside a protected span); a span of marks alone
    (😊 (^^) (笑)) joins the sentence before it."""
    n = len(text)
    bounds = sorted(c for c in cuts if 0 < c < n and not _inside(c, protected))
    spans, start = [], 0
    for c in bounds + [n]:
        a, b = _trim(text, start, c)
        if b > a:
            if spans and _letters(text, a, b) < 2:  # marks like 😊 (^^) (笑): they belong to the sentence before
                spans[-1] = (spans[-1][0], b)
            else:
                spans.append((a, b))
        start = c
    return spans


def _is_period(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if before.isdigit() or (before.isascii() and before.isalnum() and after.isascii() and after.isalnum()):
        return False
    return after in ("", " ", "\n") or not after.isascii()


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in " \n":
        a += 1
    while b > a and text[b - 1] in " \n":
        b -= 1
    return a, b


def _letters(text: str, a: int, b: int) -> int:
    return len(_WORD_RE.findall(text, a, b))


def split_clauses(
    text: str, start: int, end: int, tokens: list[Token], *, min_chars: int = 4, protected: list[tuple[int, int]] = (),
    base: int = 0,
) -> list[tuple[int, int]]:
    """Clause spans of the sentence ``text[start:end]`` split at contrast markers.

    ``tokens`` are in text order, as ``tokenize`` gives them (starts and ends never decrease), so
    the sentence's tokens are one slice, found by bisection: a scan per sentence would cost
    sentences x tokens on a long document. ``base``: the tokens' offsets count from
    ``text[base]`` (a sentence's own parse, base = its start).
    """
    rules = _rules()
    toks = tokens[bisect_left(tokens, start - base, key=_START):bisect_right(tokens, end - base, key=_END)]
    cuts: list[int] = []
    for k, t in enumerate(toks):
        cut = None
        prev = toks[k - 1] if k > 0 else None
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if t.pos == "助詞" and t.pos2 == "接続助詞" and t.base in rules["particles"]:
            cut = t.end + base
        elif (  # ない + の + に: 〜ないのに / 高いのに (the dictionary tags this のに as two words)
            t.surface == "の" and nxt is not None and nxt.surface == "に" and prev is not None
            and prev.pos in ("助動詞", "形容詞") and k + 2 < len(toks)
            and (toks[k + 2].surface == "、" or toks[k + 2].pos not in ("助詞", "助動詞"))
        ):
            cut = nxt.end + base
        elif t.pos == "接続詞" and t.base in rules["conjunctions"] and k > 0:
            if not (prev is not None and prev.surface in ("、",) and k == 1):
                cut = t.start + base
        if cut is None:
            continue
        while cut < end and text[cut] in "、,， ":  # the comma stays with the first clause
            cut += 1
        cuts.append(cut)
    spans, a = [], start
    for c in cuts:
        if _inside(c, protected) or c <= a or c >= end:
            continue
        left = text[a:c].rstrip("、,， ")
        if left.endswith(("が", "けど", "けれど", "けれども")) and left.rstrip("がけどれも").endswith(rules["cushions"]):
            continue
        if _letters(text, a, c) < min_chars or _letters(text, c, end) < min_chars:
            continue
        spans.append(_trim(text, a, c))
        a = c
    spans.append(_trim(text, a, end))
    return [s for s in spans if s[1] > s[0]]


def segment(
    text: str,
    tokens: list[Token],
    *,
    clauses: bool = True,
    min_clause_chars: int = 4,
    protected: list[tuple[int, int]] = (),
    sentences: list[tuple[int, int]] | None = None,
    sentence_tokens: list[list[Token]] | None = None,
) -> list[SegmentSpan]:
    """Sentence and clause spans of normalised ``text`` (offsets into ``text``). ``sentences``
    when the caller has split them already (``split_sentences`` of the same arguments), and then
    ``sentence_tokens`` instead of ``tokens`` when it has each sentence's own parse."""
    out: list[SegmentSpan] = []
    if sentences is None:
        sentences = split_sentences(text, tokens, protected)
    for s_idx, (a, b) in enumerate(sentences):
        if not clauses:
            parts = [(a, b)]
        elif sentence_tokens is not None:
            parts = split_clauses(text, a, b, sentence_tokens[s_idx], min_chars=min_clause_chars, protected=protected, base=a)
        else:
            parts = split_clauses(text, a, b, tokens, min_chars=min_clause_chars, protected=protected)
        for c_idx, (ca, cb) in enumerate(parts):
            out.append(SegmentSpan(ca, cb, s_idx, c_idx))
    return out
