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
    "sentiment_model": "sentiment.model", "formats": "output.formats", "sensitivity": "alerts.sensitivity",
    "webhook": "alerts.webhook", "baseline_weeks": "alerts.baseline_weeks",
    "watchlist": "social.watchlist", "default_terms": "social.default_terms", "engagement_column": "ingest.engagement_columns",
    "mentions": "text.mentions", "urls": "text.urls",
    "engine": "engine.name", "chunk_docs": "engine.chunk_docs", "scheduler": "engine.scheduler", "workers": "engine.workers",
    "work_dir": "engine.work_dir", "dedup": "dedup.enabled",
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
    a.add_argument("--keep-pii", action="store_true", help="do NOT mask personal data in the outputs (or the store)")
    a.add_argument("--no-progress", action="store_true", help="no progress bars")
    a.add_argument("--store", help="history store (DuckDB file): stable theme ids, trends and alerts across runs")
    a.add_argument("--period", help="period this run replaces in the store, e.g. 2026-W47 (default: the ISO week of the data)")
    a.add_argument("--edits", help="TOML file of theme edits (rename, pin, merge, split, move), kept in the store")
    a.add_argument("--watchlist", help="TOML file of brands ([[brand]]: share of voice) and alert terms ([[term]])")
    a.add_argument("--no-default-terms", dest="default_terms", action="store_false", default=None,
                   help="use only the watchlist's alert terms, not the shipped ones (リコール, 異物混入, 炎上 ...)")
    a.add_argument("--engagement-column", action="append", metavar="FIELD=COLUMN",
                   help="engagement count column (likes, reposts, replies, quotes, followers, views), e.g. likes=お気に入り; repeatable")
    a.add_argument("--mentions", choices=("mask", "keep"), help="@mentions in shown texts: keep (default) or mask as [MENTION]")
    a.add_argument("--urls", choices=("mask", "keep"), help="URLs in shown texts: keep (default) or mask")
    a.add_argument("--engine", choices=("auto", "memory", "stream", "dask"),
                   help="run the per-document stages in memory, streamed in chunks, or on Dask (default auto: stream "
                        "above --chunk-docs documents)")
    a.add_argument("--chunk-docs", type=int, help="documents per chunk for the stream and dask engines (default 5000)")
    a.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    a.add_argument("--workers", type=int, help="workers of the local Dask cluster (default: one per core)")
    a.add_argument("--work-dir", help="keep the memory-mapped embeddings in this folder (default: a temporary file)")
    a.add_argument("--no-dedup", dest="dedup", action="store_false", default=None,
                   help="count duplicate posts (reposts, copies, templates) as separate voices in theme discovery")
    _alert_flags(a)

    h = sub.add_parser("history", help="themes over weeks, from a history store")
    h.add_argument("store")
    h.add_argument("--weeks", type=int, default=12, help="how many recent weeks (default 12)")
    h.add_argument("--changes", action="store_true", help="show week-over-week changes with significance instead")

    c = sub.add_parser("code", help="code interview transcripts with a codebook; REFI-QDA project, tables and report")
    c.add_argument("paths", nargs="+", help="transcript files or folders (.txt .md .vtt .srt .docx .csv)")
    c.add_argument("--codebook", required=True, help="alt-model, job-map, job-types, journey-stages, or a .yaml/.json/.qdc file")
    c.add_argument("--out", "-o", required=True, help="output folder")
    c.add_argument("--rules", help="KH Coder coding-rule file (default: the rules in the codebook)")
    c.add_argument("--threshold", type=float, help="similarity threshold for similarity coding (default 0.45)")
    c.add_argument("--no-rules", action="store_true", help="no rule-based coding")
    c.add_argument("--no-similarity", action="store_true", help="no similarity-based coding")
    c.add_argument("--inductive", action="store_true", help="also suggest new codes from themes")
    c.add_argument("--include-interviewer", action="store_true", help="code interviewer turns too (context only by default)")
    c.add_argument("--interviewer", action="append", help="a speaker label to treat as interviewer (repeatable)")
    c.add_argument("--human", action="append", default=[], help="human codings to compare (CSV or .qdpx; repeatable)")
    c.add_argument("--keep-pii", action="store_true", help="do NOT mask personal data in transcripts and outputs")

    k = sub.add_parser("kwic", help="keyword in context in transcripts (a word, or a code's codings)")
    k.add_argument("paths", nargs="+")
    k.add_argument("--word", help="word (matched by lemma: 使う finds 使った)")
    k.add_argument("--width", type=int, default=20)
    k.add_argument("--csv", help="write the lines to this CSV")

    al = sub.add_parser("alerts", help="spike alerts for the latest week (or --week) of a history store")
    al.add_argument("store")
    al.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the latest in the store)")
    al.add_argument("--json", help="also write the alerts to this JSON file")
    _alert_flags(al)
    _server_parsers(sub)
    return p


def _server_parsers(sub) -> None:
    sv = sub.add_parser("serve", help="HTTP API and review UI over a history store (the store's one writer while it runs)")
    sv.add_argument("--store", required=True, help="history store (DuckDB file; created when missing)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--data-dir", help="uploads, reports and tables of batches (default: <store>-data beside the store)")
    sv.add_argument("--config", help="analysis settings (TOML) for batches, search and split")
    sv.add_argument("--max-upload-mb", type=float, default=50, help="largest upload per batch in MB (default 50)")
    sv.add_argument("--max-rows", type=int, default=200_000, help="most rows per batch (default 200000)")
    t = sub.add_parser("token", help="API tokens: add (printed once), list, revoke (stop the server first)")
    t.add_argument("action", choices=("add", "list", "revoke"))
    t.add_argument("name", nargs="?", help="who or what uses the token (add, revoke)")
    t.add_argument("--role", choices=("viewer", "editor"), default="viewer", help="viewer (read) or editor (also batches, edits)")
    t.add_argument("--store", required=True)


def _alert_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sensitivity", choices=("high", "medium", "low"), help="spike alert sensitivity (default medium)")
    p.add_argument("--baseline-weeks", type=int, help="weeks before the alert week that form the baseline (default 8)")
    p.add_argument("--webhook", help="post alerts to this URL (Slack-compatible JSON)")


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
    handlers = {"analyze": _analyze, "history": _history, "alerts": _alerts, "code": _code, "kwic": _kwic,
                "serve": _serve, "token": _token}
    try:
        return handlers[args.command](args)
    except VoclensError as exc:
        print(f"voclens: error: {exc}", file=sys.stderr)
        return 2


def _analyze(args: argparse.Namespace) -> int:
    from voclens.analyze import analyze
    from voclens.config import Settings

    overrides = {key: getattr(args, flag) for flag, key in FLAG_SETTINGS.items() if getattr(args, flag) is not None}
    if args.keep_pii:
        overrides["text.mask_pii"] = False
    bars = _Bars(not args.no_progress)
    try:
        settings = Settings.load(args.config, overrides)
        corpus = analyze(args.files, out=args.out, settings=settings, progress=bars, store=args.store,
                         period=args.period, edits=args.edits)
    finally:
        bars.close()
    m = corpus.meta.get("manifest", {}).get("counts", {})
    out = Path(args.out)
    print(
        f"{m.get('rows_in', 0)} rows read: {m.get('rows_analysed', 0)} analysed, {m.get('rows_rejected', 0)} rejected "
        f"(see {out / 'rejects.csv'}); {m.get('segments', 0)} segments in {m.get('themes', 0)} themes, "
        f"{(m.get('unassigned_share') or 0):.1%} unassigned."
    )
    print(f"Report: {out / 'report.html'}")
    if "store" in corpus.meta:
        st, ident = corpus.meta["store"], corpus.meta.get("identity", {})
        print(f"Store {st['path']}: period {st['period']} written ({st['periods']} period(s) in store); themes: "
              f"{ident.get('continued', 0) + ident.get('matched', 0)} kept their id, {ident.get('new', 0)} new; "
              f"{len(corpus.meta.get('alerts', []))} alert(s) (see {out / 'alerts.json'}).")
        for a in corpus.meta.get("alerts", []):
            print(f"  ! {a['message']}")
    return 0


def _history(args: argparse.Namespace) -> int:
    import pandas as pd

    from voclens.store import Store
    from voclens.trends import changes, history_table

    with Store(args.store, read_only=True) as st:
        weekly = st.weekly()
    if weekly.empty:
        print("The store holds no dated data yet.")
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 24):
        if args.changes:
            ch = changes(weekly)
            print(ch[["theme_uid", "label", "status", "n", "n_prev", "arrow", "p_share", "net", "net_prev", "arrow_net"]].to_string(index=False))
        else:
            print(history_table(weekly, args.weeks).to_string())
    return 0


def _alerts(args: argparse.Namespace) -> int:
    import json

    from voclens.config import Settings
    from voclens.store import Store
    from voclens.trends import detect_spikes, send_webhook

    s = Settings.load(None, {k: getattr(args, f) for f, k in FLAG_SETTINGS.items() if hasattr(args, f) and getattr(args, f) is not None})
    with Store(args.store, read_only=True) as st:
        alerts = detect_spikes(st.weekly(), args.week, s.alerts.sensitivity, s.alerts.baseline_weeks)
    for a in alerts:
        print(f"! {a['week']} {a['theme_uid']} {a['message']}")
    if not alerts:
        print("No alerts.")
    if args.json:
        Path(args.json).write_text(json.dumps(alerts, ensure_ascii=False, indent=2), encoding="utf-8")
    if s.alerts.webhook and alerts:
        status = send_webhook(s.alerts.webhook, alerts)
        print(f"Posted {len(alerts)} alert(s) to the webhook (HTTP {status}).")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def _code(args: argparse.Namespace) -> int:
    from voclens.interviews.coding import SIMILARITY_THRESHOLD
    from voclens.interviews.project import code_project, write_project

    project = code_project(
        args.paths, args.codebook, rules=args.rules, threshold=args.threshold or SIMILARITY_THRESHOLD,
        use_rules=not args.no_rules, use_similarity=not args.no_similarity, inductive=args.inductive,
        include_interviewer=args.include_interviewer, human=args.human, mask_pii=not args.keep_pii,
        interviewer_labels=args.interviewer,
    )
    manifest = write_project(project, args.out)
    c = manifest["counts"]
    print(f"{c['transcripts']} transcripts, {c['turns']} turns, {c['units']} units coded with {manifest['codebook']}: "
          + ", ".join(f"{k} {v}" for k, v in c["codings"].items()))
    if len(project.agreement):
        overall = project.agreement[project.agreement["code"] == "(overall)"]
        for r in overall.itertuples():
            print(f"agreement {r.coder_a} vs {r.coder_b}: {r.percent_agreement:.1%}, kappa {r.cohen_kappa:.3f}, alpha {r.krippendorff_alpha:.3f}")
    print(f"Report: {Path(args.out) / 'report.html'}; REFI-QDA project: {Path(args.out) / 'project.qdpx'}")
    return 0


def _kwic(args: argparse.Namespace) -> int:
    import pandas as pd

    from voclens.interviews.explore import kwic
    from voclens.interviews.readers import read_transcripts

    if not args.word:
        print("voclens: error: give --word WORD", file=sys.stderr)
        return 2
    lines = kwic(read_transcripts(args.paths), args.word, args.width)
    if args.csv:
        lines.to_csv(args.csv, index=False, encoding="utf-8-sig")
    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        for r in lines.itertuples():
            print(f"{r.source}:{r.start:<6d} {r.left:>{args.width}s}【{r.keyword}】{r.right}")
    print(f"{len(lines)} line(s)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from voclens.server.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.store, args.data_dir, config=args.config, max_upload_mb=args.max_upload_mb, max_rows=args.max_rows)
    print(f"voclens: serving {args.store} on http://{args.host}:{args.port}/ (API docs: /docs). "
          "This process is the store's writer until it stops.", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _token(args: argparse.Namespace) -> int:
    from voclens.errors import ConfigError
    from voclens.server import auth
    from voclens.store import Store

    if args.action in ("add", "revoke") and not args.name:
        raise ConfigError(f"voclens token {args.action} needs a NAME, e.g. voclens token {args.action} alice --store {args.store}")
    if args.action != "add" and not Path(args.store).is_file():
        raise ConfigError(f"No history store at {args.store}. Check the path given to --store.")
    with Store(args.store) as st:
        if args.action == "add":
            token = auth.add_token(st.con, args.name, args.role)
            print(f"Token for {args.name} ({args.role}); it is shown only now, keep it secret:", file=sys.stderr)
            print(token)
        elif args.action == "revoke":
            n = auth.revoke_token(st.con, args.name)
            print(f"Revoked {n} token(s) named {args.name}.")
        else:
            tokens = auth.list_tokens(st.con)
            for r in tokens.itertuples():
                state = "active" if r.revoked is None or r.revoked != r.revoked else f"revoked {r.revoked:%Y-%m-%d %H:%M}"
                print(f"{r.name}\t{r.role}\tcreated {r.created:%Y-%m-%d %H:%M}\t{state}")
            if tokens.empty:
                print("No tokens. Add one with: voclens token add NAME --role viewer|editor --store STORE")
    return 0
