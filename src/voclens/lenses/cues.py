"""Cue patterns (resources/lenses/cues.toml) as features, matched by spaCy over UniDic lemmas.

Phrases are tokenised with the same fugashi tokenizer and matched on lemmas with spaCy's
``PhraseMatcher``, so a data author writes ください and the cue also fires on 下さい. Raw
``Matcher`` patterns cover cues that need tags (a sentence-final か). Each group is one feature:
its number of hits in the segment.

Per segment, building a spaCy ``Doc`` costs more than the matching, so when the caller has the
tokens and every raw pattern is one token tested on its tag (regex) and lemma (a word or a list),
the same hits are counted over the tokens' lemmas and tags directly (``FastCues``; equality with
the spaCy path is tested). Any other pattern switches back to spaCy.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from voclens.text.tokenize import Token, doc_from_tokens, japanese_nlp, upos_and_tag


@dataclass(frozen=True)
class Cues:
    names: tuple[str, ...]
    phrase_matcher: object
    matcher: object
    fast: "FastCues | None" = None  # None: some pattern needs spaCy's Matcher


@dataclass(frozen=True)
class FastCues:
    """The cues as plain data: phrases by their first lemma, one-token patterns as tests."""

    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first lemma -> ((lemmas, group), ...)
    tokens: tuple[tuple[str, re.Pattern | None, frozenset[str] | None], ...]  # (group, tag regex, lemmas)

    def hits(self, tokens: list[Token]) -> dict[str, int]:
        toks = [t for t in tokens if t.end > t.start]  # the tokens a Doc would hold
        lemmas = [t.lemma for t in toks]
        hits: dict[str, int] = {}
        get = self.phrases.get
        n = len(lemmas)
        for i, lemma in enumerate(lemmas):
            for seq, group in get(lemma, ()):
                if i + len(seq) <= n and tuple(lemmas[i:i + len(seq)]) == seq:
                    hits[group] = hits.get(group, 0) + 1
        for group, tag_re, allowed in self.tokens:
            for t, lemma in zip(toks, lemmas):
                if (allowed is None or lemma in allowed) and (tag_re is None or tag_re.search(upos_and_tag(t)[1])):
                    hits[group] = hits.get(group, 0) + 1
        return hits


def _one_token_test(pattern) -> tuple[re.Pattern | None, frozenset[str] | None] | None:
    """(tag regex, allowed lemmas) of a one-token pattern on TAG and LEMMA only, else None."""
    if not isinstance(pattern, list) or len(pattern) != 1 or not isinstance(pattern[0], dict):
        return None
    spec = pattern[0]
    if not spec or set(spec) - {"TAG", "LEMMA"}:
        return None
    tag, lemma = spec.get("TAG"), spec.get("LEMMA")
    tag_re = allowed = None
    if tag is not None:
        if not (isinstance(tag, dict) and set(tag) == {"REGEX"} and isinstance(tag["REGEX"], str)):
            return None
        tag_re = re.compile(tag["REGEX"])
    if lemma is not None:
        if isinstance(lemma, str):
            allowed = frozenset([lemma])
        elif isinstance(lemma, dict) and set(lemma) == {"IN"} and all(isinstance(x, str) for x in lemma["IN"]):
            allowed = frozenset(lemma["IN"])
        else:
            return None
    return tag_re, allowed


def _fast_cues(groups: list[dict], phrase_docs: dict[str, list]) -> FastCues | None:
    phrases: dict[str, dict[tuple[tuple[str, ...], str], None]] = {}
    for name, docs in phrase_docs.items():
        for doc in docs:
            seq = tuple(t.lemma_ for t in doc)
            if seq:  # the same lemmas twice in a group match once, as in the PhraseMatcher
                phrases.setdefault(seq[0], {})[(seq, name)] = None
    tests: dict[tuple, None] = {}
    for g in groups:
        for pattern in g.get("patterns") or ():
            test = _one_token_test(pattern)
            if test is None:
                return None
            tests[(g["name"], *test)] = None  # a token matched by two patterns of a group counts once
    return FastCues({k: tuple(v) for k, v in phrases.items()}, tuple(tests))


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
    phrase_docs = {}
    for g in _groups():
        docs = [nlp.make_doc(p) for p in dict.fromkeys(g.get("phrases", [])) if p.strip()]
        if docs:
            phrase.add(g["name"], docs)
            phrase_docs[g["name"]] = docs
        if g.get("patterns"):
            matcher.add(g["name"], g["patterns"])
    return Cues(tuple(g["name"] for g in _groups()), phrase, matcher, _fast_cues(_groups(), phrase_docs))


def cue_hits(text: str, tokens=None) -> dict[str, int]:
    """Hits per group, for explanations (``{'request': 1, 'stage_purchase': 2}``)."""
    cues = load_cues()
    if tokens is not None and cues.fast is not None:
        return cues.fast.hits(tokens)
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
