"""SNS text features: hashtags per document and per theme.

Hashtags are kept whole (#モグモグマート, #おうちごはん, #旬彩キット), not split into words: in
Japanese they are mostly brand, product and campaign names whose parts mean little apart
(#旬彩キット split is 旬 / 彩 / キット), teams search for them verbatim, and splitting kana or
kanji needs a tokenizer that cuts unknown names wrongly. Their words still reach the models and
the theme features, because the analysis text keeps the hashtag's text without '#'
(``voclens.text.normalize.analysis_text``). CamelCase Latin tags are kept whole too, for the
same reason (#MogMogMart is one name).

@mentions and URLs are kept or masked in every shown text (``[MENTION]``, ``[URL]``) by
``text.mentions`` / ``text.urls`` (both kept by default, as before); masking replaces characters in the shown text only, so the
segments' offsets into the original text stay exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def explode_lists(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    """``frame.explode(col)`` without its empty and missing lists' rows.

    Most segments have no hashtag, brand or watch term: exploding every row first and dropping
    the empties copied each used column for millions of rows (~0.4 GB at a million texts)."""
    values = frame[col]
    keep = np.fromiter((len(v) > 0 if isinstance(v, (list, tuple, np.ndarray)) else not pd.isna(v) for v in values),
                       dtype=bool, count=len(values))
    return frame[keep].explode(col).dropna(subset=[col])


def document_hashtags(seg: pd.DataFrame, doc_ids) -> list[list[str]]:
    """Each document's hashtags (as written after NFKC and lower-casing), first seen first, once each."""
    if "hashtags" not in seg or not len(seg):
        return [[] for _ in doc_ids]
    per = explode_lists(seg[["doc_id", "hashtags"]], "hashtags")
    grouped = per.groupby("doc_id", sort=False)["hashtags"].agg(lambda s: list(dict.fromkeys(s)))
    found = grouped.to_dict()  # a dict lookup per document: Series.get costs ~5 µs each
    return [found.get(d, []) for d in doc_ids]


def theme_hashtags(seg: pd.DataFrame, theme_ids, top: int = 5) -> list[list[str]]:
    """The most frequent hashtags of each theme's segments (ties by first seen)."""
    if "hashtags" not in seg or "theme_id" not in seg or not len(seg):
        return [[] for _ in theme_ids]
    per = explode_lists(seg[["theme_id", "hashtags"]], "hashtags")
    counts = per.groupby(["theme_id", "hashtags"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["theme_id", "n"], ascending=[True, False], kind="stable")
    tops = counts.groupby("theme_id")["hashtags"].agg(lambda s: list(s[:top]))
    return [tops.get(t, []) for t in theme_ids]
