"""voclens: Japanese customer feedback -> themes, sentiment, and a report that says what changed.

Public API: ``analyze``, ``Corpus``, ``Pipeline``, ``Settings`` and the error classes.
"""

from voclens.analyze import analyze, default_pipeline
from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.errors import (
    ColumnNotFoundError,
    ConfigError,
    InputError,
    MissingDependencyError,
    ModelError,
    NotFittedError,
    StageContractError,
    VoclensError,
)
from voclens.pipeline import Pipeline, RunContext, Stage

__version__ = "0.1.0"

__all__ = [
    "analyze",
    "default_pipeline",
    "Corpus",
    "Pipeline",
    "RunContext",
    "Stage",
    "Settings",
    "VoclensError",
    "ConfigError",
    "InputError",
    "ColumnNotFoundError",
    "MissingDependencyError",
    "ModelError",
    "StageContractError",
    "NotFittedError",
    "__version__",
]
