"""Plutchik emotions: lexicon hits per emotion (resources/emotion/lexicon.tsv) as data features.

Words match on UniDic lemma or written form; phrases, emoji and kaomoji on the normalised text
(longest first), so a kaomoji like (´；ω；｀) counts as sadness even though the tokenizer splits
it. A negation right after a word cancels its hit (嬉しくない is not joy).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

from voclens.text.literals import LiteralFinder
from voclens.text.normalize import normalize
from voclens.text.tokenize import tokenize

EMOTIONS = ("joy", "sadness", "anticipation", "surprise", "anger", "fear", "disgust", "trust")
N_FEATURES = len(EMOTIONS)
_NEG = {"ない", "ず", "ぬ", "ん", "無い"}


@dataclass(frozen=True)
class EmotionLexicon:
    words: dict[str, list[tuple[int, float]]]
    symbols: dict[str, list[tuple[int, float]]]
    symbol_finder: LiteralFinder  # the symbols (phrases, emoji, kaomoji), longest first


@functools.lru_cache(maxsize=1)
def load_emotion_lexicon() -> EmotionLexicon:
    path = resources.files("voclens.resources").joinpath("emotion").joinpath("lexicon.tsv")
    words: dict[str, list[tuple[int, float]]] = {}
    symbols: dict[str, list[tuple[int, float]]] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                term, emo = (r.get("term") or "").strip(), (r.get("emotion") or "").strip()
                if not term or emo not in EMOTIONS:
                    continue
                try:
                    value = float(r.get("intensity") or 1)
                except ValueError:
                    continue
                term = normalize(term).text
                single = len(tokenize(term)) == 1 and (r.get("kind") or "word") in ("word", "slang")
                (words if single else symbols).setdefault(term, []).append((EMOTIONS.index(emo), value))
    return EmotionLexicon(words, symbols, LiteralFinder(symbols))


def emotion_features(text: str, tokens=None) -> np.ndarray:
    """Summed lexicon intensity per emotion, in EMOTIONS order."""
    lex = load_emotion_lexicon()
    out = np.zeros(N_FEATURES, dtype=np.float32)
    covered: list[tuple[int, int]] = []
    for a, b, term in lex.symbol_finder.finditer(text):
        for i, v in lex.symbols[term]:
            out[i] += v
        covered.append((a, b))
    toks = tokens if tokens is not None else tokenize(text)
    for k, t in enumerate(toks):
        hits = lex.words.get(t.lemma) or lex.words.get(t.base) or lex.words.get(t.surface)
        if not hits or any(a <= t.start < b for a, b in covered):
            continue
        if any(u.base in _NEG or u.lemma in _NEG for u in toks[k + 1:k + 3] if u.pos in ("助動詞", "形容詞")):
            continue
        for i, v in hits:
            out[i] += v
    return out
