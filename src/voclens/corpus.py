"""The one object that flows through every stage, as spaCy's ``Doc`` does.

A ``Corpus`` is columnar: pandas tables for documents, segments, themes and proposed goals, and a numpy array
of segment embeddings whose rows align with ``segments``. Stages add columns; they never hide
state elsewhere, so any stage can be swapped and every result is a table a user can open.

The original (unmasked) texts live apart from the tables, in ``originals``, so that no writer can
leak personal data by writing a table: outputs are built from the tables only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Columns every document table has after ingest. Readers may add more.
DOCUMENT_COLUMNS = ["doc_id", "id", "source", "row", "channel", "date", "rating", "text", "extra"]
SEGMENT_COLUMNS = ["seg_id", "doc_id", "sent_idx", "clause_idx", "start", "end", "text", "norm"]
REJECT_COLUMNS = ["source", "row", "id", "reason", "text"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class Corpus:
    """Documents, their segments, the themes found, and segment embeddings."""

    documents: pd.DataFrame = field(default_factory=lambda: _empty(DOCUMENT_COLUMNS))
    segments: pd.DataFrame = field(default_factory=lambda: _empty(SEGMENT_COLUMNS))
    themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    goals: pd.DataFrame = field(default_factory=pd.DataFrame)
    embeddings: np.ndarray | None = None
    # numeric features aligned with segments, by name (hashed n-grams, lexicon and cue hits)
    features: dict[str, Any] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=lambda: _empty(REJECT_COLUMNS))
    originals: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    meta: dict[str, Any] = field(default_factory=dict)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_texts(cls, texts, *, ids=None, channel: str = "other", dates=None, source: str = "<memory>") -> "Corpus":
        """Build a corpus from plain strings, for the Python API and tests."""
        from voclens.ingest.records import corpus_from_records

        texts = list(texts)
        records = []
        for i, t in enumerate(texts):
            rec: dict[str, Any] = {"text": t, "channel": channel}
            if ids is not None:
                rec["id"] = ids[i]
            if dates is not None:
                rec["date"] = dates[i]
            records.append(rec)
        return corpus_from_records(records, source=source)

    # -- contract support ------------------------------------------------------------------
    def has(self, field_name: str) -> bool:
        """True if ``table.column`` (or ``embeddings``) is present: used by the stage runner."""
        if field_name == "embeddings":
            return self.embeddings is not None and len(self.embeddings) == len(self.segments)
        if field_name.startswith("features."):
            value = self.features.get(field_name.partition(".")[2])
            return value is not None and value.shape[0] == len(self.segments)
        table, _, column = field_name.partition(".")
        frame = getattr(self, table, None)
        if not isinstance(frame, pd.DataFrame):
            return False
        return not column or column in frame.columns

    # -- convenience -----------------------------------------------------------------------
    @property
    def n_documents(self) -> int:
        return len(self.documents)

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def theme_info(self) -> pd.DataFrame:
        """The themes table sorted by size, as BERTopic's ``get_topic_info`` (a copy)."""
        if self.themes.empty:
            return self.themes.copy()
        return self.themes.sort_values("size", ascending=False).reset_index(drop=True)

    def __repr__(self) -> str:
        emb = "none" if self.embeddings is None else f"{self.embeddings.shape[0]}x{self.embeddings.shape[1]}"
        return (
            f"Corpus(documents={len(self.documents)}, segments={len(self.segments)}, "
            f"themes={len(self.themes)}, rejects={len(self.rejects)}, embeddings={emb})"
        )
