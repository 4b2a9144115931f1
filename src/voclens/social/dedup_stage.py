"""The dedup stage: duplicate groups and suspected campaigns as document columns.

Columns written (documents):

- ``dup_group``: doc_id of the group's representative (its earliest copy); its own doc_id when unique.
- ``dup_count``: documents in the group, itself included (1 when unique).
- ``dup_kind``: "exact" (same canonical text as the representative), "near" (edit, quote post,
  template), "" for the representative itself and unique documents.
- ``campaign``: the group is a suspected coordinated campaign (rules in
  ``resources/social/dedup.toml``: a burst of copy-paste copies from many authors, or a giveaway/
  follow-and-repost template). Reposts (RT/QT) amplify a post; they are not counted as copies
  for the burst rule, because retweeting a complaint is organic.

``corpus.meta["duplicates"]`` holds the counts and the largest groups (text masked, clipped).
"""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.pipeline import RunContext
from voclens.social.dedup import DuplicateFinder, rules

MAX_LISTED = 10  # largest groups and campaigns kept in meta
MAX_TEXT = 200
AUTHOR_KEYS = "author"  # role name in resources/columns.toml


class DedupStage:
    """Documents -> duplicate groups and campaign flags (corpus-wide: not chunkable)."""

    name = "dedup"
    chunkable = False  # groups span the whole corpus
    input_only = True  # reads the original texts, dates and authors only: engines run it beside the chunks
    requires = ("documents.text",)
    assigns = ("documents.dup_group", "documents.dup_count", "documents.dup_kind", "documents.campaign")

    def __init__(self, finder: DuplicateFinder | None = None):
        self.finder = finder

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        o = ctx.settings.dedup
        docs = corpus.documents
        n = len(docs)
        doc_ids = docs["doc_id"].to_numpy()
        if not o.enabled or n == 0:
            corpus.documents = docs.assign(dup_group=doc_ids, dup_count=np.ones(n, np.int64), dup_kind="", campaign=False)
            corpus.meta["duplicates"] = {"enabled": bool(o.enabled), "documents": n, "unique": n}
            return corpus
        finder = self.finder or DuplicateFinder(near=o.near, jaccard=o.threshold, containment=o.containment,
                                                n_jobs=ctx.settings.run.n_jobs)
        # the original texts: the shown ones are masked (@mentions too), and RT @user: must be seen
        originals = corpus.originals if len(corpus.originals) == n else docs.set_index("doc_id")["text"]
        texts = originals.reindex(doc_ids).fillna("").astype(str).tolist()
        ctx.report(self.name, 0, 2)
        finder.fit(texts, order=_date_order(docs))
        ctx.report(self.name, 1, 2)
        rep = finder.group_
        count = np.bincount(rep, minlength=n)[rep]
        is_rep = rep == np.arange(n)
        kind = np.where(is_rep, "", np.where(finder.exact_, "exact", "near")).astype(object)
        flags, campaigns = _campaigns(docs, texts, rep, count, finder)
        corpus.documents = docs.assign(dup_group=doc_ids[rep], dup_count=count.astype(np.int64), dup_kind=kind, campaign=flags)
        corpus.meta["duplicates"] = _summary(docs, texts, rep, count, kind, finder, campaigns, ctx.settings.text)
        ctx.report(self.name, 2, 2)
        return corpus


def _date_order(docs: pd.DataFrame) -> np.ndarray:
    """Earlier = smaller; undated documents after dated ones (then input order decides)."""
    if "date" not in docs:
        return np.zeros(len(docs), dtype=np.int64)
    d = pd.to_datetime(docs["date"], errors="coerce", utc=True)
    ns = d.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(d.isna().to_numpy(), np.iinfo(np.int64).max, ns)


def _authors(docs: pd.DataFrame, rows: np.ndarray) -> np.ndarray | None:
    """Authors of ``rows``: a column recognised by name (``[columns] author`` in columns.toml),
    kept by ingest in ``extra``; None when the data has none."""
    from voclens.ingest.columns import aliases, normalize_name

    names = {normalize_name(a) for a in aliases()["columns"].get(AUTHOR_KEYS, [])}
    direct = next((c for c in docs.columns if normalize_name(c) in names and c not in ("id", "text")), None)
    if direct is not None:
        return docs[direct].iloc[rows].astype(str).to_numpy()
    if "extra" not in docs:
        return None
    out, found = [], False
    for raw in docs["extra"].iloc[rows]:
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw not in ("", "{}") else {}
        except ValueError:
            data = {}
        key = next((k for k in data if normalize_name(k) in names), None) if isinstance(data, dict) else None
        found |= key is not None
        out.append(str(data[key]) if key is not None else "")
    return np.array(out, dtype=object) if found else None


def _campaigns(docs: pd.DataFrame, texts: list[str], rep: np.ndarray, count: np.ndarray, finder: DuplicateFinder):
    """Per-document flag and the list of flagged groups (rules in dedup.toml [campaign]);
    ``texts``: the original texts, by position."""
    c = rules()["campaign"]
    flags = np.zeros(len(rep), dtype=bool)
    listed: list[dict] = []
    reps = np.unique(rep[count >= min(c["min_copies"], c["marker_min_copies"])])
    if not len(reps):
        return flags, listed
    order = _date_order(docs)
    member_order = np.argsort(rep, kind="stable")
    sorted_rep = rep[member_order]
    starts = np.searchsorted(sorted_rep, reps)
    ends = np.searchsorted(sorted_rep, reps, side="right")
    window = int(c["window_hours"] * 3600 * 1e9)
    for g, a, b in zip(reps, starts, ends):
        members = member_order[a:b]
        reason, burst, n_authors = None, 0, None
        copies = members[~finder.repost_[members]]
        if len(copies) >= c["min_copies"] and len(finder.key_[g]) >= c["min_chars"]:
            t = np.sort(order[copies])
            dated = t[t < np.iinfo(np.int64).max]
            # most copies inside one window (undated copies: timing unknown, all count)
            burst = int((np.searchsorted(dated, dated + window, side="right") - np.arange(len(dated))).max()) if len(dated) else 0
            burst = burst if len(dated) == len(t) else len(t)
            authors = _authors(docs, copies)
            n_authors = None if authors is None else len({x for x in authors if x})
            if burst >= c["min_copies"] and (n_authors is None or n_authors >= c["min_authors"]):
                reason = "burst"
        if reason is None and len(members) >= c["marker_min_copies"] and rules()["marker_re"].search(unicodedata.normalize("NFKC", texts[g]).lower()):
            reason = "marker"
        if reason is not None:
            flags[members] = True
            listed.append({"pos": int(g), "doc_id": int(docs["doc_id"].iat[g]), "copies": int(len(members)), "rule": reason,
                           "copy_paste": int(len(copies)), "max_in_window": burst, "authors": n_authors})
    return flags, listed


def _summary(docs, texts, rep, count, kind, finder, campaigns, text_settings) -> dict:
    from voclens.text.stages import shown_document

    is_rep = rep == np.arange(len(rep))
    grouped = is_rep & (count > 1)
    near_groups = np.unique(rep[kind == "near"])

    def shown(pos: int) -> str:  # masked as the documents table shows it, then clipped
        return shown_document(texts[pos], text_settings)[:MAX_TEXT]

    top = np.flatnonzero(grouped)
    top = top[np.lexsort((top, -count[top]))][:MAX_LISTED]
    near_set = set(near_groups.tolist())
    doc_ids = docs["doc_id"].to_numpy()
    flagged = {c["doc_id"] for c in campaigns}
    for c in campaigns:
        c["text"] = shown(c.pop("pos"))
    campaigns.sort(key=lambda c: -c["copies"])
    return {
        "enabled": True,
        "documents": int(len(rep)),
        "unique": int(is_rep.sum()),
        "duplicates": int((~is_rep).sum()),
        "groups": int(grouped.sum()),
        "exact_groups": int(grouped.sum() - len(near_groups)),
        "near_groups": int(len(near_groups)),
        "reposts": int(finder.repost_.sum()),
        "candidate_pairs": finder.stats_.get("candidates", 0),
        "near_pairs": finder.stats_.get("near_pairs", 0),
        "largest": [{"doc_id": int(doc_ids[p]), "copies": int(count[p]), "text": shown(int(p)),
                     "kind": "near" if p in near_set else "exact",
                     "campaign": bool(int(doc_ids[p]) in flagged)} for p in top],
        "campaigns": campaigns[:MAX_LISTED],
        "n_campaigns": len(campaigns),
        "campaign_documents": int(sum(c["copies"] for c in campaigns)),
    }
