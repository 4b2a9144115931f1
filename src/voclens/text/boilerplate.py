"""Greetings, closings, speaker labels: text that says nothing about the customer's experience.

Tickets open with お世話になっております and close with よろしくお願いいたします; chat exports
prefix every line with お客様：. Left in, they form a "theme" of their own and pull documents
together by their form instead of their content. The patterns are data
(resources/boilerplate.toml); boilerplate segments stay in every table, marked
``kind = "boilerplate"``, and are simply not clustered.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

_LETTER = re.compile(r"[0-9a-z\u3041-\u3096\u30a1-\u30fa\u3400-\u9fff々]")


@functools.lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, re.Pattern]:
    data = tomllib.loads(resources.files("voclens.resources").joinpath("boilerplate.toml").read_text(encoding="utf-8"))
    prefix = re.compile("|".join(f"(?:{p})" for p in data["prefixes"]), re.IGNORECASE)
    whole = re.compile("(?:" + "|".join(f"(?:{p})" for p in data["segments"]) + r")\s*", re.IGNORECASE)
    return prefix, whole


def strip_prefixes(text: str) -> str:
    """Drop speaker labels and memo tags at the start (お客様：, 【入電】), repeatedly."""
    prefix, _ = _patterns()
    while True:
        new = prefix.sub("", text, count=1)
        if new == text:
            return text
        text = new


def segment_kind(analysis: str) -> str:
    """'empty' (no letters left, e.g. a bare URL), 'boilerplate', or 'content'."""
    if not _LETTER.search(analysis):
        return "empty"
    if _patterns()[1].fullmatch(analysis):
        return "boilerplate"
    return "content"
