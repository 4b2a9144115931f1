"""Throughput and peak memory: the whole pipeline against embedding alone, on the same texts.

    python scripts/bench.py [--data ../shared/data] [--n 20000] [--threads 2]

Texts: real Japanese texts from the evaluation data (chat turns, review sentences, SNS posts,
news and report sentences), unique, cut to --n; beyond the ~22k available, new unique texts are
made by joining two of them. They are read at run time and never stored.
Each measurement runs in its own process, so peak memory (max RSS) belongs to it alone, and both
are warm (libraries imported and models loaded before the clock starts; the pipeline's setup
time is printed apart):
- ``embed``: the default embedder on the raw texts, nothing else;
- ``pipeline``: ``voclens analyze`` on a CSV of the same texts, from reading the file to writing
  every output (tables, Parquet, report, manifest).
The ratio pipeline / embed throughput is the figure the issue targets (>= 60%).

    python scripts/bench.py --scale [--sizes 1000,10000,50000,100000,1000000] [--bertopic-max 100000]
                            [--dask-size 100000] [--write docs/benchmarks.md]

The scale suite (``scripts/bench_scale.py``): voclens and BERTopic with the same embedder on the
same texts in the same run; wall time, texts/s, peak memory and V-measure on the dev gold
categories, plus the Dask engine with 1 and 2 workers; a table printed and written to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))


def load_texts(data: Path, n: int) -> list[str]:
    import pandas as pd

    if not data.exists():
        sys.exit(f"{data} not found. Pass the folder of the evaluation data with --data.")
    parts: list[str] = []
    asdc = data / "asdc_dialog_act" / "utterances_train.tsv"
    if asdc.exists():
        parts += pd.read_csv(asdc, sep="\t")["utterance"].dropna().tolist()
    for rel, col in (("jrte_hotel_reviews/pn_dev.tsv", "text"), ("mewsc16_ja/dev.tsv", "text"), ("wrime_v1/dev.tsv", "Sentence")):
        if (data / rel).exists():
            parts += pd.read_csv(data / rel, sep="\t")[col].dropna().tolist()
    chabsa = data / "chabsa" / "sentences_train.jsonl"
    if chabsa.exists():
        parts += pd.read_json(chabsa, lines=True)["sentence"].tolist()
    ld = data / "livedoor_news" / "dev.jsonl"
    if ld.exists():
        for text in pd.read_json(ld, lines=True)["text"]:
            parts += [line.strip() for line in text.splitlines() if len(line.strip()) > 10]
    seen: dict[str, None] = {}
    for t in parts:
        t = str(t).replace("\\n", "\n").strip()
        if t and t not in seen:
            seen[t] = None
    texts = list(seen)[:n]
    if len(texts) < n:  # more than the data holds: join two real texts into a new unique one
        import random

        rng, base = random.Random(0), list(texts)
        while len(texts) < n:
            t = base[rng.randrange(len(base))] + "\n" + base[rng.randrange(len(base))]
            if t not in seen:
                seen[t] = None
                texts.append(t)
    return texts


def run_embed(csv: Path, threads: int) -> dict:
    import pandas as pd

    from voclens.config import Settings
    from voclens.embed import make_embedder

    texts = pd.read_csv(csv, dtype=str, keep_default_na=False)["text"].tolist()
    emb = make_embedder("use", threads)
    emb.encode(texts[:10])  # load weights outside the timing
    per_call = Settings.load().embed.batch_size  # texts per call, as the pipeline's embed stage
    t0 = time.perf_counter()
    for a in range(0, len(texts), per_call):
        emb.encode(texts[a:a + per_call])
    return {"seconds": time.perf_counter() - t0, "texts": len(texts)}


def run_pipeline(csv: Path, threads: int) -> dict:
    import pandas as pd

    import voclens

    # warm, like the embedding run: libraries imported and models loaded before the clock starts
    t_setup = time.perf_counter()
    warm = Path(tempfile.mkdtemp(prefix="voclens-warm-"))
    sample = pd.read_csv(csv, dtype=str, keep_default_na=False).head(200)
    sample.to_csv(warm / "warm.csv", index=False)
    voclens.analyze([str(warm / "warm.csv")], out=warm / "out", **{"embed.threads": threads})
    setup = time.perf_counter() - t_setup
    out = Path(tempfile.mkdtemp(prefix="voclens-bench-"))
    t0 = time.perf_counter()
    corpus = voclens.analyze([str(csv)], out=out, **{"embed.threads": threads})
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "texts": len(corpus.documents),
        "segments": len(corpus.segments),
        "themes": int(corpus.meta["themes"]["n_themes"]),
        "stage_seconds": corpus.meta["timings"],
        "setup_seconds": setup,
    }


def child(mode: str, csv: Path, threads: int) -> None:
    result = run_embed(csv, threads) if mode == "embed" else run_pipeline(csv, threads)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", choices=["embed", "pipeline"], help=argparse.SUPPRESS)
    ap.add_argument("--csv", help=argparse.SUPPRESS)
    ap.add_argument("--scale", action="store_true", help="the scale suite against BERTopic (bench_scale.py)")
    args, rest = ap.parse_known_args()
    if args.scale:
        import bench_scale

        bench_scale.main(["--data", args.data, *rest])
        return
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.child:
        child(args.child, Path(args.csv), args.threads)
        return

    import pandas as pd

    texts = load_texts(Path(args.data), args.n)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        pd.DataFrame({"text": texts}).to_csv(csv, index=False)
        results = {}
        for mode in ("embed", "pipeline"):
            cmd = [sys.executable, __file__, "--child", mode, "--csv", str(csv), "--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode != 0:
                sys.exit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
            results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    e, p = results["embed"], results["pipeline"]
    e_tps, p_tps = e["texts"] / e["seconds"], p["texts"] / p["seconds"]
    print(f"texts: {len(texts)} unique real Japanese texts; {args.threads} threads; machine cores: {os.cpu_count()}")
    print(f"{'run':10s} {'seconds':>8s} {'texts/s':>8s} {'peak MiB':>9s}")
    print(f"{'embed':10s} {e['seconds']:8.1f} {e_tps:8.0f} {e['peak_rss_mib']:9.0f}")
    print(f"{'pipeline':10s} {p['seconds']:8.1f} {p_tps:8.0f} {p['peak_rss_mib']:9.0f}   "
          f"({p['segments']} segments, {p['themes']} themes, all outputs written)")
    print(f"pipeline / embedding-only throughput: {p_tps / e_tps:.0%} (target >= 60%); both warm: one-time setup "
          f"(imports, models, lexicons; here with a 200-text warm-up run) took {p['setup_seconds']:.1f}s and is not counted")
    print("pipeline stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in p["stage_seconds"].items()))


if __name__ == "__main__":
    main()
