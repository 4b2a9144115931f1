"""Cue patterns (resources/lenses/cues.toml) as features, matched by spaCy over UniDic lemmas.

Phrases are tokenised with the same fugashi tokenizer and matched on lemmas with spaCy's
``PhraseMatcher``, so a data author writes ください and the cue also fires on 下さい. Raw
``Matcher`` patterns cover cues that need tags (a sentence-final か). Each group is one feature:
its number of hits in the segment.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from voclens.text.tokenize import doc_from_tokens, japanese_nlp


@dataclass(frozen=True)
class Cues:
    names: tuple[str, ...]
    phrase_matcher: object
    matcher: object


@functools.lru_cache(maxsize=1)
def _groups() -> list[dict]:
    text = resources.files("voclens.resources").joinpath("lenses").joinpath("cues.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["group"]


def n_features() -> int:
    return len(_groups())


@functools.lru_cache(maxsize=1)
def load_cues() -> Cues:
    from spacy.matcher import Matcher, PhraseMatcher

    nlp = japanese_nlp()
    phrase = PhraseMatcher(nlp.vocab, attr="LEMMA")
    matcher = Matcher(nlp.vocab)
    for g in _groups():
        docs = [nlp.make_doc(p) for p in dict.fromkeys(g.get("phrases", [])) if p.strip()]
        if docs:
            phrase.add(g["name"], docs)
        if g.get("patterns"):
            matcher.add(g["name"], g["patterns"])
    return Cues(tuple(g["name"] for g in _groups()), phrase, matcher)


def cue_hits(text: str, tokens=None) -> dict[str, int]:
    """Hits per group, for explanations (``{'request': 1, 'stage_purchase': 2}``)."""
    cues = load_cues()
    nlp = japanese_nlp()
    doc = nlp.make_doc(text) if tokens is None else doc_from_tokens(nlp.vocab, text, tokens)
    vocab = doc.vocab.strings
    hits: dict[str, int] = {}
    for match_id, _, _ in list(cues.phrase_matcher(doc)) + list(cues.matcher(doc)):
        name = vocab[match_id]
        hits[name] = hits.get(name, 0) + 1
    return hits


def cue_features(text: str, tokens=None) -> np.ndarray:
    cues = load_cues()
    hits = cue_hits(text, tokens)
    return np.array([hits.get(n, 0) for n in cues.names], dtype=np.float32)
