"""One exception tree for voclens. Every message names the cause and the fix.

    VoclensError
    ├── ConfigError            settings that cannot work (bad value, unknown key)
    ├── InputError             an input file we cannot use
    │   └── ColumnNotFoundError    no text column; lists the columns found
    ├── MissingDependencyError an optional extra is not installed; gives the pip command
    ├── ModelError             a model folder is missing or broken
    ├── StageContractError     a stage broke its declared contract (runner check)
    ├── NotFittedError         an estimator used before ``fit``
    ├── DeliveryError          an alert could not be posted to its webhook
    └── EngineError            the distributed engine cannot reach its cluster or a task failed

Callers (CLI, HTTP) catch ``VoclensError`` only; anything else is a bug.
"""

from __future__ import annotations


class VoclensError(Exception):
    """Base class: catch this to handle every voclens failure."""


class ConfigError(VoclensError, ValueError):
    """A setting has a value that cannot work."""


class InputError(VoclensError):
    """An input file cannot be read or used."""


class ColumnNotFoundError(InputError, KeyError):
    """The text column (or a column named by a flag) is not in the file."""

    def __init__(self, path: str, wanted: str, found: list[str], flag: str = "--text-column"):
        self.path, self.wanted, self.found = path, wanted, list(found)
        super().__init__(
            f"{path}: no {wanted} column. Columns found: {', '.join(map(str, found)) or '(none)'}. "
            f"Name the column with {flag} NAME."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class MissingDependencyError(VoclensError, ImportError):
    """An optional dependency is needed for what was asked."""

    def __init__(self, what: str, install: str):
        self.install = install
        super().__init__(f"{what} needs an optional dependency that is not installed. Install it with: {install}")


class ModelError(VoclensError):
    """A model folder is missing, incomplete or from an incompatible version."""


class StageContractError(VoclensError):
    """A pipeline stage did not read or write what it declared."""


class NotFittedError(VoclensError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class DeliveryError(VoclensError):
    """An alert could not be delivered to its webhook."""


class EngineError(VoclensError):
    """The Dask cluster cannot be reached, or a chunk failed on a worker."""


__all__ = [
    "VoclensError",
    "EngineError",
    "ConfigError",
    "InputError",
    "ColumnNotFoundError",
    "MissingDependencyError",
    "ModelError",
    "StageContractError",
    "NotFittedError",
    "DeliveryError",
]
