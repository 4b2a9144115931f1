"""Themes as k-means clusters whose number is chosen from the data, with few outliers.

Density clustering (HDBSCAN) leaves a fifth of customer feedback as "noise" that nobody reads;
k-means assigns everything and is exact to reproduce with a seed. The number of themes comes
from the Bayesian information criterion of a diagonal Gaussian mixture on the leading
components (a penalised likelihood: more themes must pay for themselves), scanned on a sample.
Only segments far below their theme's typical similarity stay unassigned (-1), by a robust
z-score rule, so the unassigned share is small and explained.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from voclens.embed.base import unit_rows
from voclens.errors import NotFittedError


class AutoKMeans:
    """k-means with an automatic k (BIC) and robust outlier marking."""

    def __init__(
        self,
        n_clusters: int | None = None,
        min_clusters: int = 4,
        max_clusters: int = 40,
        sample_size: int = 20000,
        bic_sample: int = 4000,
        bic_dims: int = 8,
        outlier_z: float = 3.0,
        n_init: int = 10,
        seed: int = 0,
    ):
        self.n_clusters = n_clusters
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.sample_size = sample_size
        self.bic_sample = bic_sample
        self.bic_dims = bic_dims
        self.outlier_z = outlier_z
        self.n_init = n_init
        self.seed = seed

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, x: np.ndarray, k_data: np.ndarray | None = None, init: np.ndarray | None = None) -> "AutoKMeans":
        """Fit centres on ``x``; choose k on ``k_data`` when given (e.g. documents for segments).

        ``init``: centres of themes already known (earlier runs), in x's space. They start the
        k-means as the first centres, so a known theme keeps its cluster; any further centres are
        seeded by k-means++ among the points the known ones explain worst. ``prior_`` says which
        final cluster started from which known centre.
        """
        sample = self._sample(x)
        if self.n_clusters is not None:
            k = int(min(self.n_clusters, len(sample)))
            self.selection_ = {"method": "fixed", "k": k}
        else:
            k_sample = self._sample(k_data) if k_data is not None and len(k_data) >= 20 else sample
            k, self.selection_ = self._choose_k(k_sample)
            self.selection_["rows"] = len(k_sample)
            k = min(k, len(sample))
        self.prior_ = np.full(k, -1, dtype=np.int64)
        if init is not None and len(init):
            init = unit_rows(np.asarray(init, dtype=np.float64))[: len(sample)]
            k = max(k, len(init))
            centres = [init]
            if k > len(init):
                from sklearn.cluster import kmeans_plusplus

                worst = sample[np.argsort((sample @ init.T).max(axis=1))[: max(k * 5, len(sample) // 3)]]
                extra, _ = kmeans_plusplus(worst, k - len(init), random_state=self.seed)
                centres.append(extra)
            km = KMeans(k, init=np.vstack(centres), n_init=1, random_state=self.seed).fit(sample)
            self.prior_ = np.concatenate([np.arange(len(init)), np.full(k - len(init), -1)]).astype(np.int64)
            self.selection_["warm_start"] = int(len(init))
        else:
            km = KMeans(k, n_init=self.n_init, random_state=self.seed).fit(sample)
        self.cluster_centers_ = unit_rows(km.cluster_centers_.astype(np.float32))
        self.n_clusters_ = k
        labels, sims = self._nearest(sample)
        # robust per-cluster threshold: median - z * 1.4826 * MAD of member similarities
        self.thresholds_ = np.full(k, -np.inf, dtype=np.float32)
        for c in range(k):
            s = sims[labels == c]
            if len(s) >= 5 and self.outlier_z > 0:
                med = np.median(s)
                mad = np.median(np.abs(s - med)) * 1.4826
                self.thresholds_[c] = med - self.outlier_z * max(mad, 1e-6)
        return self

    def _sample(self, x: np.ndarray) -> np.ndarray:
        if len(x) <= self.sample_size:
            return x
        rng = np.random.default_rng(self.seed)
        return x[np.sort(rng.choice(len(x), self.sample_size, replace=False))]

    def _bounds(self, n: int) -> tuple[int, int]:
        hi = int(min(self.max_clusters, max(self.min_clusters, n // 8)))
        return max(1, int(min(self.min_clusters, hi))), hi

    def _choose_k(self, sample: np.ndarray) -> tuple[int, dict]:
        """Coarse-to-fine scan of k by BIC on the leading components of a sample."""
        lo, hi = self._bounds(len(sample))
        if hi <= lo or len(sample) < 20:
            return hi, {"method": "only-candidate", "k": hi}
        if len(sample) > self.bic_sample:
            rng = np.random.default_rng(self.seed)
            sample = sample[np.sort(rng.choice(len(sample), self.bic_sample, replace=False))]
        # leading components carry the between-theme variance; fewer dims keep the GMM stable
        centred = sample - sample.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        low = centred @ vt[: min(self.bic_dims, vt.shape[0])].T
        scores: dict[int, float] = {}

        def bic(k: int) -> float:
            if k not in scores:
                gm = GaussianMixture(
                    k, covariance_type="diag", n_init=1, init_params="k-means++", random_state=self.seed, reg_covar=1e-5
                ).fit(low)
                scores[k] = float(gm.bic(low))
            return scores[k]

        coarse = sorted({lo, hi, *range(lo, min(hi, 12) + 1, 2), *range(12, hi + 1, 4)} & set(range(lo, hi + 1)))
        best = min(coarse, key=bic)
        for k in range(max(lo, best - 3), min(hi, best + 3) + 1):  # refine around the coarse best
            bic(k)
        best = min(scores, key=scores.get)
        return best, {"method": "gmm-bic", "dims": int(low.shape[1]), "k": best, "bic": dict(sorted(scores.items()))}

    # -- using ---------------------------------------------------------------------------------
    def _nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels = np.empty(len(x), dtype=np.int64)
        sims = np.empty(len(x), dtype=np.float32)
        for a in range(0, len(x), 50000):
            s = x[a:a + 50000] @ self.cluster_centers_.T
            labels[a:a + 50000] = s.argmax(axis=1)
            sims[a:a + 50000] = s.max(axis=1)
        return labels, sims

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Theme per row (-1 = unassigned) and the similarity to the nearest theme centre."""
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError("AutoKMeans is not fitted yet. Call fit(x) first.")
        labels, sims = self._nearest(x)
        outlier = sims < self.thresholds_[labels]
        return np.where(outlier, -1, labels), sims
