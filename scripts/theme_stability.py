"""How stable are the themes of a large run? Seeds, sample sizes, and the number of themes.

    python scripts/theme_stability.py [--size 50000] [--seeds 0,1,2,3,4] [--samples 5000,10000,20000,40000,0]

The themes stage fits its features on a sample of documents and its k-means on a sample of
segments (both at most ``themes.sample_size``, 20,000) and chooses the number of themes on 4,000
of the sampled documents; every segment is assigned afterwards. This script analyses the benchmark corpus of ``--size`` texts once (the same texts as
``scripts/bench.py --scale``: the gold dev sets plus other real texts) and runs the themes stage
again on its segments and embeddings:
- with each seed at the default sample size: what a different random sample changes;
- with each sample size (0: every segment) at each seed: what a larger sample buys.
Printed per setting: themes found, V-measure of the gold sets' documents on their categories
(as in the benchmark), and the agreement of the segments' themes (adjusted Rand index, content
segments, unassigned as one more label) between seeds and with the every-segment fit.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--size", type=int, default=50000)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--samples", default="5000,10000,20000,40000,0", help="themes.sample_size values (0: every segment)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="another themes setting for every run, e.g. --set themes.max_themes=60")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    import voclens
    from bench_scale import build_corpus, filler_texts, gold_sets, v_scores
    from voclens.config import Settings
    from voclens.pipeline import RunContext
    from voclens.themes import ThemeStage

    data = Path(args.data)
    if not data.exists():
        sys.exit(f"{data} not found. Pass the folder of the evaluation data with --data.")
    gold = gold_sets(data)
    texts, where = build_corpus(data, args.size, gold, filler_texts(data))
    tmp = Path(tempfile.mkdtemp(prefix="voclens-stability-"))
    pd.DataFrame({"text": texts}).to_csv(tmp / "texts.csv", index=False)
    t0 = time.perf_counter()
    corpus = voclens.analyze([str(tmp / "texts.csv")], out=tmp / "out", **{"engine.work_dir": str(tmp / "work")})
    print(f"{args.size:,} texts analysed in {time.perf_counter() - t0:.0f} s: {len(corpus.segments):,} segments, "
          f"{corpus.meta['themes']['n_themes']} themes")
    extra = {k: _value(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    row_of = corpus.documents["row"].to_numpy(dtype=np.int64) - 1
    seeds = [int(s) for s in args.seeds.split(",") if s]
    samples = [int(s) for s in args.samples.split(",") if s]
    n_seg = len(corpus.segments)

    def run(seed: int, sample: int) -> dict:
        overrides = {**extra, "themes.seed": seed, "themes.sample_size": sample or n_seg}
        s = Settings.load(overrides=overrides)
        t = time.perf_counter()
        ThemeStage()(corpus, RunContext(settings=s))
        seconds = time.perf_counter() - t
        pred = np.full(int(row_of.max()) + 1, -1, dtype=np.int64)
        pred[row_of] = corpus.documents["theme_id"].to_numpy()
        content = (corpus.segments["kind"] == "content").to_numpy()
        return {"themes": int(corpus.meta["themes"]["n_themes"]), "v": v_scores(pred, where), "seconds": seconds,
                "labels": corpus.segments["theme_id"].to_numpy()[content].copy()}

    results = {(seed, sample): run(seed, sample) for sample in samples for seed in seeds}
    names = list(where)
    print()
    print("| sample (segments) | seed | themes | " + " | ".join(f"V {n}" for n in names)
          + " | ARI with the every-segment fit (same seed) | seconds |")
    print("|---|---|---|" + "---|" * len(names) + "---|---|")
    for (seed, sample), r in results.items():
        full = results.get((seed, 0))
        ari = adjusted_rand_score(full["labels"], r["labels"]) if full is not None and sample else float("nan")
        print(f"| {sample or 'all'} | {seed} | {r['themes']} | " + " | ".join(f"{r['v'].get(n, float('nan')):.3f}" for n in names)
              + f" | {ari:.3f} | {r['seconds']:.1f} |")
    print()
    print("| sample (segments) | themes over seeds | ARI between seeds (min / mean) | "
          + " | ".join(f"V {n} (mean)" for n in names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for sample in samples:
        rs = [results[(seed, sample)] for seed in seeds]
        aris = [adjusted_rand_score(a["labels"], b["labels"]) for a, b in itertools.combinations(rs, 2)]
        print(f"| {sample or 'all'} | {', '.join(str(r['themes']) for r in rs)} | "
              + (f"{min(aris):.3f} / {np.mean(aris):.3f}" if aris else "-") + " | "
              + " | ".join(f"{np.mean([r['v'].get(n, np.nan) for r in rs]):.3f}" for n in names) + " |")


def _value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


if __name__ == "__main__":
    main()
