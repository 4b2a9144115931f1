"""First-pass coding of interview transcripts: deductive (rules, similarity) and inductive (themes).

Coding units are the sentences of each turn (respondent turns only unless asked), with offsets
into the transcript text, so every coding points at exact characters a researcher can check.
- rules: each code's KH Coder condition (``Code.rule`` or a rule file) on the unit's tokens;
- similarity: the unit's embedding against the code's prototype (the mean embedding of its
  description and examples), coded when the cosine reaches ``threshold`` (default 0.45: set on
  the ASDC dialog acts by scripts/evaluate_interviews.py);
- themes: the core pipeline's themes over the units, offered as *suggested* new codes.
Every coding records its coder: ``voclens:rule``, ``voclens:similarity``, ``voclens:theme``.
Personal data is masked before anything else, keeping every length (山田 -> ■■), so offsets are
the same in the masked text, the original file and any exported project.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from voclens.interviews.model import Codebook, Coding, Transcript
from voclens.text.normalize import normalize
from voclens.text.pii import raw_pii_spans
from voclens.text.segment import segment
from voclens.text.tokenize import tokenize

SIMILARITY_THRESHOLD = 0.45
MASK_CHAR = "■"


def mask_in_place(text: str) -> str:
    """Personal data replaced character for character, so every offset stays valid."""
    spans = raw_pii_spans(text)
    if not spans:
        return text
    chars = list(text)
    for s in spans:
        for i in range(s.start, s.end):
            if not chars[i].isspace():
                chars[i] = MASK_CHAR
    return "".join(chars)


def coding_units(transcripts: list[Transcript], *, include_interviewer: bool = False, clauses: bool = False) -> pd.DataFrame:
    """One row per sentence (or clause) of each turn: source, turn, speaker, role, case, start, end, text."""
    rows = []
    for tr in transcripts:
        for turn in tr.turns:
            if turn.role == "interviewer" and not include_interviewer:
                continue
            raw = tr.text[turn.start:turn.end]
            norm = normalize(raw)
            for span in segment(norm.text, tokenize(norm.text), clauses=clauses):
                a, b = norm.raw_span(span.start, span.end)
                rows.append({
                    "source": tr.name, "turn": turn.index, "speaker": turn.speaker, "role": turn.role, "case": tr.case,
                    "start": turn.start + a, "end": turn.start + b, "text": raw[a:b], "norm": norm.text[span.start:span.end],
                    "time": turn.time_start,
                })
    cols = ["source", "turn", "speaker", "role", "case", "start", "end", "text", "norm", "time"]
    return pd.DataFrame(rows, columns=cols)


@dataclass
class CodingResult:
    units: pd.DataFrame
    codings: list[Coding]
    suggestions: pd.DataFrame = field(default_factory=pd.DataFrame)  # inductive: proposed new codes


def _rule_text(codebook: Codebook) -> str:
    return "\n".join(f"＊{c.name}\n{c.rule.strip()}\n" for c in codebook.codes if c.rule and c.rule.strip())


def code_transcripts(
    transcripts: list[Transcript],
    codebook: Codebook,
    *,
    rules: str | None = None,
    use_rules: bool = True,
    use_similarity: bool = True,
    threshold: float = SIMILARITY_THRESHOLD,
    inductive: bool = False,
    include_interviewer: bool = False,
    embedder=None,
) -> CodingResult:
    """Code every unit; several codes per unit are allowed."""
    from voclens.interviews.rules import code_segments, parse_rules

    units = coding_units(transcripts, include_interviewer=include_interviewer)
    codings: list[Coding] = []
    if units.empty:
        return CodingResult(units, codings)
    by_name = codebook.by_name()
    if use_rules:
        rule_text = rules if rules is not None else _rule_text(codebook)
        parsed = parse_rules(rule_text) if rule_text.strip() else []
        if parsed:
            for u, names in zip(units.itertuples(), code_segments(parsed, units["norm"].tolist())):
                for name in names:
                    code = by_name.get(name)
                    codings.append(Coding(u.source, u.start, u.end, code.id if code else name, "voclens:rule"))
    emb = None
    if use_similarity or inductive:
        from voclens.embed import make_embedder

        embedder = embedder or make_embedder("use")
        emb = embedder.encode(units["norm"].tolist())
    if use_similarity:
        protos = code_prototypes(codebook, embedder)
        if len(protos):
            sims = emb @ protos.T
            for i, u in enumerate(units.itertuples()):
                for j in np.flatnonzero(sims[i] >= threshold):
                    codings.append(Coding(u.source, u.start, u.end, codebook.codes[j].id, "voclens:similarity", round(float(sims[i, j]), 4)))
    suggestions = suggest_codes(units, emb, codings) if inductive else pd.DataFrame()
    return CodingResult(units, codings, suggestions)


def code_prototypes(codebook: Codebook, embedder) -> np.ndarray:
    """Per code: the unit mean embedding of its name, description and examples."""
    from voclens.embed.base import unit_rows

    out = []
    for c in codebook.codes:
        texts = [t for t in [c.description, *c.examples] if t] or [c.name]
        v = embedder.encode([normalize(t).text for t in texts]).mean(axis=0)
        out.append(v)
    return unit_rows(np.vstack(out).astype(np.float32)) if out else np.zeros((0, 0), np.float32)


def suggest_codes(units: pd.DataFrame, emb: np.ndarray, codings: list[Coding]) -> pd.DataFrame:
    """Themes of the units (core pipeline), as candidate new codes; each theme's units are
    recorded as codings by ``voclens:theme`` under the code id ``theme:<n>``."""
    import voclens
    from voclens.corpus import Corpus

    if len(units) < 10:
        return pd.DataFrame(columns=["code", "name", "keywords", "size", "examples", "already_coded_share"])
    corpus = voclens.analyze(Corpus.from_texts(units["text"].tolist(), channel="interview"))
    doc_theme = corpus.documents["theme_id"].to_numpy()
    coded = {(c.source, c.start) for c in codings}
    rows = []
    for t in corpus.themes.itertuples():
        members = np.flatnonzero(doc_theme == t.theme_id)
        if not len(members):
            continue
        covered = np.mean([(units["source"].iat[i], units["start"].iat[i]) in coded for i in members])
        rows.append({"code": f"theme:{t.theme_id}", "name": t.label, "keywords": "、".join(list(t.keywords)[:8]),
                     "size": int(len(members)), "examples": list(t.quote_texts)[:3], "already_coded_share": round(float(covered), 3)})
        for i in members:
            codings.append(Coding(units["source"].iat[i], int(units["start"].iat[i]), int(units["end"].iat[i]), f"theme:{t.theme_id}",
                                  "voclens:theme"))
    return pd.DataFrame(rows)
