"""Find personal data in normalised text, so that every output can mask it.

Patterns run on NFKC text (full-width digits are ASCII by then). Names are found by UniDic's
人名 tag right before an honorific (田中さん, 山田太郎様), with a fallback for short kanji runs
the dictionary does not know; role words (店員さん, お客様) are listed in resources/pii.toml.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from voclens.text.tokenize import Token, tokenize

_D = r"[-‐−–—ー－ ]"  # separators people type inside numbers
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
PHONE_RE = re.compile(
    rf"(?<![\dA-Za-z])(?:\+81{_D}?|0)(?:\d{_D}?){{8,10}}\d(?!\d)"
)
POSTCODE_RE = re.compile(r"(?:〒\s?)?(?<!\d)\d{3}[-‐−ー]\d{4}(?!\d)")
CARD_RE = re.compile(r"(?<!\d)(?:\d{4}[- ]?){3}\d{1,7}(?!\d)")
_PREF = (
    r"(?:北海道|東京都|京都府|大阪府|(?:青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山|石川|福井|"
    r"山梨|長野|岐阜|静岡|愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|"
    r"熊本|大分|宮崎|鹿児島|沖縄)県)"
)
_PLACE = r"[\u4e00-\u9fffぁ-んァ-ヶー々ヶ]"
_HOUSE = r"\d+(?:丁目|番地?|号|-|の)?(?:\d+(?:番地?|号|-|の)?){0,3}(?:\d+)?"
ADDRESS_RE = re.compile(
    rf"{_PREF}?{_PLACE}{{1,8}}?[市区町村郡]{_PLACE}{{0,12}}?{_HOUSE}"
    rf"|{_PREF}{_PLACE}{{1,8}}?[市区町村郡]"
)

_DIGIT_RE = re.compile(r"\d")  # card, phone and postcode numbers all have one
_MUNICIPALITY_RE = re.compile("[市区町村郡]")  # both address forms end a place name with one


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str  # email, phone, postcode, address, card, name


@functools.lru_cache(maxsize=1)
def _config() -> dict:
    text = resources.files("voclens.resources").joinpath("pii.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def placeholder(kind: str) -> str:
    return _config()["placeholders"][kind]


def _digits(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def find_pii(text: str, tokens: list[Token] | None = None) -> list[PiiSpan]:
    """Non-overlapping PII spans in ``text``, sorted by start."""
    found: list[PiiSpan] = []
    # each pattern is run only on text with a character it cannot match without (most feedback
    # has no digit and no 市区町村郡): the same spans, without scanning every text five times
    if "@" in text:
        for m in EMAIL_RE.finditer(text):
            found.append(PiiSpan(m.start(), m.end(), "email"))
    if _DIGIT_RE.search(text):
        for m in CARD_RE.finditer(text):
            if 13 <= _digits(m.group()) <= 19:
                found.append(PiiSpan(m.start(), m.end(), "card"))
        for m in PHONE_RE.finditer(text):
            if 10 <= _digits(m.group()) <= 12:
                found.append(PiiSpan(m.start(), m.end(), "phone"))
        for m in POSTCODE_RE.finditer(text):
            found.append(PiiSpan(m.start(), m.end(), "postcode"))
    if _MUNICIPALITY_RE.search(text):
        for m in ADDRESS_RE.finditer(text):
            # a bare city name is not personal; an address needs a house number or a prefecture
            if any(ch.isdigit() for ch in m.group()) or re.match(_PREF, m.group()):
                found.append(PiiSpan(m.start(), m.end(), "address"))
    if names_possible(text):
        found.extend(_names(text, tokens if tokens is not None else tokenize(text)))
    return _merge(found)


def names_possible(text: str) -> bool:
    """Whether ``find_pii`` looks for names in ``text`` (and so needs its tokens): an honorific
    (様, さん ...) or 申し (と申します) in it."""
    return any(h in text for h in _config()["names"]["honorifics"]) or "申し" in text


def _names(text: str, tokens: list[Token]) -> list[PiiSpan]:
    cfg = _config()["names"]
    honorifics, not_names, role_suffixes = set(cfg["honorifics"]), set(cfg["not_names"]), tuple(cfg["role_suffixes"])
    spans = []
    for i, t in enumerate(tokens):
        # a lone letter (Aさん, B様) is already a pseudonym, not personal data
        person = lambda k: tokens[k].pos2 == "固有名詞" and tokens[k].pos3 == "人名" and not (  # noqa: E731
            tokens[k].surface.isascii() and len(tokens[k].surface) <= 2)
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if person(i):
            j = i
            while j > 0 and person(j - 1) and tokens[j - 1].end == tokens[j].start:
                j -= 1
            nxt = after.surface if after else ""
            full_name = j < i or (after is not None and person(i + 1))
            if nxt in honorifics or full_name or text.startswith(("と申し", "です"), t.end):
                spans.append(PiiSpan(tokens[j].start, t.end, "name"))
            continue
        # fallback: an unknown short kanji/katakana run right before an honorific
        if after is not None and after.surface in honorifics and after.start == t.end:
            word = t.surface
            prefixed = i > 0 and tokens[i - 1].surface in ("お", "ご", "御")
            if (
                1 <= len(word) <= 4
                and re.fullmatch(r"[\u4e00-\u9fff々ァ-ヶー]+", word)
                and word not in not_names
                and not prefixed
                and not word.endswith(role_suffixes)
                and (t.pos2 == "固有名詞" or not word.isascii())
                and not (t.pos == "名詞" and t.pos2 == "普通名詞" and re.fullmatch(r"[ァ-ヶー]+", word))
                and t.pos not in ("接尾辞", "代名詞")
            ):
                spans.append(PiiSpan(t.start, t.end, "name"))
    return spans


def _merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[PiiSpan] = []
    for s in spans:
        if out and s.start < out[-1].end:
            if s.end > out[-1].end:  # overlapping kinds: keep one span covering both
                out[-1] = PiiSpan(out[-1].start, s.end, out[-1].kind)
            continue
        out.append(s)
    return out


def mask(text: str, spans: list[PiiSpan], offset: int = 0) -> str:
    """``text`` with each span (given in coordinates shifted by ``offset``) replaced by its placeholder."""
    if not spans:
        return text
    parts, pos = [], 0
    for s in spans:
        a, b = max(s.start - offset, 0), min(s.end - offset, len(text))
        if b <= 0 or a >= len(text) or a < pos:
            continue
        parts.append(text[pos:a])
        parts.append(placeholder(s.kind))
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def raw_pii_spans(raw: str, norm=None, tokens: list[Token] | None = None) -> list[PiiSpan]:
    """PII spans in original coordinates: found on the normalised text, mapped back."""
    from voclens.text.normalize import normalize

    norm = norm if norm is not None else normalize(raw)
    return [PiiSpan(*norm.raw_span(s.start, s.end), s.kind) for s in find_pii(norm.text, tokens)]


def mask_text(raw: str) -> str:
    """``raw`` with its personal data replaced by placeholders (for any free-text output)."""
    if not raw:
        return raw
    return mask(raw, raw_pii_spans(raw))
