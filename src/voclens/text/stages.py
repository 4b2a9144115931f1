"""Pipeline stages of the text layer: segment (normalise, mask, split) and tokenize (terms)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voclens.corpus import Corpus
from voclens.pipeline import RunContext
from voclens.text.normalize import HASHTAG_RE, MENTION_RE, URL_RE, analysis_text, normalize
from voclens.text.pii import PiiSpan, find_pii, mask
from voclens.text.segment import segment
from voclens.text.tokenize import content_terms, noun_terms, tokenize


class Segmenter:
    """Documents -> segments with code-point offsets into the original text; PII masked."""

    name = "segment"
    requires = ("documents.text",)
    assigns = ("segments.seg_id", "segments.doc_id", "segments.start", "segments.end", "segments.text", "segments.norm")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        opts = ctx.settings.text
        docs = corpus.documents
        originals = corpus.originals if len(corpus.originals) == len(docs) else docs.set_index("doc_id")["text"]
        rows: dict[str, list] = {k: [] for k in ("doc_id", "sent_idx", "clause_idx", "start", "end", "text", "norm", "hashtags")}
        masked_docs: list[str] = []
        pii_counts: dict[str, int] = {}
        total = len(docs)
        for k, doc_id in enumerate(docs["doc_id"].to_numpy()):
            raw = originals[doc_id]
            norm = normalize(raw)
            toks = tokenize(norm.text)
            pii = find_pii(norm.text, toks) if opts.mask_pii else []
            for s in pii:
                pii_counts[s.kind] = pii_counts.get(s.kind, 0) + 1
            raw_pii = [PiiSpan(*norm.raw_span(s.start, s.end), s.kind) for s in pii]  # same spans, original offsets
            protected = [(s.start, s.end) for s in pii] + [m.span() for m in URL_RE.finditer(norm.text)] + [
                m.span() for m in MENTION_RE.finditer(norm.text)
            ]
            masked_docs.append(mask(raw, raw_pii) if raw_pii else raw)
            for span in segment(norm.text, toks, clauses=opts.split_clauses, min_clause_chars=opts.min_clause_chars, protected=protected):
                rs, re_ = norm.raw_span(span.start, span.end)
                norm_seg = norm.text[span.start:span.end]
                if pii:
                    norm_seg = mask(norm_seg, pii, offset=span.start)
                rows["doc_id"].append(doc_id)
                rows["sent_idx"].append(span.sent_idx)
                rows["clause_idx"].append(span.clause_idx)
                rows["start"].append(rs)
                rows["end"].append(re_)
                rows["text"].append(mask(raw[rs:re_], raw_pii, offset=rs) if raw_pii else raw[rs:re_])
                rows["hashtags"].append(HASHTAG_RE.findall(norm_seg))
                rows["norm"].append(analysis_text(norm_seg))
            if k % 2000 == 0 or k == total - 1:
                ctx.report(self.name, k + 1, total)
        seg = pd.DataFrame(rows)
        seg.insert(0, "seg_id", np.arange(len(seg), dtype=np.int64))
        for col in ("doc_id", "sent_idx", "clause_idx", "start", "end"):
            seg[col] = seg[col].astype(np.int64)
        corpus.segments = seg
        corpus.documents = docs.assign(text=masked_docs, n_segments=seg.groupby("doc_id").size().reindex(docs["doc_id"]).fillna(0).astype(int).to_numpy())
        corpus.meta["pii_masked"] = pii_counts
        return corpus


class Tokenizer:
    """Segments -> content terms for keywords and labels, and nouns for topic features."""

    name = "tokenize"
    requires = ("segments.norm",)
    assigns = ("segments.terms", "segments.nouns")

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        norms = corpus.segments["norm"].tolist()
        terms, nouns = [], []
        for k, text in enumerate(norms):
            toks = tokenize(text)
            terms.append(content_terms(toks))
            nouns.append(noun_terms(toks))
            if k % 5000 == 0:
                ctx.report(self.name, k + 1, len(norms))
        ctx.report(self.name, len(norms), len(norms))
        corpus.segments["terms"] = terms
        corpus.segments["nouns"] = nouns
        return corpus
