"""The self-contained HTML report (inline CSS and SVG charts, no external resources)."""

from voclens.report.html import render_report

__all__ = ["render_report"]
