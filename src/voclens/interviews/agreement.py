"""Inter-coder agreement: percentage agreement, Cohen's kappa and Krippendorff's alpha.

Codings are compared on the coding units (sentences): a coder has applied a code to a unit when
one of their codings of that code covers at least half of the unit (so a human who highlights a
whole paragraph and voclens coding its sentences agree). Per code the units form a present /
absent decision for each coder:
- percentage agreement: share of units where both decide the same;
- Cohen's kappa: (p_o - p_e) / (1 - p_e), p_e from each coder's own rate (Cohen 1960);
- Krippendorff's alpha (nominal): 1 - D_o / D_e from the coincidence matrix (Krippendorff 2011),
  which also handles more than two coders.
"Overall" pools every unit x code decision.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from voclens.errors import InputError
from voclens.interviews.model import Codebook, Coding, Transcript

MIN_COVER = 0.5


def unit_matrix(units: pd.DataFrame, codings: list[Coding], code_ids: list[str], coders: set[str] | None = None) -> np.ndarray:
    """(n_units, n_codes) 0/1: the code covers at least half of the unit (optionally only some coders)."""
    out = np.zeros((len(units), len(code_ids)), dtype=np.int8)
    col = {c: j for j, c in enumerate(code_ids)}
    by_source: dict[str, list[int]] = {}
    for i, s in enumerate(units["source"]):
        by_source.setdefault(s, []).append(i)
    starts, ends = units["start"].to_numpy(), units["end"].to_numpy()
    for c in codings:
        if c.code not in col or (coders is not None and c.coder not in coders):
            continue
        for i in by_source.get(c.source, ()):
            length = max(ends[i] - starts[i], 1)
            overlap = min(ends[i], c.end) - max(starts[i], c.start)
            if overlap >= MIN_COVER * length:
                out[i, col[c.code]] = 1
    return out


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if not len(a):
        return float("nan")
    po = float(np.mean(a == b))
    labels = np.union1d(a, b)
    pe = float(sum(np.mean(a == v) * np.mean(b == v) for v in labels))
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def krippendorff_alpha(data: np.ndarray) -> float:
    """Nominal alpha; ``data`` is (n_coders, n_units) with np.nan for a missing value."""
    data = np.asarray(data, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    if len(values) < 2:
        return 1.0 if len(values) == 1 else float("nan")
    index = {v: k for k, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for u in range(data.shape[1]):
        vals = data[:, u][~np.isnan(data[:, u])]
        m = len(vals)
        if m < 2:
            continue
        for i in range(m):
            for j in range(m):
                if i != j:
                    o[index[vals[i]], index[vals[j]]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    d_o = (n - np.trace(o)) / n
    d_e = (n * n - (n_c ** 2).sum()) / (n * (n - 1))
    return 1.0 if d_e == 0 else float(1 - d_o / d_e)


def agreement_table(a: np.ndarray, b: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per code and overall: units, each coder's count, % agreement, kappa, alpha."""
    rows = []
    for j, name in enumerate(names):
        rows.append(_row(name, a[:, j], b[:, j]))
    rows.append(_row("(overall)", a.ravel(), b.ravel()))
    return pd.DataFrame(rows)


def _row(name: str, x: np.ndarray, y: np.ndarray) -> dict:
    return {
        "code": name, "units": int(len(x)), "coder_a": int(x.sum()), "coder_b": int(y.sum()), "both": int((x & y).sum()),
        "percent_agreement": round(float(np.mean(x == y)), 4) if len(x) else float("nan"),
        "cohen_kappa": round(cohen_kappa(x, y), 4), "krippendorff_alpha": round(krippendorff_alpha(np.vstack([x, y])), 4),
    }


def read_codings_csv(path: str | Path, transcripts: list[Transcript], codebook: Codebook, coder: str | None = None) -> list[Coding]:
    """Human codings from CSV: columns source (file name), code (name or id), and either
    start/end (code points) or quote (the coded text, found in the transcript); coder optional."""
    by_name, by_id = codebook.by_name(), codebook.by_id()
    texts = {t.name: t.text for t in transcripts}
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), 2):
            source, code = (r.get("source") or r.get("document") or "").strip(), (r.get("code") or "").strip()
            if source not in texts:
                raise InputError(f"{path}, line {n}: source {source!r} is not among the transcripts ({', '.join(texts)}).")
            cid = by_id[code].id if code in by_id else by_name[code].id if code in by_name else None
            if cid is None:
                raise InputError(f"{path}, line {n}: code {code!r} is not in the codebook. Use a code name or id from it.")
            if r.get("start") not in (None, "") and r.get("end") not in (None, ""):
                start, end = int(r["start"]), int(r["end"])
            else:
                quote = (r.get("quote") or "").strip()
                start = texts[source].find(quote) if quote else -1
                if start < 0:
                    raise InputError(f"{path}, line {n}: give start/end or a quote found in {source}.")
                end = start + len(quote)
            out.append(Coding(source, start, end, cid, (r.get("coder") or coder or Path(path).stem).strip()))
    return out
