"""Train the customer-lens models: job type, journey stage, intent, pain point, and emotions.

    python scripts/train_lenses.py [--corpora corpora] [--data ../shared/data] [--out models]

Data we may ship models from:
- corpora/lenses/*.tsv: segments written and labelled by the voclens team (MIT), following the
  label guidelines of ../shared/data/gold/GUIDELINES.md;
- corpora/emotion/posts*.tsv: team-written posts with Plutchik intensities (reader's view);
- ASDC customer turns (../shared/data/asdc_dialog_act, CC BY 4.0, Megagon Labs): their dialog
  acts give weak intent and journey-stage labels (要求 -> request/consideration, 質問 ->
  question/consideration, はい -> other/none ...), used at half weight. Attribution is in the
  model cards. gold_dev.tsv comes from other ASDC dialogs and is never trained on.
Writes models/lenses/<label set>/ and models/emotion/, each with config.json, weights.npz and a
README.md model card with 5-fold cross-validation figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from train_sentiment import prepare  # noqa: E402

from voclens.embed import make_embedder  # noqa: E402
from voclens.embed.base import embed_texts  # noqa: E402
from voclens.lenses.emotion import EMOTIONS  # noqa: E402
from voclens.lenses.linear import TextClassifier  # noqa: E402
from voclens.lenses.stages import LENS_SETS  # noqa: E402

ASDC_MAP = {  # dialog act -> (intent, journey stage); GUIDELINES S6 and I4/I5
    "要求": ("request", "consideration"), "照応要求": ("request", "consideration"), "質問": ("question", "consideration"),
    "確認": ("question", "consideration"), "伝達": ("other", "consideration"), "はい": ("other", "none"),
    "いいえ": ("other", "none"), "感想": ("praise", "none"), "その他": ("other", "none"),
}
ASDC_WEIGHT = 0.5


def lens_corpus(folder: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, sep="\t", quoting=3, dtype=str, keep_default_na=False).assign(file=p.name)
              for p in sorted((folder / "lenses").glob("*.tsv"))]
    data = pd.concat(frames, ignore_index=True).drop_duplicates("text")
    return data.reset_index(drop=True)


def asdc_rows(data_dir: Path) -> pd.DataFrame:
    path = data_dir / "asdc_dialog_act" / "utterances_train.tsv"
    if not path.is_file():
        print(f"{path} not found: training without ASDC turns.")
        return pd.DataFrame(columns=["text", "intent", "journey_stage"])
    a = pd.read_csv(path, sep="\t")
    a = a[(a["speaker"] == "user") & a["speech_act"].isin(ASDC_MAP)].drop_duplicates("utterance")
    labels = a["speech_act"].map(ASDC_MAP)
    return pd.DataFrame({"text": a["utterance"].tolist(), "intent": [x[0] for x in labels], "journey_stage": [x[1] for x in labels]})


def emotion_matrix(values: pd.Series) -> np.ndarray:
    """'joy:2,trust:1' -> rows of 0/1 presence (intensity >= 1) in EMOTIONS order."""
    out = np.zeros((len(values), len(EMOTIONS)), dtype=np.int8)
    for i, v in enumerate(values):
        for part in str(v).split(","):
            name, _, level = part.strip().partition(":")
            if name in EMOTIONS and (level or "1").strip().isdigit() and int(level or 1) >= 1:
                out[i, EMOTIONS.index(name)] = 1
    return out


def emotion_corpus(folder: Path) -> tuple[list[str], np.ndarray]:
    paths = sorted((folder / "emotion").glob("posts*.tsv"))
    if not paths:
        return [], np.zeros((0, len(EMOTIONS)), np.int8)
    e = pd.concat([pd.read_csv(p, sep="\t", quoting=3, keep_default_na=False) for p in paths]).drop_duplicates("text")
    texts = e["text"].astype(str).str.replace("\\n", "\n", regex=False).tolist()
    return texts, (e[list(EMOTIONS)].astype(int).to_numpy() >= 1).astype(np.int8)


def cv_single(texts, y, emb, weights, params, folds=5) -> dict:
    pred = np.empty(len(y), dtype=object)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, y):
        m = TextClassifier(**params).fit([texts[i] for i in tr], y[tr], emb[tr], sample_weight=weights[tr])
        pred[te] = m.predict([texts[i] for i in te], emb[te], n_jobs=0)
    team = weights == 1.0
    return {"cv_macro_f1_team_corpus": round(float(f1_score(y[team], pred[team], average="macro")), 4)}


def cv_multi(texts, y, emb, params, folds=5) -> dict:
    pred = np.zeros_like(y)
    for tr, te in KFold(folds, shuffle=True, random_state=0).split(texts):
        m = TextClassifier(**params).fit([texts[i] for i in tr], y[tr], emb[tr])
        pred[te] = m.predict([texts[i] for i in te], emb[te], n_jobs=0)
    per = f1_score(y, pred, average=None, zero_division=0)
    return {"cv_mean_f1": round(float(per.mean()), 4), "cv_f1": {e: round(float(f), 4) for e, f in zip(EMOTIONS, per)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=str(ROOT / "corpora"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "models"))
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join([*LENS_SETS, "emotion"]))
    args = ap.parse_args()
    t0 = time.time()
    corpora, out = Path(args.corpora), Path(args.out)
    only = set(filter(None, args.only.split(","))) or {*LENS_SETS, "emotion"}
    embedder = make_embedder("use")
    team = lens_corpus(corpora)
    asdc = asdc_rows(Path(args.data))
    print(f"team corpus: {len(team)} rows; ASDC customer turns: {len(asdc)}")

    for name, classes in LENS_SETS.items():
        if name not in only:
            continue
        rows = team[team[name].isin(classes)][["text", name]].assign(w=1.0)
        extra = asdc[["text", name]].assign(w=ASDC_WEIGHT) if name in asdc else pd.DataFrame(columns=["text", name, "w"])
        rows = pd.concat([rows, extra[extra[name].isin(classes)]], ignore_index=True)
        texts = prepare(rows["text"])
        emb = embed_texts(embedder, texts)
        y, w = rows[name].astype(str).to_numpy(), rows["w"].to_numpy(dtype=float)
        params = dict(classes=classes, dense=("cues", "sentiment_lexicon"), C=2.0, embed_weight=0.7, dense_weight=1.0,
                      class_weight="balanced")
        metrics = cv_single(texts, y, emb, w, params)
        model = TextClassifier(**params).fit(texts, y, emb, sample_weight=w)
        card = _card(name, rows, metrics, params, embedder.name, asdc_used=name in asdc and len(asdc) > 0)
        _save(model, out / "lenses" / name, card)
        print(f"{name:14s} rows {len(rows):5d}  CV macro-F1 (team rows) {metrics['cv_macro_f1_team_corpus']:.3f}")

    if "emotion" in only:
        # the posts written for emotions only: the CX corpus tags emotions where they stand out,
        # and adding them lowered agreement with readers' judgements on real posts (AUC 0.776 -> 0.762)
        texts_e, y_all = emotion_corpus(corpora)
        texts_all = prepare(texts_e)
        emb = embed_texts(embedder, texts_all)
        # balanced weights lift rare emotions to a fair share of predictions; anger is the
        # exception: readers see it rarely (about 1% of posts), and balancing it made it predicted
        # in ~7% (dev choice, see the model card). C, weights: chosen on WRIME dev (a plateau).
        params = dict(classes=EMOTIONS, multilabel=True, dense=("emotion_lexicon", "sentiment_lexicon"), C=0.5,
                      embed_weight=1.0, dense_weight=0.5, class_weight={"*": "balanced", "anger": None})
        metrics = cv_multi(texts_all, y_all, emb, params)
        model = TextClassifier(**params).fit(texts_all, y_all, emb)
        card = {
            "name": "voclens-emotion-ja-v1", "label_set": "emotion (Plutchik 8, multi-label presence)",
            "trained": time.strftime("%Y-%m-%d"), "rows": int(len(texts_all)),
            "presence_rate": {e: round(float(r), 3) for e, r in zip(EMOTIONS, y_all.mean(axis=0))},
            "data": ["corpora/emotion/posts*.tsv (team-written, MIT)"],
            "params": params, "metrics": metrics, "embedder": embedder.name,
            "tuning": "C, embedding and lexicon weights and the per-emotion class weighting were chosen on WRIME dev "
                      "(evaluation only, CC BY-NC-ND: no WRIME text or label trains the model); dev figures are "
                      "therefore optimistic, the hold-out split is the check.",
        }
        _save(model, out / "emotion", card)
        print(f"emotion        rows {len(texts_all):5d}  CV mean F1 {metrics['cv_mean_f1']:.3f}")
    print(f"done in {time.time() - t0:.0f}s")


def _card(name, rows, metrics, params, embedder, asdc_used) -> dict:
    data = ["corpora/lenses/*.tsv (team-written, MIT)"]
    if asdc_used:
        data.append(f"ASDC customer turns, weak labels from dialog acts at weight {ASDC_WEIGHT} "
                    "(Megagon Labs, CC BY 4.0, github.com/megagonlabs/asdc)")
    return {
        "name": f"voclens-{name.replace('_', '-')}-ja-v1", "label_set": name, "trained": time.strftime("%Y-%m-%d"),
        "rows": int(len(rows)), "labels": {k: int(v) for k, v in rows[name].value_counts().items()},
        "data": data, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "metrics": metrics, "embedder": embedder,
    }


def _save(model: TextClassifier, folder: Path, card: dict) -> None:
    model.save(folder, card)
    lines = [f"# {card['name']}", "", f"Label set: **{card['label_set']}**. Trained by `python scripts/train_lenses.py` on {card['trained']}.", "",
             "## Data", ""] + [f"- {d}" for d in card["data"]] + ["", f"Rows: {card['rows']}", ""]
    if "labels" in card:
        lines += ["| label | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in card["labels"].items()] + [""]
    if "presence_rate" in card:
        lines += ["| emotion | presence rate |", "|---|---|"] + [f"| {k} | {v} |" for k, v in card["presence_rate"].items()] + [""]
    lines += ["## Metrics", "", "```json", json.dumps(card["metrics"], ensure_ascii=False, indent=2), "```", "",
              "Dev-set figures on real data (gold_dev.tsv, WRIME dev) are printed by `scripts/evaluate.py`.", "",
              "## Features", "", f"Hashed char 1-3-grams, dense data features {card['params']['dense']}, embedding ({card['embedder']}).", ""]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
