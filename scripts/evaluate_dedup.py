"""Duplicate detection figures on a test set built at run time from WRIME dev posts.

    python scripts/evaluate_dedup.py [--data ../shared/data] [--seed 0] [--n-throughput 1000000]
                                     [--skip simhash,themes,throughput] [--json out.json]

The WRIME posts may not be redistributed, so the test set is built here, in memory, each time
and never written: the dev posts (column ``Sentence``; posts whose canonical form repeats are
kept once) plus, for a sample of them, reposts and perturbations: exact copy, ``RT @user:``,
quote post (a short comment + the original), URL/hashtag/emoji appended, width and kana
changes, one or two character edits, truncation with …, templated variants (names and
numbers changed). Every other dev post is a negative; posts by one user often share a topic,
and the quote comments are shared across different originals (hard negatives).

Printed: pairwise and B-cubed precision/recall/F1, recall and false merges per perturbation
kind, the same for a SimHash baseline (64-bit, over the same shingles, Hamming threshold);
theme volumes of the whole pipeline with and without de-duplication on the test set plus a few
viral posts reposted hundreds of times; and the dedup stage's throughput at ``--n-throughput``
posts made by joining and perturbing dev posts.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import voclens  # noqa: E402
from voclens.corpus import Corpus  # noqa: E402
from voclens.pipeline import RunContext  # noqa: E402
from voclens.social import DedupStage  # noqa: E402
from voclens.social.dedup import DuplicateFinder, canonical, shingle_sets  # noqa: E402

KINDS = ("exact", "rt", "quote", "append", "width_kana", "edit", "truncate", "template")
COMMENTS = ["ほんとこれ", "わかる〜", "それな。", "同意しかない", "え、まじか", "これは草", "めっちゃわかる", "ですよね"]
NAMES = ["田中", "佐藤", "鈴木", "高橋", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
TAGS = ["#拡散希望", "#今日の一枚", "#日常", "#つぶやき"]
EMOJI = ["😂", "🙏", "✨", "👍", "💦"]
HIRA = [chr(c) for c in range(0x3042, 0x3093)]


def _halfwidth_table() -> dict[str, str]:
    table = {}
    for c in range(0xFF61, 0xFFA0):
        full = unicodedata.normalize("NFKC", chr(c))
        if len(full) == 1:
            table[full] = chr(c)
    for c in range(0x30A1, 0x30F7):  # voiced katakana: base + ﾞ/ﾟ
        base, *marks = unicodedata.normalize("NFD", chr(c))
        if marks and base in table:
            table[chr(c)] = table[base] + {"\u3099": "\uff9e", "\u309a": "\uff9f"}.get(marks[0], "")
    for c in range(0x21, 0x7F):  # ASCII -> full width
        table[chr(c)] = chr(c + 0xFEE0)
    return table


HALF = str.maketrans(_halfwidth_table())
HIRA_TO_KATA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})


def perturb(text: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "exact":
        return text
    if kind == "rt":
        return f"RT @user{rng.integers(1, 10**6)}: {text}"
    if kind == "quote":
        return f"{COMMENTS[rng.integers(len(COMMENTS))]} {text}"
    if kind == "append":
        return f"{text} https://t.co/{rng.integers(10**8):x} {TAGS[rng.integers(len(TAGS))]} {EMOJI[rng.integers(len(EMOJI))]}"
    if kind == "width_kana":
        return text.translate(HIRA_TO_KATA).translate(HALF) if rng.random() < 0.5 else text.translate(HALF)
    if kind == "edit":
        chars = list(text)
        for _ in range(1 if len(chars) < 30 else 2):
            i = int(rng.integers(len(chars)))
            op = rng.integers(3)
            if op == 0:
                chars[i] = HIRA[rng.integers(len(HIRA))]
            elif op == 1 and len(chars) > 1:
                del chars[i]
            else:
                chars.insert(i, HIRA[rng.integers(len(HIRA))])
        return "".join(chars)
    if kind == "truncate":
        return text[: max(1, int(len(text) * rng.uniform(0.7, 0.85)))] + "…"
    if kind == "template":
        return f"{NAMES[rng.integers(len(NAMES))]}です。{text} ({rng.integers(2, 99)}回目)"
    raise ValueError(kind)


def load_posts(data: Path) -> pd.DataFrame:
    path = data / "wrime_v1" / "dev.tsv"
    if not path.exists():
        sys.exit(f"{path} not found. Pass the folder of the evaluation data with --data (see ../shared/data/README.md).")
    df = pd.read_csv(path, sep="\t", usecols=["Sentence", "UserID", "Datetime"])
    df["Datetime"] = pd.to_datetime(df["Datetime"].astype(str).str.strip(), format="mixed", errors="coerce")
    df["key"] = [canonical(t)[0] for t in df["Sentence"]]
    return df.drop_duplicates("key").reset_index(drop=True)


def build_set(posts: pd.DataFrame, rng: np.random.Generator, share: float = 0.4) -> pd.DataFrame:
    """Originals (gold = own row) and, for a ``share`` of them, one variant of every kind."""
    rows = [{"text": t, "gold": i, "kind": "original", "author": str(u), "date": str(d)}
            for i, (t, u, d) in enumerate(zip(posts["Sentence"], posts["UserID"], posts["Datetime"]))]
    chosen = rng.choice(len(posts), int(share * len(posts)), replace=False)
    for i in chosen:
        base = posts["Datetime"].iat[i]
        for kind in KINDS:
            rows.append({"text": perturb(posts["Sentence"].iat[i], kind, rng), "gold": int(i), "kind": kind,
                         "author": f"u{rng.integers(10**6)}", "date": str(base + pd.Timedelta(minutes=int(rng.integers(1, 600))))})
    return pd.DataFrame(rows)


# -- metrics -------------------------------------------------------------------------------------
def _pairs(counts: np.ndarray) -> float:
    return float((counts * (counts - 1) / 2).sum())


def pairwise(gold: np.ndarray, pred: np.ndarray) -> dict:
    both = pd.crosstab(gold, pred).to_numpy()
    tp = _pairs(both)
    p = tp / max(_pairs(both.sum(axis=0)), 1)
    r = tp / max(_pairs(both.sum(axis=1)), 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-12)}


def bcubed(gold: np.ndarray, pred: np.ndarray) -> dict:
    df = pd.DataFrame({"g": gold, "p": pred})
    cell = df.groupby(["g", "p"])["g"].transform("size").to_numpy()
    p = float((cell / df.groupby("p")["g"].transform("size").to_numpy()).mean())
    r = float((cell / df.groupby("g")["p"].transform("size").to_numpy()).mean())
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-12)}


def per_kind(df: pd.DataFrame, pred: np.ndarray) -> dict:
    """Per kind: recall = grouped with its original; false merge = its group holds another post."""
    pred = np.asarray(pred)
    orig_group = pd.Series(pred[df["kind"].to_numpy() == "original"], index=df.loc[df["kind"] == "original", "gold"].to_numpy())
    golds_in = pd.DataFrame({"p": pred, "g": df["gold"].to_numpy()}).groupby("p")["g"].nunique()
    mixed = golds_in.reindex(pred).to_numpy() > 1
    out = {}
    for kind, part in df.groupby("kind", sort=False):
        idx = part.index.to_numpy()
        same = pred[idx] == orig_group.reindex(part["gold"]).to_numpy()
        out[kind] = {"n": int(len(idx)), "recall": float(same.mean()), "false_merge": float(mixed[idx].mean())}
    return out


def report(name: str, df: pd.DataFrame, pred: np.ndarray) -> dict:
    gold = df["gold"].to_numpy()
    res = {"pairwise": pairwise(gold, pred), "bcubed": bcubed(gold, pred), "per_kind": per_kind(df, pred)}
    pw, b3 = res["pairwise"], res["bcubed"]
    print(f"\n{name}: pairwise P {pw['precision']:.3f} R {pw['recall']:.3f} F1 {pw['f1']:.3f} | "
          f"B-cubed P {b3['precision']:.3f} R {b3['recall']:.3f} F1 {b3['f1']:.3f}")
    print(f"  {'kind':<11}{'n':>6}{'recall':>9}{'false merge':>13}")
    for kind, v in res["per_kind"].items():
        print(f"  {kind:<11}{v['n']:>6}{v['recall']:>9.3f}{v['false_merge']:>13.3f}")
    return res


# -- SimHash baseline ----------------------------------------------------------------------------
def simhash_groups(texts: list[str], k: int) -> np.ndarray:
    """64-bit SimHash over the same 3-gram shingles of the canonical form; groups = connected
    components of pairs within Hamming distance ``k`` (all pairs: fine for a few thousand)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keys = [canonical(t)[0] for t in texts]
    hashes, offsets = shingle_sets(keys, 3)
    with np.errstate(over="ignore"):
        h64 = hashes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h64 ^= h64 >> np.uint64(29)
    bits = np.unpackbits(h64.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little").astype(np.int32) * 2 - 1
    votes = np.add.reduceat(bits, offsets[:-1], axis=0)
    sig = np.packbits(votes > 0, axis=1, bitorder="little").view(np.uint64).ravel()
    pop = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    a_all, b_all = [], []
    for s in range(0, len(sig), 500):
        x = (sig[s:s + 500, None] ^ sig[None, :]).view(np.uint8).reshape(-1, len(sig), 8)
        dist = pop[x].sum(axis=2)
        i, j = np.nonzero(dist <= k)
        keep = i + s < j
        a_all.append(i[keep] + s), b_all.append(j[keep])
    a, b = np.concatenate(a_all), np.concatenate(b_all)
    n = len(texts)
    return connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)[1]


# -- themes with and without de-duplication ------------------------------------------------------
def theme_volumes(df: pd.DataFrame, rng: np.random.Generator, viral: int, copies: int) -> dict:
    extra = []
    for i in rng.choice(df.index[df["kind"] == "original"], viral, replace=False):
        extra += [{"text": f"RT @fan{j}: {df.at[i, 'text']}", "gold": df.at[i, "gold"], "kind": "viral",
                   "author": f"fan{j}", "date": df.at[i, "date"]} for j in range(copies)]
    full = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
    out, groups = {}, None
    for on in (True, False):
        corpus = voclens.analyze(Corpus.from_texts(full["text"].tolist(), channel="sns", dates=full["date"].tolist()),
                                 **{"dedup.enabled": on})
        if on:
            groups = corpus.documents["dup_group"].to_numpy()
        t = corpus.theme_info()
        echo = _echo_themes(corpus, groups)
        cols = [c for c in ("label", "size", "n_documents", "n_unique_docs", "share") if c in t]
        top = t[cols].head(8)
        name = "with de-duplication" if on else "without de-duplication"
        dup = corpus.meta.get("duplicates", {})
        print(f"\nThemes {name}: {len(t)} themes on {len(full):,} posts ({dup.get('unique', len(full)):,} distinct texts "
              f"seen by theme discovery); {echo} themes are echoes (over half of their posts are copies of <= 3 texts)")
        print(top.to_string(index=False, formatters={"share": "{:.1%}".format}))
        out[name] = {"n_themes": int(len(t)), "echo_themes": echo, "top": top.to_dict("records")}
    return out


def _echo_themes(corpus: Corpus, groups: np.ndarray) -> int:
    """Themes whose documents are mostly copies of at most three texts (groups of the dedup run)."""
    docs = corpus.documents.assign(g=groups)
    docs = docs[docs["theme_id"] >= 0]
    top3 = docs.groupby(["theme_id", "g"]).size().groupby(level=0).apply(lambda s: s.nlargest(3).sum())
    return int((top3 / docs.groupby("theme_id").size() > 0.5).sum())


# -- throughput ----------------------------------------------------------------------------------
def throughput_set(posts: pd.DataFrame, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` posts: half distinct (4-character slices of random dev posts, joined up to the
    length of a random dev post: real character statistics, no shared sentences), a third
    reposts of 2,000 'popular' ones, the rest perturbations of them (every kind above)."""
    base = [t for t in posts["Sentence"].tolist() if len(t) >= 4]
    lengths = np.array([len(t) for t in base])
    n_new, n_copy = n // 2, n // 3
    slices_per = np.maximum(1, lengths[rng.integers(0, len(base), n_new)] // 4)
    src = rng.integers(0, len(base), int(slices_per.sum()))
    at = (rng.random(len(src)) * (lengths[src] - 3)).astype(int)
    pieces = [base[s][a:a + 4] for s, a in zip(src, at)]
    ends = np.cumsum(slices_per)
    new = ["".join(pieces[e - k:e]) for e, k in zip(ends, slices_per)]
    popular = new[:2000]
    pick = rng.integers(0, len(popular), n - n_new)
    kinds = rng.integers(0, len(KINDS), n - n_new)
    rest = [(f"RT @u{k % 50000}: {popular[p]}" if k < n_copy else perturb(popular[p], KINDS[kd], rng))
            for k, (p, kd) in enumerate(zip(pick, kinds))]
    texts = new + rest
    rng.shuffle(texts)
    return texts


def throughput(posts: pd.DataFrame, n: int, rng: np.random.Generator) -> dict:
    t0 = time.perf_counter()
    texts = throughput_set(posts, n, rng)
    corpus = Corpus()
    corpus.documents = pd.DataFrame({"doc_id": np.arange(n, dtype=np.int64), "text": texts,
                                     "date": pd.Timestamp("2026-10-01") + pd.to_timedelta(np.arange(n) % 86400, unit="s")})
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    corpus = DedupStage()(corpus, RunContext())
    secs = time.perf_counter() - t0
    m = corpus.meta["duplicates"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nDedup stage at {n:,} posts (built in {built:.1f} s, not timed): {secs:.1f} s, {n / secs:,.0f} posts/s; "
          f"{m['unique']:,} unique texts, {m['groups']:,} groups ({m['near_groups']:,} with near copies), "
          f"{m['candidate_pairs']:,} candidate pairs checked; peak RSS {rss:,.0f} MiB")
    return {"n": n, "seconds": secs, "posts_per_second": n / secs, "unique": m["unique"], "groups": m["groups"],
            "candidate_pairs": m["candidate_pairs"], "peak_rss_mib": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-throughput", type=int, default=1_000_000)
    ap.add_argument("--viral", type=int, default=3, help="posts reposted --viral-copies times for the theme comparison")
    ap.add_argument("--viral-copies", type=int, default=300)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: simhash,themes,throughput")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    rng = np.random.default_rng(args.seed)
    posts = load_posts(Path(args.data))
    df = build_set(posts, rng)
    print(f"Test set (in memory only): {len(posts):,} distinct WRIME dev posts, {int((df['kind'] != 'original').sum()):,} "
          f"reposts/perturbations of {df.loc[df['kind'] != 'original', 'gold'].nunique():,} of them; {len(df):,} posts")
    figures: dict = {}
    t0 = time.perf_counter()
    finder = DuplicateFinder(n_jobs=1).fit(df["text"].tolist(), order=pd.to_datetime(df["date"]).astype("int64").to_numpy())
    figures["minhash"] = report(f"voclens (canonical hash + MinHash/LSH + exact check; {time.perf_counter() - t0:.2f} s)", df, finder.group_)
    exact = DuplicateFinder(near=False, n_jobs=1).fit(df["text"].tolist())
    figures["exact_only"] = report("canonical hash only (dedup.near = false)", df, exact.group_)
    if "simhash" not in skip:
        for k in (3, 6, 10, 16):
            figures[f"simhash_k{k}"] = report(f"SimHash baseline, Hamming <= {k}", df, simhash_groups(df["text"].tolist(), k))
    if "themes" not in skip:
        figures["themes"] = theme_volumes(df, rng, args.viral, args.viral_copies)
    if "throughput" not in skip:
        figures["throughput"] = throughput(posts, args.n_throughput, rng)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
