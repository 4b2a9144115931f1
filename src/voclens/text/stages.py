"""Pipeline stages of the text layer: segment (normalise, mask, split) and tokenize (terms).

The per-item work lives in module-level functions so that ``voclens.parallel`` can run it on
every core; the stages only gather the results into tables.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.parallel import gc_paused, map_chunks
from voclens.pipeline import RunContext
from voclens.text.boilerplate import segment_kind, strip_prefixes
from voclens.text.normalize import HASHTAG_RE, MENTION_RE, URL_RE, analysis_text, normalize
from voclens.text.pii import PiiSpan, _merge, find_pii, mask, names_possible
from voclens.text.segment import kaomoji_ends, mark_cuts, segment, sentence_spans
from voclens.text.tokenize import Token, content_terms, drop_handed, hand_over, noun_terms, take_tokens, tokenize


def segment_document(raw: str, *, mask_pii: bool, clauses: bool, min_clause_chars: int,
                     mask_mentions: bool = False, mask_urls: bool = False, hand_tokens: bool = False):
    """One document -> (masked text, PII kinds found, segment rows). @mentions and URLs are
    masked like personal data when asked (text.mentions / text.urls): shown text only, offsets kept.

    MeCab parses the document sentence by sentence (as far as characters alone cut it: 。!?,
    newlines, emoji), not as one string: a segment that is such a sentence then has, in the
    segment stage already, exactly the tokens the tokenize stage would compute for its text, and
    ``hand_tokens`` (the segment stage) hands them over (``tokenize.hand_over``): 85% of the
    segment texts of real feedback, so most text is parsed once instead of twice."""
    norm = normalize(raw)
    text = norm.text
    urls, mentions = [m.span() for m in URL_RE.finditer(text)], [m.span() for m in MENTION_RE.finditer(text)]
    links = urls + mentions
    cuts = mark_cuts(text)
    pieces = sentence_spans(text, cuts, links)
    parsed = [tokenize(text[a:b]) for a, b in pieces]
    # one token list for the whole text only where needed: names, or a boundary that moves
    kaomoji = {e + a for (a, _), toks in zip(pieces, parsed) for e in kaomoji_ends(toks)}
    toks = _joined(pieces, parsed) if mask_pii and names_possible(text) else None
    pii = find_pii(text, toks) if mask_pii else []
    shown_spans = pii  # the analysis text drops mentions and URLs itself; shown text masks them by setting
    if mask_mentions or mask_urls:
        shown_spans = _merge([*pii, *(PiiSpan(a, b, "mention") for a, b in mentions if mask_mentions),
                              *(PiiSpan(a, b, "url") for a, b in urls if mask_urls)])
    raw_pii = [PiiSpan(*norm.raw_span(s.start, s.end), s.kind) for s in shown_spans]  # same spans, original offsets
    protected = [(s.start, s.end) for s in pii] + links
    sentences, own = pieces, parsed
    if kaomoji or pii:  # the sentences split_sentences(text, all tokens, protected) gives
        sentences, own = sentence_spans(text, cuts | kaomoji, protected), None
        if sentences == pieces:
            own = parsed
        elif toks is None:
            toks = _joined(pieces, parsed)
    handed = dict(zip(pieces, parsed)) if hand_tokens else {}
    rows = []
    for span in segment(text, toks, clauses=clauses, min_clause_chars=min_clause_chars, protected=protected,
                        sentences=sentences, sentence_tokens=own):
        rs, re_ = norm.raw_span(span.start, span.end)
        norm_seg = text[span.start:span.end]
        if pii:
            norm_seg = mask(norm_seg, pii, offset=span.start)
        shown = mask(raw[rs:re_], raw_pii, offset=rs) if raw_pii else raw[rs:re_]
        analysed = strip_prefixes(analysis_text(norm_seg))
        rows.append((span.sent_idx, span.clause_idx, rs, re_, shown, analysed, segment_kind(analysed), HASHTAG_RE.findall(norm_seg)))
        mine = handed.get((span.start, span.end))
        if mine is not None and analysed == text[span.start:span.end]:  # the tokenize stage's very text
            hand_over(analysed, mine)
    return (mask(raw, raw_pii) if raw_pii else raw), [s.kind for s in shown_spans], rows


def _joined(pieces: list[tuple[int, int]], parsed: list[list[Token]]) -> list[Token]:
    """The pieces' tokens as one list with offsets into the whole text."""
    if len(pieces) == 1 and pieces[0][0] == 0:
        return parsed[0]
    new = tuple.__new__
    return [new(Token, (t[0], t[1] + a, t[2] + a, t[3], t[4], t[5], t[6], t[7], t[8]))
            for (a, _), toks in zip(pieces, parsed) for t in toks]


def segment_options(opts) -> dict:
    """``segment_document``'s keyword arguments from the ``[text]`` settings."""
    return {"mask_pii": opts.mask_pii, "clauses": opts.split_clauses, "min_clause_chars": opts.min_clause_chars,
            "mask_mentions": opts.mask_pii and getattr(opts, "mentions", "keep") == "mask",
            "mask_urls": getattr(opts, "urls", "keep") == "mask"}


def shown_document(raw: str, opts) -> str:
    """A document's text as the documents table shows it (masked as the settings ask)."""
    return segment_document(raw, **segment_options(opts))[0]


def _segment_chunk(texts, **opts):
    """``segment_document`` per text. A text seen earlier in the chunk (なし, 特になし, a repost)
    reuses that result, copied so that no two rows share a list."""
    out, seen = [], {}
    with gc_paused():
        for t in texts:
            if t in seen:
                out.append(_copied(out[seen[t]]))
            else:
                seen[t] = len(out)
                out.append(segment_document(t, hand_tokens=True, **opts))
    return out


def _distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """(the distinct texts in order of first appearance, each text's index among them)."""
    index: dict[str, int] = {}
    row = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    return list(index), row


def _copied(result):
    """A ``segment_document`` result for another row: its own lists, so no two rows share one."""
    masked, kinds, rows = result
    return masked, list(kinds), [(*r[:-1], list(r[-1])) for r in rows]


def _terms_chunk(texts, features: dict | None = None, hasher=None):
    """Terms and nouns per text; with ``features``/``hasher``, the same pass also computes each
    token featuriser and the hashed n-grams of the chunk (one tokenisation for everything)."""
    with gc_paused():
        return _terms(texts, features, hasher)


def _terms(texts, features: dict | None, hasher):
    features = features or {}
    out, dense = [], {name: [] for name in features}
    seen: dict[str, int] = {}  # a repeated segment (ありがとうございました。) reuses its first result
    for text in texts:
        k = seen.get(text)
        if k is not None:
            out.append((list(out[k][0]), list(out[k][1])))
            for name in features:
                dense[name].append(dense[name][k])
            continue
        seen[text] = len(out)
        toks = take_tokens(text)
        out.append((content_terms(toks), noun_terms(toks)))
        for name, fn in features.items():
            dense[name].append(fn(text, toks))
    if not features and hasher is None:
        return out
    arrays = {n: np.vstack(v).astype(np.float32) if v else None for n, v in dense.items()}
    return [(out, arrays, hasher.transform(texts) if hasher is not None else None)]


class Segmenter:
    """Documents -> segments with code-point offsets into the original text; PII masked."""

    name = "segment"
    chunkable = True
    requires = ("documents.text",)
    assigns = (
        "segments.seg_id", "segments.doc_id", "segments.start", "segments.end", "segments.text", "segments.norm",
        "segments.kind",
    )

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        opts = ctx.settings.text
        docs = corpus.documents
        originals = corpus.originals if len(corpus.originals) == len(docs) else docs.set_index("doc_id")["text"]
        doc_ids = docs["doc_id"].to_numpy()
        drop_handed()  # tokens handed over by an earlier call that no tokenize stage took
        work = partial(_segment_chunk, **segment_options(opts))
        # each distinct text once (reposts, template replies), then every document gets its result
        texts, row = _distinct(originals.reindex(doc_ids).tolist())
        done = map_chunks(work, texts, n_jobs=ctx.settings.run.n_jobs, progress=lambda d, t: ctx.report(self.name, d, t))
        given = np.zeros(len(texts), dtype=bool)
        results = []
        for k in row.tolist():
            results.append(_copied(done[k]) if given[k] else done[k])
            given[k] = True
        columns = ("sent_idx", "clause_idx", "start", "end", "text", "norm", "kind", "hashtags")
        rows: dict[str, list] = {k: [] for k in ("doc_id", *columns)}
        pii_counts: dict[str, int] = {}
        for doc_id, (_, kinds, seg_rows) in zip(doc_ids, results):
            for kind in kinds:
                pii_counts[kind] = pii_counts.get(kind, 0) + 1
            rows["doc_id"].extend([doc_id] * len(seg_rows))
            for name, values in zip(columns, zip(*seg_rows)) if seg_rows else ():
                rows[name].extend(values)
        seg = pd.DataFrame(rows)
        seg.insert(0, "seg_id", np.arange(len(seg), dtype=np.int64))
        for col in ("doc_id", "sent_idx", "clause_idx", "start", "end"):
            seg[col] = seg[col].astype(np.int64)
        counts = seg.groupby("doc_id").size().reindex(doc_ids).fillna(0).astype(int).to_numpy()
        corpus.segments = seg
        corpus.documents = docs.assign(text=[r[0] for r in results], n_segments=counts)
        corpus.meta["pii_masked"] = pii_counts
        return corpus


class Tokenizer:
    """Segments -> content terms for keywords and labels, and nouns for topic features.

    Token featurisers (``features``: name -> fn(text, tokens) -> vector) and a char n-gram
    hasher (``ngrams``: name, CharNgramHasher) given by the pipeline run in the same pass, so
    each segment is tokenised once; their arrays go to ``corpus.features``.
    """

    name = "tokenize"
    chunkable = True
    requires = ("segments.norm",)

    def __init__(self, features: dict | None = None, ngrams: tuple | None = None, prepare=None):
        self.features = dict(features or {})
        self.ngrams = ngrams
        self.prepare = prepare  # called once before forking (loads the featurisers' data files)
        self.assigns = ("segments.terms", "segments.nouns", *(f"features.{n}" for n in self.features),
                        *((f"features.{ngrams[0]}",) if ngrams else ()))

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        try:
            return self._call(corpus, ctx)
        finally:
            drop_handed()  # what the segment stage handed over and no text took

    def _call(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        if self.prepare is not None:
            self.prepare()
        # each distinct text once (a chunk of posts repeats a quarter of its segment texts:
        # ありがとうございました。, 特になし), then every row gets its text's results
        texts, row = _distinct(corpus.segments["norm"].tolist())
        if not self.features and self.ngrams is None:
            results = map_chunks(_terms_chunk, texts, n_jobs=ctx.settings.run.n_jobs,
                                 progress=lambda d, t: ctx.report(self.name, d, t))
        else:
            work = partial(_terms_chunk, features=self.features, hasher=self.ngrams[1] if self.ngrams else None)
            parts = map_chunks(work, texts, n_jobs=ctx.settings.run.n_jobs)
            results = [r for p in parts for r in p[0]]
            for name in self.features:
                corpus.features[name] = (np.vstack([p[1][name] for p in parts if p[1][name] is not None])[row]
                                         if texts else np.zeros((0, 0), np.float32))
            if self.ngrams is not None:
                import scipy.sparse as sp

                corpus.features[self.ngrams[0]] = sp.vstack([p[2] for p in parts]).tocsr().astype(np.float64)[row]
            ctx.report(self.name, len(row), len(row))
        given = np.zeros(len(texts), dtype=bool)
        terms, nouns = [], []
        for k in row.tolist():  # a repeated text's rows get their own lists: no two cells share one
            t, n = results[k]
            if given[k]:
                t, n = list(t), list(n)
            given[k] = True
            terms.append(t)
            nouns.append(n)
        corpus.segments["terms"] = terms
        corpus.segments["nouns"] = nouns
        return corpus
