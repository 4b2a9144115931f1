"""Polarity lexicon hits as features (resources/sentiment/*.tsv, written by the team).

Lexicon scores are features for the learned classifier, not the classifier: they carry the
words the training corpus has not seen, while the classifier learns when they mislead.
A hit is flipped by a following negation (美味しくない) and scaled by a preceding intensifier
(とても) or downtoner (少し). Emoji and kaomoji are matched on the surface text. Net slang
laughter (草, w, ワロタ: modifiers.tsv kind ``laugh``) is no polarity of its own: it strengthens
whatever the clause says, so 値上げワロタ stays negative and 草むしり is never laughter.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from voclens.text.literals import LiteralFinder
from voclens.text.normalize import normalize
from voclens.text.tokenize import Token, tokenize

N_FEATURES = 8


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, float]  # lemma or surface -> signed strength
    symbols: dict[str, float]  # emoji / kaomoji / multi-char phrases matched on text
    negators: frozenset[str]
    scale: dict[str, float]  # intensifiers (>1) and downtoners (<1)
    symbol_finder: LiteralFinder | None = field(default=None, compare=False)  # the symbols, longest first
    laugh_re: re.Pattern | None = field(default=None, compare=False)  # 草, w, ワロタ at a clause end
    laugh: float = 1.0


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("voclens.resources").joinpath("sentiment").joinpath(name)
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@functools.lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    words: dict[str, float] = {}
    symbols: dict[str, float] = {}
    for r in _rows("lexicon.tsv"):
        term = (r.get("term") or "").strip()
        if not term:
            continue
        try:
            value = float(r["polarity"]) * float(r.get("strength") or 1)
        except (TypeError, ValueError):
            continue
        kind = (r.get("kind") or "").strip()
        term = normalize(term).text  # match what the pipeline sees: NFKC, folded widths
        if kind in ("emoji", "kaomoji", "phrase") or not _is_word(term):
            symbols[term] = value
        else:
            words[term] = value
    negators, scale, laughs, laugh = set(), {}, [], 1.0
    for r in _rows("modifiers.tsv"):
        term, kind = (r.get("term") or "").strip(), (r.get("kind") or "").strip()
        if kind == "negation":
            negators.add(term)
        elif kind == "laugh":
            laughs.append(normalize(term).text)
            laugh = float(r.get("value") or 1)
        elif kind in ("intensifier", "downtoner"):
            try:
                scale[term] = float(r.get("value") or 1)
            except ValueError:
                pass
    return Lexicon(words, symbols, frozenset(negators), scale, LiteralFinder(symbols), _laugh_re(laughs), laugh)


def _laugh_re(terms: list[str]) -> re.Pattern | None:
    """Laughter (草, w, ワロタ) only where it is laughter: closing a clause (not 草むしり), not inside
    a Latin word (new, www.), not the end of a kanji word (雑草)."""
    if not terms:
        return None
    def one(t: str) -> str:
        edge = r"(?<![a-z0-9])" if t.isascii() else (r"(?<![\u4e00-\u9fff])" if "\u4e00" <= t[0] <= "\u9fff" else "")
        return edge + re.escape(t)

    alt = "|".join(one(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?:{alt})(?![\w])")


def _is_word(term: str) -> bool:
    return len(tokenize(term)) == 1


def lexicon_features(text: str, tokens: list[Token] | None = None, lex: Lexicon | None = None) -> np.ndarray:
    """[pos_sum, neg_sum, n_pos, n_neg, negated_hits, symbol_score, exclaim, question].

    Phrases, emoji and kaomoji are matched on the text first (longest first); words inside a
    matched phrase are not counted again, so 不親切 never also counts as 親切.
    """
    lex = lex or load_lexicon()
    toks = tokens if tokens is not None else tokenize(text)
    covered: list[tuple[int, int]] = []
    sym = 0.0
    if lex.symbol_finder is not None:
        for a, b, term in lex.symbol_finder.finditer(text):
            sym += lex.symbols[term]
            covered.append((a, b))
    pos = neg = 0.0
    n_pos = n_neg = negated = 0
    for i, t in enumerate(toks):
        v = lex.words.get(t.lemma)
        if v is None:
            v = lex.words.get(t.base, lex.words.get(t.surface))
        if v is None or any(a <= t.start < b for a, b in covered):
            continue
        if i > 0 and toks[i - 1].surface in lex.scale:
            v *= lex.scale[toks[i - 1].surface]
        # a negation within the next three tokens flips the polarity (美味しく/なかっ/た)
        if any(u.base in lex.negators or u.surface in lex.negators for u in toks[i + 1:i + 4] if u.pos in ("助動詞", "形容詞")):
            v, negated = -v, negated + 1
        if v > 0:
            pos, n_pos = pos + v, n_pos + 1
        elif v < 0:
            neg, n_neg = neg - v, n_neg + 1
    if lex.laugh_re is not None and (pos or neg) and lex.laugh_re.search(text):
        # laughter sides with what the clause says (遅すぎて草 mocks, うますぎて草 delights): it
        # strengthens the clause's own polarity and is no polarity on its own
        pos, neg = pos * lex.laugh, neg * lex.laugh
    return np.array([pos, neg, n_pos, n_neg, negated, sym, text.count("!"), text.count("?")], dtype=np.float32)

