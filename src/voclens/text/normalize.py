"""Normalisation for analysis that never loses the way back to the original text.

Every normalised character remembers the code-point offset of the original character it came
from (``Normalized.offsets``), so segments found on normalised text map back exactly onto the
text the user gave us. Normalisation works chunk by chunk: a chunk is a base character with
the combining or half-width sound marks that follow it (ｶﾞ -> ガ), so NFKC composes correctly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Marks whose runs say "a lot" but not more per extra copy: ！！！ -> ！, ーーー -> ー.
_SQUASH_TO_ONE = set("!?！？ー〜~…・。、.,♪☆★♡♥wｗ笑")
_HALFWIDTH_SOUND_MARKS = {"\uff9e", "\uff9f"}
_WAVE = {"\u301c": "〜", "\uff5e": "〜", "~": "〜"}  # wave dash variants fold to one

URL_RE = re.compile(r"https?://[^\s\u3000「」『』（）()<>\"']+|www\.[a-z0-9.-]+\.[a-z]{2,}[^\s\u3000]*", re.I)
MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{1,30}")
HASHTAG_RE = re.compile(r"(?<![\w&])[#＃]([\w\u3040-\u30ff\u3400-\u9fff\uff66-\uff9fー]+)")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for each of its characters, the original offset it came from."""

    text: str
    offsets: tuple[int, ...]  # len(text) + 1 entries; the last is len(original)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Original code-point span of ``text[start:end]``."""
        if end <= start:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], _chunk_end(self.offsets, end)


def _chunk_end(offsets: tuple[int, ...], end: int) -> int:
    # The original span of the last char ends where the next chunk starts.
    last = offsets[end - 1]
    for j in range(end, len(offsets)):
        if offsets[j] != last:
            return offsets[j]
    return offsets[-1]


def _extends(ch: str) -> bool:
    """True for marks that belong to the character before them (combining, ﾞﾟ, variation selectors)."""
    return bool(unicodedata.combining(ch)) or ch in _HALFWIDTH_SOUND_MARKS or "\ufe00" <= ch <= "\ufe0f"


def _plain_run() -> re.Pattern:
    """Runs of characters that normalize() copies one by one unchanged: NFKC-stable, not
    marks, spaces, A-Z, wave dashes, squashable marks or non-ASCII digits. Almost all Japanese
    text is such runs; copying them whole (see normalize) skips the per-character loop."""
    blocks = [(0x21, 0x250), (0x3001, 0x3100), (0x3400, 0x4DC0), (0x4E00, 0xA000)]
    special = _SQUASH_TO_ONE | _HALFWIDTH_SOUND_MARKS | set(_WAVE) | set("\n\r\t\u3000\u00a0")
    ranges: list[list[int]] = []
    for lo, hi in blocks:
        for cp in range(lo, hi):
            ch = chr(cp)
            if (ch in special or "A" <= ch <= "Z" or ch.isspace() or _extends(ch) or (ch.isdigit() and not ch.isascii())
                    or unicodedata.normalize("NFKC", ch) != ch):
                continue
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return re.compile("[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges) + "]+")


_PLAIN_RUN = _plain_run()
_FOUR_SAME = re.compile(r"([^0-9])\1\1\1")  # squashed to three by normalize(): not copied whole
_PLAIN_MAX = 1000  # a copied run is at most this long, so a scan never re-reads a long line


# Anything normalize() would change besides NFKC itself; most feedback has none of it.
_NEEDS_WORK = re.compile(
    "[A-Z\t\r\f\v\u3000\u00a0\u0085\u2000-\u200a\u2028\u2029~\u301c\uff5e]"
    "|([!?！？ー〜…・。、.,♪☆★♡♥wｗ笑\n])\\1|([^\\d ])\\2\\2\\2|  |^[ \n]|[ \n]$| \n|\n "
)


def normalize(raw: str, *, lowercase: bool = True, squash: bool = True) -> Normalized:
    """NFKC, widths, wave dashes, whitespace and repeated marks, with an offset map.

    Works chunk by chunk (a base character with its marks: ｶﾞ -> ガ) so that NFKC composes and
    every output character knows its original offset. Runs of plain characters (``_PLAIN_RUN``)
    are copied whole, which gives exactly what the per-chunk loop would: each is its own chunk,
    NFKC leaves it alone, and no rule below touches it unless it repeats (checked).
    """
    if lowercase and squash and unicodedata.is_normalized("NFKC", raw) and not _NEEDS_WORK.search(raw):
        return Normalized(raw, tuple(range(len(raw) + 1)))  # nothing to do: identity map
    out: list[str] = []
    offs: list[int] = []
    prev = ""
    run = 0
    urls = [m.span() for m in URL_RE.finditer(raw)]  # URLs are copied, never squashed
    u = 0
    i, n = 0, len(raw)
    while i < n:
        while u < len(urls) and urls[u][1] <= i:
            u += 1
        in_url = u < len(urls) and urls[u][0] <= i
        if lowercase and squash and not in_url:
            m = _PLAIN_RUN.match(raw, i, min(urls[u][0] if u < len(urls) else n, i + _PLAIN_MAX))
            if m is not None:
                j = m.end()
                if j < n and _extends(raw[j]):
                    j -= 1  # the last character takes the marks after it: not a chunk of its own
                four = _FOUR_SAME.search(raw, i, j)
                if four is not None:
                    j = four.start() + 3  # the fourth copy onwards is squashed: leave it to the loop
                if j > i and raw[i] != prev:  # a repeat of prev would continue its run
                    out.extend(raw[i:j])
                    offs.extend(range(i, j))
                    prev = raw[j - 1]
                    k = j - 1
                    while k > i and raw[k - 1] == prev:
                        k -= 1
                    run = j - k
                    i = j
                    continue
        start = i
        i += 1
        while i < n and _extends(raw[i]):
            i += 1
        chunk = raw[start:i]
        if in_url:
            for ch in chunk:
                out.append(ch), offs.append(start)
            prev, run = chunk[-1], 1
            continue
        norm = unicodedata.normalize("NFKC", chunk)
        for ch in norm:
            ch = _WAVE.get(ch, ch)
            if ch in "\r\t\u3000\u00a0" or (ch.isspace() and ch != "\n"):
                ch = " "
            if lowercase and "A" <= ch <= "Z":
                ch = ch.lower()
            if ch == " " and (prev in (" ", "\n") or not out):
                continue
            if ch == "\n" and prev == " ":
                out.pop(), offs.pop()
                prev = out[-1] if out else ""
            run = run + 1 if ch == prev else 1
            if squash and run > 1:
                if ch in _SQUASH_TO_ONE or ch == "\n" or (run > 3 and not ch.isdigit() and ch != " "):
                    continue
            out.append(ch)
            offs.append(start)
            prev = ch
    while out and out[-1] in " \n":
        out.pop(), offs.pop()
    offs.append(len(raw))
    return Normalized("".join(out), tuple(offs))


@dataclass(frozen=True)
class Features:
    urls: tuple[str, ...]
    mentions: tuple[str, ...]
    hashtags: tuple[str, ...]


def extract_features(text: str) -> Features:
    """URLs, @mentions and #hashtags found in (normalised) text, kept as features."""
    return Features(
        tuple(URL_RE.findall(text)),
        tuple(MENTION_RE.findall(text)),
        tuple(HASHTAG_RE.findall(text)),
    )


def analysis_text(text: str) -> str:
    """Text fed to models: URLs and mentions dropped, hashtag words kept without '#'."""
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    text = HASHTAG_RE.sub(r" \1 ", text)
    return re.sub(r" {2,}", " ", text).strip()
