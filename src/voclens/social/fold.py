"""Spelling-variant matching for brand and watch-term lists (表記ゆれ).

Text and variants are folded the same way: NFKC (widths), case, katakana to hiragana, and the
characters people drop or add at will (long-vowel ー, middle dot ・, spaces, hyphens, underscores)
removed — so one entry ``モグモグマート`` also finds もぐもぐまーと, ﾓｸﾞﾓｸﾞﾏｰﾄ and モグモグ・マート, and
``Mogumogu Mart`` finds ＭＯＧＵＭＯＧＵ ＭＡＲＴ. Alphabet spellings and abbreviations still need
their own variant (folding cannot know that モグマ means モグモグマート).

Folding loses the word edges a substring match needs, so each hit is checked on the NFKC text:
- a Latin variant must not touch a Latin letter or digit (``GB`` is not in ``5GB`` or ``rugby``);
- a Latin abbreviation of at most three letters written in capitals matches capitals only
  (``MGM`` but not ``mgm`` inside a chatty lower-case post);
- a katakana hit must not touch katakana (イオン is not in ライオン; モグ is not in モグモグ);
- an ``exclude`` phrase around the hit cancels it (無事故 for 事故).
Every segment is first searched once on a folded copy built by C-level string methods; the
slower character map is built only for the few segments that hit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from voclens.text.literals import LiteralFinder

_KANA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}  # ァ..ヶ -> ぁ..ゖ
_DROP = {ord(c): None for c in "ー・･ \u3000-_‐"}
_TABLE = {**_KANA, **_DROP}
_LATIN = re.compile(r"[a-z0-9]")
_KATAKANA = re.compile(r"[\u30a1-\u30faー]")


def fold(text: str) -> str:
    """The folded form of ``text`` (for variants and the quick search)."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)


def fold_map(text: str) -> tuple[str, str, list[int]]:
    """(NFKC text, folded text, index of each folded character in the NFKC text)."""
    nfkc = unicodedata.normalize("NFKC", text)
    out, idx = [], []
    for i, ch in enumerate(nfkc):
        for f in ch.casefold().translate(_TABLE):
            out.append(f)
            idx.append(i)
    return nfkc, "".join(out), idx


@dataclass(frozen=True)
class Entry:
    """One brand or term: its name, its spellings and what a hit near it must not be."""

    name: str
    variants: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    info: dict = field(default_factory=dict, compare=False, hash=False)


class Matcher:
    """Finds which entries a text mentions, longest spelling first, with the edge checks above."""

    def __init__(self, entries: list[Entry]):
        self.entries = list(entries)
        self._owner: dict[str, str] = {}
        self._strict: dict[str, set[str]] = {}  # folded short capitals -> the NFKC spellings allowed
        self._exclude: dict[str, list[str]] = {}
        for e in self.entries:
            for v in e.variants:
                f = fold(v)
                self._owner.setdefault(f, e.name)
                nfkc = unicodedata.normalize("NFKC", v)
                if f.isascii() and f.isalnum() and len(f) <= 3 and nfkc.isupper():
                    self._strict.setdefault(f, set()).add(nfkc.replace(" ", ""))
            self._exclude[e.name] = [fold(x) for x in e.exclude if fold(x)]
        self._finder = LiteralFinder(self._owner)  # the folded spellings, longest first

    def __bool__(self) -> bool:
        return bool(self._finder)

    def find(self, text: str) -> list[str]:
        """Names of the entries ``text`` mentions, in order of first mention, each once."""
        if not self._finder or not text or next(self._finder.finditer(fold(text)), None) is None:
            return []
        nfkc, folded, idx = fold_map(text)
        found: list[str] = []
        for fa, fb, key in self._finder.finditer(folded):
            name = self._owner[key]
            if name in found:
                continue
            a, b = idx[fa], idx[fb - 1] + 1
            if self._accept(key, name, nfkc, folded, a, b, fa, fb):
                found.append(name)
        return found

    def _accept(self, key: str, name: str, nfkc: str, folded: str, a: int, b: int, fa: int, fb: int) -> bool:
        before, after = nfkc[a - 1:a].casefold(), nfkc[b:b + 1].casefold()
        if key.isascii():
            if _LATIN.match(before) or _LATIN.match(after):
                return False
            if key in self._strict and nfkc[a:b].replace(" ", "") not in self._strict[key]:
                return False
        span = nfkc[a:b]
        if _KATAKANA.match(span[:1]) and _KATAKANA.match(before):
            return False
        if _KATAKANA.match(span[-1:]) and _KATAKANA.match(after) and after != "ー":  # ー is optional
            return False
        for ex in self._exclude.get(name, ()):
            for m in re.finditer(re.escape(ex), folded):
                if m.start() <= fa and fb <= m.end():
                    return False
        return True
