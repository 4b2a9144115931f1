"""Exploring coded interviews the way KH Coder users do: KWIC, co-occurrence, code x case.

- KWIC: every occurrence of a word (matched on UniDic lemma, so 使う finds 使った) or of a code,
  with its left and right context.
- Co-occurrence: how many units carry both codes, and the Jaccard coefficient KH Coder draws
  its co-occurrence networks with; a network picture as inline SVG (circle layout, edge width by
  Jaccard).
- Code x case / speaker: units per code for each respondent (CSV, as KH Coder's cross tables).
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from voclens.interviews.model import Coding, Transcript
from voclens.text.tokenize import tokenize


def kwic(transcripts: list[Transcript], word: str, width: int = 20, include_interviewer: bool = False) -> pd.DataFrame:
    """Keyword in context for a word: by lemma (inflections included), or as a plain substring."""
    target = {t.lemma for t in tokenize(word)} if len(tokenize(word)) == 1 else set()
    rows = []
    for tr in transcripts:
        for turn in tr.turns:
            if turn.role == "interviewer" and not include_interviewer:
                continue
            text = tr.text[turn.start:turn.end]
            hits = [(t.start, t.end) for t in tokenize(text) if t.lemma in target or t.surface == word] if target else []
            if not hits:
                pos = text.find(word)
                while pos >= 0:
                    hits.append((pos, pos + len(word)))
                    pos = text.find(word, pos + 1)
            for a, b in hits:
                s, e = turn.start + a, turn.start + b
                rows.append({"source": tr.name, "case": tr.case, "speaker": turn.speaker, "start": s, "end": e,
                             "left": tr.text[max(turn.start, s - width):s], "keyword": tr.text[s:e],
                             "right": tr.text[e:min(turn.end, e + width)]})
    return pd.DataFrame(rows, columns=["source", "case", "speaker", "start", "end", "left", "keyword", "right"])


def kwic_code(transcripts: list[Transcript], codings: list[Coding], code: str, width: int = 20) -> pd.DataFrame:
    texts = {t.name: t for t in transcripts}
    rows = []
    for c in codings:
        if c.code != code or c.source not in texts:
            continue
        t = texts[c.source]
        rows.append({"source": c.source, "case": t.case, "coder": c.coder, "start": c.start, "end": c.end,
                     "left": t.text[max(0, c.start - width):c.start], "coded": t.text[c.start:c.end],
                     "right": t.text[c.end:c.end + width]})
    return pd.DataFrame(rows, columns=["source", "case", "coder", "start", "end", "left", "coded", "right"])


def cooccurrence(matrix: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Long table of code pairs: units with both, and Jaccard (both / either)."""
    m = np.asarray(matrix, dtype=np.int64)
    both = m.T @ m
    counts = np.diag(both)
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            either = counts[i] + counts[j] - both[i, j]
            if both[i, j]:
                rows.append({"code_a": names[i], "code_b": names[j], "both": int(both[i, j]),
                             "jaccard": round(float(both[i, j] / either), 4) if either else 0.0})
    return pd.DataFrame(rows, columns=["code_a", "code_b", "both", "jaccard"]).sort_values("jaccard", ascending=False)


def cross_table(units: pd.DataFrame, matrix: np.ndarray, names: list[str], by: str = "case") -> pd.DataFrame:
    """Units per code (columns) for each case or speaker (rows)."""
    frame = pd.DataFrame(matrix, columns=names)
    frame[by] = units[by].to_numpy()
    return frame.groupby(by)[names].sum()


def network_svg(cooc: pd.DataFrame, counts: dict[str, int], colors: dict[str, str] | None = None, size: int = 480,
                min_jaccard: float = 0.05) -> str:
    """Co-occurrence network: codes on a circle, node area by units, edge width by Jaccard."""
    names = [n for n, c in counts.items() if c > 0]
    colors = colors or {}
    if not names:
        return ""
    cx = cy = size / 2
    r = size / 2 - 70
    pos = {n: (cx + r * math.cos(2 * math.pi * k / len(names) - math.pi / 2),
               cy + r * math.sin(2 * math.pi * k / len(names) - math.pi / 2)) for k, n in enumerate(names)}
    top = max(counts.values()) or 1
    parts = [f'<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img">',
             "<title>コード共起ネットワーク Code co-occurrence network</title>",
             "<desc>ノードの大きさは出現単位数、線の太さは Jaccard 係数</desc>"]
    for e in cooc.itertuples():
        if e.jaccard < min_jaccard or e.code_a not in pos or e.code_b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.code_a], pos[e.code_b]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#7a8794" '
                     f'stroke-opacity="0.7" stroke-width="{1 + 10 * e.jaccard:.1f}"><title>{html.escape(e.code_a)} – '
                     f'{html.escape(e.code_b)}: {e.both} (J={e.jaccard:.2f})</title></line>')
    for n, (x, y) in pos.items():
        rad = 8 + 22 * math.sqrt(counts[n] / top)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{rad:.1f}" fill="{html.escape(colors.get(n) or "#56B4E9")}" '
                     f'fill-opacity="0.85"><title>{html.escape(n)}: {counts[n]}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y + rad + 14:.1f}" text-anchor="middle" font-size="12">{html.escape(n)}</text>')
    parts.append("</svg>")
    return "".join(parts)
