"""Command line: a thin layer over ``voclens.analyze`` (it parses flags, shows progress, prints a summary).

Only ``VoclensError`` is caught: its message already says the cause and the fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voclens.config import CHANNELS
from voclens.errors import VoclensError

# flag -> dotted setting; the TOML file uses the same keys
FLAG_SETTINGS = {
    "text_column": "ingest.text_column", "id_column": "ingest.id_column", "date_column": "ingest.date_column",
    "rating_column": "ingest.rating_column", "channel_column": "ingest.channel_column", "channel": "ingest.channel",
    "encoding": "ingest.encoding", "themes": "themes.n_themes", "seed": "themes.seed", "embedder": "embed.embedder",
    "sentiment_model": "sentiment.model", "formats": "output.formats",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voclens", description="Japanese customer feedback -> themes, sentiment and a report.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="analyse feedback files and write tables, report.html and manifest.json")
    a.add_argument("files", nargs="+", help="CSV, TSV, JSONL, JSON, XLSX, Parquet or TXT files")
    a.add_argument("--out", "-o", required=True, help="output folder")
    a.add_argument("--config", help="settings file (TOML); flags override it")
    a.add_argument("--text-column", help="column holding the text (found by name when omitted)")
    a.add_argument("--id-column")
    a.add_argument("--date-column")
    a.add_argument("--rating-column")
    a.add_argument("--channel-column")
    a.add_argument("--channel", choices=CHANNELS, help="channel for rows without one")
    a.add_argument("--encoding", help="force an encoding (detected by default: UTF-8, UTF-8 BOM, CP932, UTF-16)")
    a.add_argument("--themes", type=int, help="number of themes (chosen automatically when omitted)")
    a.add_argument("--seed", type=int, help="random seed (same input and seed give identical themes)")
    a.add_argument("--embedder", help="'use' (default, offline) or 'st:MODEL_NAME_OR_PATH'")
    a.add_argument("--sentiment-model", help="folder of a sentiment model (default: the shipped one)")
    a.add_argument("--formats", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], help="csv,parquet,html")
    a.add_argument("--keep-pii", action="store_true", help="do NOT mask personal data in the outputs")
    a.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


class _Bars:
    """tqdm bars, one per stage, created when a stage first reports."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=f"{stage:>10}", unit="it", leave=False, file=sys.stderr)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "analyze":
        return _analyze(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _analyze(args: argparse.Namespace) -> int:
    from voclens.analyze import analyze
    from voclens.config import Settings

    overrides = {key: getattr(args, flag) for flag, key in FLAG_SETTINGS.items() if getattr(args, flag) is not None}
    if args.keep_pii:
        overrides["text.mask_pii"] = False
    bars = _Bars(not args.no_progress)
    try:
        settings = Settings.load(args.config, overrides)
        corpus = analyze(args.files, out=args.out, settings=settings, progress=bars)
    except VoclensError as exc:
        bars.close()
        print(f"voclens: error: {exc}", file=sys.stderr)
        return 2
    bars.close()
    m = corpus.meta.get("manifest", {}).get("counts", {})
    out = Path(args.out)
    print(
        f"{m.get('rows_in', 0)} rows read: {m.get('rows_analysed', 0)} analysed, {m.get('rows_rejected', 0)} rejected "
        f"(see {out / 'rejects.csv'}); {m.get('segments', 0)} segments in {m.get('themes', 0)} themes, "
        f"{(m.get('unassigned_share') or 0):.1%} unassigned."
    )
    print(f"Report: {out / 'report.html'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
