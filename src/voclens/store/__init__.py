"""History store (DuckDB): runs, stable theme ids, human edits, weekly aggregates."""

from voclens.store.edits import read_edits
from voclens.store.stage import IdentityStage
from voclens.store.store import Store, infer_period, iso_week

__all__ = ["Store", "IdentityStage", "read_edits", "infer_period", "iso_week"]
