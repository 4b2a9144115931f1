"""Bounded load test of the theme listing, over loopback only.

    python scripts/load_test.py [--data ../shared/data] [--texts 48000] [--requests 400] [--concurrency 8]

1. Builds a history store holding at least 100k segments from real texts (``bench.load_texts``;
   texts beyond the data are made by joining two real ones), unless ``--store`` points at one.
2. Creates a viewer token, starts ``voclens serve`` on 127.0.0.1 (a free port) in a subprocess.
3. Sends ``--requests`` GET /api/themes requests from ``--concurrency`` threads and prints
   requests/s, mean, p50, p95 and max latency; every response must be 200.
Nothing leaves the machine: the server binds to 127.0.0.1 and the client only calls it.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(path: Path, data: Path, n: int) -> int:
    import pandas as pd

    import voclens
    from bench import load_texts

    texts = load_texts(data, n)
    start = pd.Timestamp("2026-11-16")
    csv = path.parent / "load.csv"
    pd.DataFrame({"text": texts, "date": [start + pd.Timedelta(seconds=int(i * 604800 / n)) for i in range(n)]}).to_csv(csv, index=False)
    corpus = voclens.analyze([str(csv)], store=path)
    return len(corpus.segments)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--store", help="an existing store (skips building one)")
    ap.add_argument("--texts", type=int, default=48000, help="texts for the built store (~2.2 segments each)")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="voclens-load-"))
    store = Path(args.store) if args.store else tmp / "load.duckdb"
    if not args.store:
        t0 = time.perf_counter()
        n_seg = build_store(store, Path(args.data), args.texts)
        print(f"store built: {n_seg} segments in {time.perf_counter() - t0:.0f}s")
    cli = [sys.executable, "-m", "voclens"]
    token = subprocess.run([*cli, "token", "add", "load-test", "--role", "viewer", "--store", str(store)],
                           capture_output=True, text=True, check=True).stdout.strip().split()[-1]
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port),
                               "--data-dir", str(tmp / "data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(120):
                try:
                    if c.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            else:
                sys.exit("server did not start")
            headers = {"Authorization": f"Bearer {token}"}
            first = c.get("/api/themes", headers=headers)
            first.raise_for_status()
            n_seg = c.get("/api/segments", params={"limit": 1}, headers=headers).json()["total"]
            print(f"store: {n_seg} segments, {len(first.json()['items'])} themes in the latest period")

            def one(_):
                t = time.perf_counter()
                r = c.get("/api/themes", headers=headers)
                return time.perf_counter() - t, r.status_code

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    lat = sorted(r[0] for r in results)
    bad = sum(r[1] != 200 for r in results)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(f"GET /api/themes x{args.requests}, {args.concurrency} concurrent, loopback: {args.requests / wall:.1f} requests/s; "
          f"latency mean {statistics.mean(lat) * 1000:.0f} ms, p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, max {lat[-1] * 1000:.0f} ms; "
          f"non-200: {bad}")


if __name__ == "__main__":
    main()
