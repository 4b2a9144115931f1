"""The identity stage: this run's themes get their stable ids, and human edits are applied.

Runs after clustering and before the roll-ups, so that sentiment mixes, impact, tags and goals
are computed on the themes as people edited them. Nothing is written here: the updated registry
waits in ``corpus.meta["registry"]`` until the store commits the whole run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from voclens.corpus import Corpus
from voclens.embed.base import unit_rows
from voclens.engine.store import row_blocks
from voclens.pipeline import RunContext
from voclens.store.edits import merge_map
from voclens.store.identity import CENTROID_MOMENTUM, WARM_KEEP_THRESHOLD, absorbed, assign, score_matrix
from voclens.themes.stage import describe_themes

REGISTRY_COLUMNS = ["theme_uid", "label", "keywords", "centroid", "n_seen", "first_period", "last_period", "status",
                    "merged_into", "pinned_label", "parent"]


def theme_centroids(seg: pd.DataFrame, emb: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean embedding of each theme's segments, in the embedder's own space."""
    out = np.zeros((k, emb.shape[1]), dtype=np.float32)
    ok = np.flatnonzero(labels >= 0)
    for a, b, block in row_blocks(emb, ok):  # emb may be a memory-mapped file of any size
        np.add.at(out, labels[ok[a:b]], block)
    return unit_rows(out)


def _mean_rows(emb: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean of ``emb[rows]`` in float32, read in blocks (zeros when there are no rows)."""
    total = np.zeros(emb.shape[1], dtype=np.float64)
    for _, _, block in row_blocks(emb, rows):
        total += block.sum(axis=0, dtype=np.float64)
    return (total / max(len(rows), 1)).astype(np.float32)


def _next_uid(existing: set[str]) -> str:
    nums = [int(u[1:]) for u in existing if u.startswith("T") and u[1:].isdigit()]
    return f"T{(max(nums) + 1 if nums else 1):04d}"


class IdentityStage:
    name = "identity"
    requires = ("themes.theme_id", "segments.theme_id", "embeddings")
    assigns = ("themes.theme_uid", "segments.theme_uid", "documents.theme_uid")

    def __init__(self, registry: pd.DataFrame | None, edits: list[dict], period: str, reference: np.ndarray | None = None):
        self.registry = registry if registry is not None else pd.DataFrame(columns=REGISTRY_COLUMNS)
        self.edits = edits
        self.period = period
        self.reference = reference  # the store's mean embedding: centroids are compared around it

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus:
        seg, themes = corpus.segments, corpus.themes
        labels = seg["theme_id"].to_numpy().copy()
        emb = corpus.embeddings
        reg = self.registry.copy()
        merged = merge_map(self.edits)
        live = reg[(reg["status"].fillna("active") == "active") & reg["parent"].isna()] if len(reg) else reg
        k = len(themes)
        cents = theme_centroids(seg, emb, labels, k)
        kw = themes["keywords"].tolist()
        content = (seg["kind"] == "content").to_numpy() if "kind" in seg else np.ones(len(seg), bool)
        run_mean = _mean_rows(emb, np.flatnonzero(content))
        ref = run_mean if self.reference is None else np.asarray(self.reference, np.float32)
        reg_c = np.vstack([np.asarray(c, np.float32) for c in live["centroid"]]) if len(live) else np.zeros((0, emb.shape[1]), np.float32)
        scores = score_matrix(unit_rows(cents - ref), kw, unit_rows(reg_c - ref) if len(reg_c) else reg_c,
                              [list(x) for x in live["keywords"]] if len(live) else [])
        # a theme the clustering grew from a known one keeps its id unless it drifted away from it
        col_of = {u: j for j, u in enumerate(live["theme_uid"])} if len(live) else {}
        pairs = {}
        for t, u in enumerate(themes["prior_uid"] if "prior_uid" in themes else [None] * k):
            if u in col_of and scores[t, col_of[u]] >= WARM_KEEP_THRESHOLD and col_of[u] not in pairs.values():
                pairs[t] = col_of[u]
        rest_rows = [t for t in range(k) if t not in pairs]
        rest_cols = [j for j in range(scores.shape[1]) if j not in pairs.values()]
        if rest_rows and rest_cols:
            sub = assign(scores[np.ix_(rest_rows, rest_cols)])
            pairs.update({rest_rows[r]: rest_cols[c] for r, c in sub.items()})
        existing = set(reg["theme_uid"]) if len(reg) else set()
        uid = {}
        score_of, how = {}, {}
        for t in range(k):
            if t in pairs:
                uid[t] = live["theme_uid"].iat[pairs[t]]
                score_of[t] = float(scores[t, pairs[t]])
                how[t] = "continued" if "prior_uid" in themes and themes["prior_uid"].iat[t] == uid[t] else "matched"
            else:
                uid[t] = _next_uid(existing | set(uid.values()))
                score_of[t] = float(scores[t].max()) if scores.shape[1] else 0.0
                how[t] = "new"
        absorbed_into = {live["theme_uid"].iat[c]: live["theme_uid"].iat[target] for c, target in absorbed(scores, pairs).items()}

        # merges: every local theme whose id resolves to the same root becomes one theme
        root = {t: merged.get(u, u) for t, u in uid.items()}
        first_of: dict[str, int] = {}
        remap = np.arange(k)
        for t in sorted(range(k), key=lambda t: -int(themes["size"].iat[t])):
            r = root[t]
            remap[t] = first_of.setdefault(r, t)
        regrouped = bool((remap != np.arange(k)).any())
        labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
        doc_labels = corpus.documents["theme_id"].to_numpy()
        doc_labels = np.where(doc_labels >= 0, remap[np.maximum(doc_labels, 0)], -1)
        uid_by_label = {int(remap[t]): root[t] for t in range(k)}

        # splits: re-cluster the segments of a split theme into its parts (children keep ids)
        children: dict[int, str] = {}
        next_label = k
        for e in self.edits:
            if e["op"] != "split":
                continue
            target = next((lab for lab, u in uid_by_label.items() if u == e["theme"]), None)
            rows = np.flatnonzero(labels == target) if target is not None else np.array([], int)
            if len(rows) < e["into"] * 2:
                continue
            parts = KMeans(e["into"], n_init=10, random_state=ctx.settings.themes.seed).fit_predict(emb[rows] - ref)
            kid_c = unit_rows(np.vstack([emb[rows][parts == j].mean(axis=0) for j in range(e["into"])]) - ref)
            known = reg[reg["parent"] == e["theme"]] if len(reg) else reg
            kid_uids = [f"{e['theme']}-{j + 1}" for j in range(e["into"])]
            if len(known):  # keep each part on the child id it had before
                s = kid_c @ unit_rows(np.vstack([np.asarray(c, np.float32) for c in known["centroid"]]) - ref).T
                for r_, c_ in assign(s, threshold=-1.0).items():
                    kid_uids[r_] = known["theme_uid"].iat[c_]
            for j in range(e["into"]):
                new_label = target if j == 0 else next_label
                if j:
                    next_label += 1
                labels[rows[parts == j]] = new_label
                children[new_label] = kid_uids[j]
                uid_by_label[new_label] = kid_uids[j]
            regrouped = True

        # moves: a document's segments go to the theme the person chose (when it is in this run)
        for e in self.edits:
            if e["op"] != "move":
                continue
            target = next((lab for lab, u in uid_by_label.items() if u == e["theme"]), None)
            docs = corpus.documents.loc[corpus.documents["id"].astype(str) == str(e["document"]), "doc_id"]
            if target is None or docs.empty:
                continue
            sel = seg["doc_id"].isin(docs).to_numpy() & (labels >= 0)
            labels[sel] = target
            doc_labels[corpus.documents["doc_id"].isin(docs).to_numpy()] = target
            regrouped = True

        # compact to 0..k'-1, rebuild the table when edits regrouped anything
        used = sorted(set(labels[labels >= 0]) | set(doc_labels[doc_labels >= 0]))
        dense = {old: new for new, old in enumerate(used)}
        to_dense = np.vectorize(lambda v: dense.get(int(v), -1))
        labels = to_dense(labels) if len(labels) else labels
        doc_labels = to_dense(doc_labels) if len(doc_labels) else doc_labels
        uid_of = {dense[old]: uid_by_label[old] for old in used}
        seg = seg.assign(theme_id=labels)
        if regrouped:
            o = ctx.settings.themes
            themes = describe_themes(seg, labels, seg["theme_similarity"].to_numpy(), o.n_keywords, o.n_quotes)
        score_by_uid = {root[t]: score_of[t] for t in range(k)}
        how_by_uid = {root[t]: how[t] for t in range(k)}
        themes = themes.assign(
            theme_uid=[uid_of[t] for t in themes["theme_id"]],
            match_score=[round(score_by_uid.get(uid_of[t], 1.0), 4) for t in themes["theme_id"]],
            matched=[how_by_uid.get(uid_of[t], "split") for t in themes["theme_id"]],
        )
        themes = self._labels(themes, reg)
        corpus.themes = themes
        corpus.segments = seg.assign(theme_uid=pd.Series(labels).map(uid_of).to_numpy())
        corpus.documents = corpus.documents.assign(theme_id=doc_labels, theme_uid=pd.Series(doc_labels).map(uid_of).to_numpy())
        cents = theme_centroids(corpus.segments, emb, labels, len(themes))
        corpus.meta["registry"] = self._updated_registry(reg, themes, cents, absorbed_into, merged, children)
        corpus.meta["embedding_reference"] = (run_mean if self.reference is None else 0.9 * ref + 0.1 * run_mean).tolist()
        corpus.meta["identity"] = {
            "continued": int((themes["matched"] == "continued").sum()),
            "matched": int((themes["matched"] == "matched").sum()), "new": int((themes["matched"] == "new").sum()),
            "absorbed": absorbed_into, "edits_applied": len(self.edits),
        }
        return corpus

    def _labels(self, themes: pd.DataFrame, reg: pd.DataFrame) -> pd.DataFrame:
        """Renamed and pinned labels win over this run's keywords."""
        names = {}
        for e in self.edits:
            if e["op"] == "rename":
                names[e["theme"]] = e["label"]
        pinned = {e["theme"] for e in self.edits if e["op"] in ("pin", "rename")}
        known = dict(zip(reg["theme_uid"], reg["label"])) if len(reg) else {}
        labels = []
        for u, lab in zip(themes["theme_uid"], themes["label"]):
            if u in names:
                lab = names[u]
            elif u in pinned and u in known:
                lab = known[u]
            labels.append(lab)
        return themes.assign(label=labels)

    def _updated_registry(self, reg, themes, cents, absorbed_into, merged, children) -> pd.DataFrame:
        rows = {r["theme_uid"]: dict(r) for r in reg.to_dict("records")} if len(reg) else {}
        pinned = {e["theme"] for e in self.edits if e["op"] in ("pin", "rename")}
        parents = {u: u.rsplit("-", 1)[0] for u in children.values()}
        for i, t in enumerate(themes.itertuples()):
            u = t.theme_uid
            old = rows.get(u)
            c = cents[i]
            if old is not None and old.get("centroid") is not None and len(old["centroid"]):
                c = unit_rows((CENTROID_MOMENTUM * np.asarray(old["centroid"], np.float32) + (1 - CENTROID_MOMENTUM) * c)[None])[0]
            rows[u] = {
                "theme_uid": u, "label": t.label, "keywords": list(t.keywords), "centroid": c.astype(np.float32).tolist(),
                "n_seen": int((old or {}).get("n_seen") or 0) + 1, "first_period": (old or {}).get("first_period") or self.period,
                "last_period": self.period, "status": "active", "merged_into": None, "pinned_label": u in pinned,
                "parent": parents.get(u, (old or {}).get("parent")),
            }
        for u, target in {**absorbed_into, **merged}.items():
            if u in rows and u not in set(themes["theme_uid"]):
                rows[u]["status"] = "merged" if u in merged else "absorbed"
                rows[u]["merged_into"] = target
        out = pd.DataFrame(list(rows.values()), columns=REGISTRY_COLUMNS)
        return out.sort_values("theme_uid").reset_index(drop=True)
