"""Weekly runs against a store that holds a year: time and memory against the first run.

    python scripts/bench_store.py [--data ../shared/data] [--week-size 50000] [--year-weeks 52] [--year-week-size 1000]

1. A store is filled with a year of weekly runs (``--year-weeks`` runs of ``--year-week-size`` real
   texts each, dated week by week).
2. ``first``: a week of ``--week-size`` texts into an empty store.
3. ``weekly``: the same number of new texts as the next week, into the year-old store.
Each measured run is its own process (peak RSS is its own). The weekly run reads only the
registry, the stored edits, the reference embedding and the weekly aggregates (a few rows per
theme and week); it never reads earlier documents or segments. The script prints the rows each
run read from the store, measured by wrapping the store's read methods.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import load_texts  # noqa: E402


def write_week(texts: list[str], monday: pd.Timestamp, path: Path) -> None:
    dates = [monday + pd.Timedelta(minutes=int(i * 10080 / max(len(texts), 1))) for i in range(len(texts))]
    pd.DataFrame({"text": texts, "date": dates}).to_csv(path, index=False)


def child(csv: str, store: str) -> None:
    import voclens
    from voclens.store import Store

    reads: dict[str, int] = {}
    for name in ("registry", "edits", "weekly", "periods"):
        original = getattr(Store, name)

        def wrapped(self, *a, _name=name, _orig=original, **k):
            out = _orig(self, *a, **k)
            reads[_name] = reads.get(_name, 0) + len(out)
            return out

        setattr(Store, name, wrapped)
    t0 = time.perf_counter()
    c = voclens.analyze([csv], store=store)
    print(json.dumps({
        "seconds": time.perf_counter() - t0, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "documents": len(c.documents), "segments": len(c.segments), "themes": len(c.themes), "rows_read_from_store": reads,
        "identity": c.meta.get("identity"), "alerts": len(c.meta.get("alerts", [])),
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--week-size", type=int, default=50000)
    ap.add_argument("--year-weeks", type=int, default=52)
    ap.add_argument("--year-week-size", type=int, default=1000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    import voclens
    from voclens.store import Store

    n_year = args.year_weeks * args.year_week_size
    pool = load_texts(Path(args.data), n_year + 2 * args.week_size)
    year, first, weekly = pool[:n_year], pool[n_year:n_year + args.week_size], pool[n_year + args.week_size:]
    tmp = Path(tempfile.mkdtemp(prefix="voclens-store-bench-"))
    start = pd.Timestamp("2025-11-24")  # a Monday: 52 weeks before 2026-W48
    t0 = time.perf_counter()
    for w in range(args.year_weeks):
        csv = tmp / f"y{w:02d}.csv"
        write_week(year[w * args.year_week_size:(w + 1) * args.year_week_size], start + pd.Timedelta(weeks=w), csv)
        voclens.analyze([str(csv)], store=tmp / "year.duckdb")
    year_seconds = time.perf_counter() - t0
    with Store(tmp / "year.duckdb", read_only=True) as st:
        held = {t: st.count_rows(t) for t in ("documents", "segments", "theme_weekly", "registry")}
    next_week = start + pd.Timedelta(weeks=args.year_weeks)
    write_week(first, next_week, tmp / "first.csv")
    write_week(weekly, next_week, tmp / "weekly.csv")
    results = {}
    for name, csv, store in (("first run (empty store)", tmp / "first.csv", tmp / "empty.duckdb"),
                             ("weekly run (store holds a year)", tmp / "weekly.csv", tmp / "year.duckdb")):
        proc = subprocess.run([sys.executable, __file__, "--child", str(csv), str(store)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"year store: {args.year_weeks} weekly runs of {args.year_week_size} texts in {year_seconds:.0f}s; holds {held}")
    print(f"{'run':34s} {'texts':>6s} {'segments':>8s} {'seconds':>8s} {'peak MiB':>9s}  rows read from store")
    for name, r in results.items():
        print(f"{name:34s} {r['documents']:6d} {r['segments']:8d} {r['seconds']:8.1f} {r['peak_rss_mib']:9.0f}  {r['rows_read_from_store']}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
