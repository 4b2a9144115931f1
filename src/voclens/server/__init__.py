"""The HTTP service: a JSON API under ``/api``, the review UI under ``/``, one DuckDB store.

``voclens serve --store voclens.duckdb`` runs it (``create_app`` builds the ASGI app). The
server is the one process that writes the store while it runs (DuckDB allows a single writer
process): batches go through its background worker and edits through the API; stop the server
before running ``voclens analyze --store`` or ``voclens token add`` on the same file.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error the API reports as ``{"code", "message"}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def create_app(*args, **kwargs):
    """See :func:`voclens.server.app.create_app`."""
    from voclens.server.app import create_app as _create

    return _create(*args, **kwargs)


__all__ = ["ApiError", "create_app"]
