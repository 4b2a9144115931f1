"""Stable theme ids: does the same gold topic keep the same theme id run after run?

    python scripts/evaluate_store.py [--data ../shared/data] [--periods 8] [--thresholds 0.4,0.5,0.6]

livedoor dev (title + first 120 characters; articles carry dates) is sorted by date and split into
consecutive periods of equal size, run one after another into a fresh history store, as a CX
team's weekly runs would be. For each gold category and period, its *id* is the theme id that
holds most of its articles in that period. Reported:
- stability: share of consecutive period pairs in which a category keeps its id;
- purity: share of articles whose theme id's most common category is their own (one id for
  everything would be perfectly stable and useless: purity keeps it honest);
- ids used: distinct theme ids over all periods (9 categories).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import voclens  # noqa: E402
import voclens.store.identity as identity  # noqa: E402
from voclens.corpus import Corpus  # noqa: E402


def run(texts: list[str], dates: list[str], gold: np.ndarray, periods: int, threshold: float) -> dict:
    identity.MATCH_THRESHOLD = threshold
    order = np.argsort(pd.to_datetime(dates, utc=True).to_numpy(), kind="stable")
    chunks = np.array_split(order, periods)
    ids = np.empty(len(texts), dtype=object)
    with tempfile.TemporaryDirectory() as tmp:
        for p, chunk in enumerate(chunks):
            corpus = Corpus.from_texts([texts[i] for i in chunk])
            out = voclens.analyze(corpus, store=Path(tmp) / "s.duckdb", period=f"P{p:02d}")
            ids[chunk] = out.documents["theme_uid"].to_numpy()
    frame = pd.DataFrame({"period": np.repeat(np.arange(periods), [len(c) for c in chunks]), "gold": gold[np.concatenate(chunks)],
                          "uid": ids[np.concatenate(chunks)]}).dropna()
    dominant = frame.groupby(["gold", "period"])["uid"].agg(lambda s: s.value_counts().index[0]).unstack()
    kept = [(dominant[p] == dominant[p + 1]).mean() for p in range(periods - 1)]
    major = frame.groupby("uid")["gold"].agg(lambda s: s.value_counts().index[0])
    purity = float((frame["gold"] == frame["uid"].map(major)).mean())
    return {"threshold": threshold, "stability": float(np.mean(kept)), "purity": purity, "ids": int(frame["uid"].nunique())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--periods", type=int, default=8)
    ap.add_argument("--thresholds", default=str(identity.MATCH_THRESHOLD))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    path = Path(args.data) / "livedoor_news" / "dev.jsonl"
    if not path.is_file():
        sys.exit(f"{path} not found. Pass the folder of the evaluation data with --data.")
    ld = pd.read_json(path, lines=True)
    texts = (ld["title"] + "\n" + ld["text"].str.strip().str[:120]).tolist()
    print(f"livedoor dev: {len(texts)} articles, {ld['label'].nunique()} categories, {args.periods} consecutive periods by date")
    print(f"{'threshold':>9s} {'stability':>9s} {'purity':>7s} {'ids':>4s}")
    for t in (float(x) for x in args.thresholds.split(",")):
        r = run(texts, ld["date"].tolist(), ld["label"].to_numpy(), args.periods, t)
        print(f"{r['threshold']:9.2f} {r['stability']:9.1%} {r['purity']:7.1%} {r['ids']:4d}")


if __name__ == "__main__":
    main()
