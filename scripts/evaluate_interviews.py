"""Deductive coding against real labels: ASDC booking chats and their dialog acts.

    python scripts/evaluate_interviews.py [--data ../shared/data] [--thresholds 0.35,0.45,0.55]

Each ASDC dialog becomes a transcript (operator turns = interviewer, customer turns =
respondent); the team's codebook corpora/codebooks/dialog-acts.yaml (descriptions, examples and
KH Coder rules written by us) codes the customer turns. A customer turn counts as coded with a
code when any of its sentences is. Per code, voclens and the corpus's own label are compared as
two coders: percentage agreement, Cohen's kappa, Krippendorff's alpha — for rules only,
similarity only, and both.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from voclens.interviews.agreement import agreement_table  # noqa: E402
from voclens.interviews.codebook import load_codebook  # noqa: E402
from voclens.interviews.coding import code_transcripts  # noqa: E402
from voclens.interviews.model import Transcript, Turn  # noqa: E402


def transcripts_from_asdc(frame: pd.DataFrame) -> tuple[list[Transcript], pd.DataFrame]:
    """One transcript per dialog; returns the customer turns with their gold act and offsets."""
    out, gold = [], []
    for dialog, g in frame.sort_values(["src_file_id", "nth"]).groupby("src_file_id"):
        text, turns = "", []
        for k, r in enumerate(g.itertuples()):
            start = len(text)
            text += str(r.utterance)
            role = "respondent" if r.speaker == "user" else "interviewer"
            turns.append(Turn(k, "customer" if role == "respondent" else "operator", role, start, len(text)))
            if role == "respondent" and isinstance(r.speech_act, str):
                gold.append({"source": f"dialog-{dialog}", "start": start, "end": len(text), "act": r.speech_act})
            text += "\n"
        out.append(Transcript(f"dialog-{dialog}", text, turns, case=f"dialog-{dialog}", format="asdc"))
    return out, pd.DataFrame(gold)


def turn_matrix(gold: pd.DataFrame, codings, code_ids: list[str], coders: set[str]) -> np.ndarray:
    """A customer turn carries a code when any coding of those coders starts inside it."""
    spans = {}
    for i, r in enumerate(gold.itertuples()):
        spans.setdefault(r.source, []).append((r.start, r.end, i))
    out = np.zeros((len(gold), len(code_ids)), dtype=np.int8)
    col = {c: j for j, c in enumerate(code_ids)}
    for c in codings:
        if c.coder not in coders or c.code not in col:
            continue
        for a, b, i in spans.get(c.source, ()):
            if a <= c.start < b:
                out[i, col[c.code]] = 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--thresholds", default="0.45")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    path = Path(args.data) / "asdc_dialog_act" / "utterances_train.tsv"
    if not path.is_file():
        sys.exit(f"{path} not found. Pass the folder of the evaluation data with --data.")
    transcripts, gold = transcripts_from_asdc(pd.read_csv(path, sep="\t"))
    book = load_codebook(ROOT / "corpora" / "codebooks" / "dialog-acts.yaml")
    ids, names = [c.id for c in book.codes], [c.name for c in book.codes]
    truth = np.vstack([(gold["act"] == n).to_numpy() for n in names]).T.astype(np.int8)
    print(f"ASDC: {len(transcripts)} dialogs, {len(gold)} customer turns with a dialog act; codebook {book.name} ({len(ids)} codes)")
    for t in (float(x) for x in args.thresholds.split(",")):
        result = code_transcripts(transcripts, book, threshold=t)
        for label, coders in (("rules", {"voclens:rule"}), ("similarity", {"voclens:similarity"}),
                              ("rules + similarity", {"voclens:rule", "voclens:similarity"})):
            table = agreement_table(turn_matrix(gold, result.codings, ids, coders), truth, names)
            overall = table.iloc[-1]
            print(f"\n== threshold {t:.2f}, {label}: overall agreement {overall.percent_agreement:.1%}, "
                  f"kappa {overall.cohen_kappa:.3f}, alpha {overall.krippendorff_alpha:.3f}")
            print(table.rename(columns={"coder_a": "voclens", "coder_b": "gold"}).to_string(index=False))


if __name__ == "__main__":
    main()
