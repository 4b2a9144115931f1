"""Themes: features (embeddings + lemma LSA), clustering (automatic k), labels and quotes."""

from voclens.themes.cluster import AutoKMeans
from voclens.themes.features import HybridFeatures
from voclens.themes.stage import ThemeStage

__all__ = ["AutoKMeans", "HybridFeatures", "ThemeStage"]
