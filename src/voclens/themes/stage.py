"""The themes stage: features -> clusters -> keywords, labels and quotes.

Segments are clustered in the context of their document: a clause like 「それは良かった」 says
nothing alone, so each segment embedding is blended with its document's mean embedding
(``themes.context_weight``). The feature space and the number of themes are fitted on
documents, where the topic signal is strongest; the theme centres are fitted on segments, and
every segment and every document is then placed at its nearest centre. Measured on the dev
gold categories (scripts/evaluate.py), this beats both pure segment and pure document fitting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.embed.base import unit_rows
from voclens.engine.store import release_pages
from voclens.pipeline import RunContext
from voclens.themes.cluster import AutoKMeans
from voclens.themes.features import HybridFeatures
from voclens.themes.label import class_tfidf, make_label, representative, top_keywords


PRIOR_SUPPORT_SIM = 0.5


class ThemeStage:
    """Segments -> themes. ``features`` and ``clusterer`` can be swapped for any object with the
    same ``fit``/``transform`` and ``fit``/``predict`` methods (BERTopic-style modularity)."""

    name = "themes"
    requires = ("segments.terms", "segments.nouns", "embeddings")  # segments.kind is used when present
    assigns = (
        "segments.theme_id", "segments.theme_similarity", "documents.theme_id",
        "themes.theme_id", "themes.label", "themes.keywords", "themes.size",
    )

    def __init__(self, features=None, clusterer=None, prior=None):
        self.features = features
        self.clusterer = clusterer
        # known themes (a registry: theme_uid, centroid, keywords) to warm-start the clustering
        self.prior = prior

    def _parts(self, ctx: RunContext):
        o = ctx.settings.themes
        features = self.features or HybridFeatures(
            o.lexical_weight, n_lsa=o.lsa_dims, dims=o.dims, sample_size=o.sample_size, seed=o.seed
        )
        clusterer = self.clusterer or AutoKMeans(
            o.n_themes, o.min_themes, o.max_themes, sample_size=o.sample_size, outlier_z=o.outlier_z, seed=o.seed
        )
        return features, clusterer

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        o = ctx.settings.themes
        seg = corpus.segments
        n = len(seg)
        # greetings, closings and bare URLs are not themes: they are kept but not clustered
        content = (seg["kind"] == "content").to_numpy() if "kind" in seg else np.ones(n, dtype=bool)
        rows = np.flatnonzero(content)
        labels = np.full(n, -1, dtype=np.int64)
        sims = np.zeros(n, dtype=np.float32)
        doc_theme = pd.Series(-1, index=corpus.documents["doc_id"].to_numpy(), dtype=np.int64)
        selection: dict = {}
        prior_uids: list[str] = []
        counted_once = False  # duplicate groups counted once in discovery (see _unique_documents)
        if len(rows) >= 2:
            all_nouns = seg["nouns"].tolist()
            terms = [all_nouns[i] for i in rows]
            features, clusterer = self._parts(ctx)
            ctx.report(self.name, 0, 3)
            doc_ids = seg["doc_id"].to_numpy()[rows]
            # duplicate posts (documents.dup_group, the dedup stage) count once in discovery
            uniq_docs, doc_index = np.unique(doc_ids, return_inverse=True)
            fit_docs = _unique_documents(corpus.documents, uniq_docs, ctx.settings.dedup.themes_min_share)
            counted_once = fit_docs is not None
            x, x_doc = _context_features(features, corpus.embeddings, rows, doc_ids, terms, o, fit_docs)
            ctx.report(self.name, 1, 3)
            x_fit, k_fit = (x, x_doc) if fit_docs is None else (x[fit_docs[doc_index]], x_doc[fit_docs])
            init, prior_uids = self._prior_centres(features, x_fit, clusterer)
            clusterer.fit(x_fit, k_data=k_fit, **({"init": init} if init is not None else {}))
            raw_labels, raw_sims = clusterer.predict(x)
            raw_doc_labels, _ = clusterer.predict(x_doc)
            ctx.report(self.name, 2, 3)
            sub, mapping = _renumber_by_size(raw_labels)
            labels[rows], sims[rows] = sub, raw_sims
            doc_theme.loc[uniq_docs] = np.where(raw_doc_labels >= 0, mapping[np.maximum(raw_doc_labels, 0)], -1)
            selection = getattr(clusterer, "selection_", {})

        corpus.themes = describe_themes(seg, labels, sims, o.n_keywords, o.n_quotes, groups=_segment_groups(corpus.documents, seg),
                                        once=counted_once)
        if len(rows) >= 2 and prior_uids:
            # which theme grew from which known one (the identity stage checks and keeps the id)
            started = getattr(clusterer, "prior_", np.zeros(0, dtype=np.int64))
            by_new = {int(mapping[c]): prior_uids[p] for c, p in enumerate(started) if p >= 0 and c < len(mapping) and mapping[c] >= 0}
            corpus.themes = corpus.themes.assign(prior_uid=[by_new.get(int(t)) for t in corpus.themes["theme_id"]])
        corpus.segments = seg.assign(theme_id=labels, theme_similarity=sims)
        docs = corpus.documents
        corpus.documents = docs.assign(theme_id=doc_theme.reindex(docs["doc_id"]).fillna(-1).astype(np.int64).to_numpy())
        outliers = int((labels[rows] < 0).sum())
        corpus.meta["themes"] = {
            "n_themes": len(corpus.themes),
            "clustered_segments": int(len(rows)),
            "not_clustered": {kind: int(v) for kind, v in seg.loc[~content, "kind"].value_counts().items()} if "kind" in seg else {},
            "unassigned": outliers,
            "unassigned_share": round(outliers / max(len(rows), 1), 4),
            "k_selection": selection,
            "duplicates_counted_once": counted_once,
        }
        ctx.report(self.name, 3, 3)
        return corpus


    def _prior_centres(self, features, x: np.ndarray, clusterer) -> tuple[np.ndarray | None, list[str]]:
        """Known themes that this run's segments still talk about, as centres in x's space.

        A known theme counts when at least max(3, 1% of segments) segments have it as their
        nearest known centre with similarity >= PRIOR_SUPPORT_SIM."""
        import inspect

        prior = self.prior
        if prior is None or len(prior) == 0 or "init" not in inspect.signature(clusterer.fit).parameters:
            return None, []
        cents = np.vstack([np.asarray(c, np.float32) for c in prior["centroid"]])
        x_prior = unit_rows(features.transform(cents, [list(k) for k in prior["keywords"]]))
        sims = x @ x_prior.T
        nearest, best = sims.argmax(axis=1), sims.max(axis=1)
        support = np.bincount(nearest[best >= PRIOR_SUPPORT_SIM], minlength=len(prior))
        keep = np.flatnonzero(support >= max(3, int(0.01 * len(x))))
        if not len(keep):
            return None, []
        return x_prior[keep], [prior["theme_uid"].iat[i] for i in keep]


def describe_themes(seg: pd.DataFrame, labels: np.ndarray, sims: np.ndarray, n_keywords: int = 10, n_quotes: int = 5,
                    groups: np.ndarray | None = None, once: bool = False) -> pd.DataFrame:
    """The themes table for segment labels 0..k-1 (-1 = none): c-TF-IDF keywords, a noun-led
    label, size, share, documents and representative quotes. Used again when edits regroup.

    ``groups``: each segment's duplicate group (its document's ``dup_group``): ``n_unique_docs``
    counts groups; with ``once``, keywords and quotes come from one copy per group. Sizes keep every copy."""
    k = int(labels.max()) + 1 if len(labels) and (labels >= 0).any() else 0
    if not k:
        return _empty_themes()
    fit = np.where(groups == seg["doc_id"].to_numpy(), labels, -1) if once and groups is not None else labels
    ctfidf, words = class_tfidf(seg["terms"].tolist(), fit, k)
    keywords = top_keywords(ctfidf, words, n_keywords)
    # the text column as it is stored: a million segments as Python strings would be ~0.5 GB
    texts = seg["text"].array
    quotes = representative(texts, sims, fit, k, n_quotes, lengths=seg["text"].str.len().to_numpy(dtype=np.float32))
    noun_vocab = {w for ns in seg["nouns"] for w in ns} if "nouns" in seg else set()
    theme_labels = _unique_labels([make_label(kw, nouns=noun_vocab) for kw in keywords], keywords)
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    n_content = int((seg["kind"] == "content").sum()) if "kind" in seg else len(seg)
    docs_per_theme = pd.DataFrame({"doc_id": seg["doc_id"].to_numpy(), "t": labels}).query("t >= 0").groupby("t")["doc_id"].nunique()
    seg_ids = seg["seg_id"].to_numpy()
    return pd.DataFrame(
        {
            "theme_id": np.arange(k, dtype=np.int64),
            "label": theme_labels,
            "keywords": keywords,
            "size": sizes.astype(np.int64),
            "n_documents": docs_per_theme.reindex(range(k)).fillna(0).astype(np.int64).to_numpy(),
            "n_unique_docs": _unique_per_theme(seg, labels, groups, k),
            "share": sizes / max(n_content, 1),
            "quotes": [[int(seg_ids[i]) for i in q] for q in quotes],
            "quote_texts": [[str(texts[i]) for i in q] for q in quotes],
        }
    )


# segments read from the embeddings at a time (they may be memory-mapped): each float32 copy of a
# chunk is 2 KB per segment and a chunk makes about five, so 20k keep the working set near 200 MB
CHUNK_SEGMENTS = 20000


def _context_features(features, embeddings, rows: np.ndarray, doc_ids: np.ndarray, terms: list[list[str]], o, fit_docs=None):
    """Clustering features of every content segment (blended with its document) and of every
    document, without ever holding all embeddings in memory.

    Two passes over the embeddings in chunks that end on document boundaries: the first keeps
    the mean embeddings of a document sample to fit ``features`` on, the second transforms each
    chunk. ``embeddings`` may be a memory-mapped float16 file (the stream engine's); the result
    equals the in-memory computation because each document's mean is summed in the same order.
    ``fit_docs`` (a mask over the sorted documents): fit only on those (one copy per duplicate group).
    """
    uniq, index = np.unique(doc_ids, return_inverse=True)  # documents sorted; segments follow them
    n_docs = len(uniq)
    rng = np.random.default_rng(o.seed)
    pool = np.arange(n_docs) if fit_docs is None else np.flatnonzero(fit_docs)
    sample = pool[np.sort(rng.choice(len(pool), o.sample_size, replace=False))] if len(pool) > o.sample_size else pool
    in_sample = np.zeros(n_docs, dtype=bool)
    in_sample[sample] = True
    bounds = _chunk_bounds(index, CHUNK_SEGMENTS)

    fit_emb: list[np.ndarray] = []
    fit_terms: list[list[str]] = []
    for a, b in bounds:
        first, d_emb, d_terms, _ = _documents_chunk(embeddings, rows[a:b], index[a:b], terms[a:b])
        keep = np.flatnonzero(in_sample[first:first + len(d_emb)])
        fit_emb.append(d_emb[keep])
        fit_terms.extend(d_terms[i] for i in keep)
        release_pages(embeddings)  # chunk by chunk: a whole pass would leave every page resident
    features.fit(np.vstack(fit_emb), fit_terms)
    del fit_emb, fit_terms

    x = x_doc = None
    for a, b in bounds:
        first, d_emb, _, member = _documents_chunk(embeddings, rows[a:b], index[a:b], None)
        # terms counted once per segment; a document's counts are its segments' summed
        seg_counts = features.counts(terms[a:b])
        doc_counts = None
        if seg_counts is not None:
            doc_counts = (member @ seg_counts).tocsr()
            doc_counts.sort_indices()
        xd = features.transform(d_emb, counts=doc_counts)
        seg_emb = np.asarray(embeddings[rows[a:b]], dtype=np.float32)
        xs = features.transform(unit_rows(seg_emb + o.context_weight * d_emb[index[a:b] - first]), counts=seg_counts)
        if x is None:
            x = np.empty((len(rows), xs.shape[1]), dtype=np.float32)
            x_doc = np.empty((n_docs, xd.shape[1]), dtype=np.float32)
        x[a:b], x_doc[first:first + len(xd)] = xs, xd
        release_pages(embeddings)
    return x, x_doc


def _chunk_bounds(index: np.ndarray, size: int) -> list[tuple[int, int]]:
    """[a, b) row ranges of about ``size`` rows that never cut a document in two."""
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])  # first row of each document
    bounds, a = [], 0
    while a < len(index):
        j = np.searchsorted(starts, a + size, side="left")
        b = int(starts[j]) if j < len(starts) else len(index)
        b = b if b > a else len(index)
        bounds.append((a, b))
        a = b
    return bounds


def _documents_chunk(embeddings, rows: np.ndarray, index: np.ndarray, terms: list[list[str]] | None):
    """Per document of one chunk: mean embedding (unit), all terms (None without ``terms``) and
    the ``membership`` matrix that summed them (to sum other per-segment rows the same way);
    ``first`` is the chunk's first document number."""
    first = int(index[0])
    local = index - first
    n = int(local[-1]) + 1
    member = membership(local, n)
    emb = np.asarray(embeddings[rows], dtype=np.float32)
    doc_emb = np.asarray(member @ emb, dtype=np.float32)
    if terms is None:
        return first, unit_rows(doc_emb), None, member
    doc_terms: list[list[str]] = [[] for _ in range(n)]
    for i, ts in zip(local, terms):
        doc_terms[i].extend(ts)
    return first, unit_rows(doc_emb), doc_terms, member


def membership(owner: np.ndarray, n: int):
    """Sparse 0/1 matrix (n x len(owner)) with row d selecting the rows ``owner == d``.

    ``membership(owner, n) @ x`` sums each owner's rows in their order, as ``np.add.at`` does
    (the same float32 additions in the same sequence), ~12x faster."""
    from scipy import sparse

    order = np.argsort(owner, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((np.ones(len(owner), np.float32), order, indptr), shape=(n, len(owner)))


def _renumber_by_size(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Theme 0 is the largest; ties broken by the old id, so results stay deterministic."""
    valid = labels[labels >= 0]
    if not len(valid):
        return labels.copy(), np.zeros(0, dtype=np.int64)
    counts = np.bincount(valid)
    order = sorted((c for c in range(len(counts)) if counts[c] > 0), key=lambda c: (-counts[c], c))
    mapping = np.full(len(counts), -1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    return np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1), mapping


def _unique_labels(labels: list[str], keywords: list[list[str]]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab, kws in zip(labels, keywords):
        if lab in seen:
            extra = next((k for k in kws if k not in lab), None)
            lab = f"{lab}・{extra}" if extra else f"{lab} ({seen[lab] + 1})"
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab)
    return out


def _empty_themes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "theme_id": pd.Series(dtype=np.int64),
            "label": pd.Series(dtype=object),
            "keywords": pd.Series(dtype=object),
            "size": pd.Series(dtype=np.int64),
            "n_documents": pd.Series(dtype=np.int64),
            "n_unique_docs": pd.Series(dtype=np.int64),
            "share": pd.Series(dtype=float),
            "quotes": pd.Series(dtype=object),
            "quote_texts": pd.Series(dtype=object),
        }
    )


# -- duplicate groups (voclens.social.dedup_stage) ----------------------------------------------
def _unique_documents(docs: pd.DataFrame, doc_ids: np.ndarray, min_share: float = 0.0) -> np.ndarray | None:
    """Mask over ``doc_ids``: one document per duplicate group; None (fit on every document,
    exactly as before) without dedup or when copies are under ``min_share`` of the documents.

    Why the floor: a few copies cannot distort theme volumes, but removing them still perturbs
    the clustering. On MewsC-16-ja and livedoor dev (0.6-0.7% templated near duplicates) fitting
    on one copy per group moved V-measure by -0.01 to -0.02 over seeds 0-2 (scripts/evaluate.py);
    SNS exports with reposts run at 20-80% copies."""
    if "dup_group" not in docs or not len(docs):
        return None
    if float((docs["dup_group"].to_numpy() != docs["doc_id"].to_numpy()).mean()) < max(min_share, 1e-12):
        return None
    group = pd.Series(docs["dup_group"].to_numpy(), index=docs["doc_id"].to_numpy()).reindex(doc_ids).to_numpy()
    # one document per group: the representative, or its first copy when it has no content segment
    order = np.argsort(group != doc_ids, kind="stable")
    keep = np.zeros(len(doc_ids), dtype=bool)
    keep[order[~pd.Series(group[order]).duplicated().to_numpy()]] = True
    return None if keep.all() else keep


def _segment_groups(docs: pd.DataFrame, seg: pd.DataFrame) -> np.ndarray | None:
    """Each segment's duplicate group (its document's dup_group), or None without dedup."""
    if "dup_group" not in docs:
        return None
    return seg["doc_id"].map(pd.Series(docs["dup_group"].to_numpy(), index=docs["doc_id"].to_numpy())).to_numpy()


def _unique_per_theme(seg: pd.DataFrame, labels: np.ndarray, groups: np.ndarray | None, k: int) -> np.ndarray:
    """Distinct duplicate groups (texts) per theme: "1 text, 3,200 copies" stays visible beside size."""
    key = seg["doc_id"].to_numpy() if groups is None else groups
    frame = pd.DataFrame({"g": key, "t": labels})
    return frame[frame["t"] >= 0].groupby("t")["g"].nunique().reindex(range(k)).fillna(0).astype(np.int64).to_numpy()
