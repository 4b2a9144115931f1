"""``voclens.analyze``: files (or texts) in, an analysed ``Corpus`` out, outputs written on request.

The CLI and the HTTP layer call this and nothing deeper, so every entry point runs the same
pipeline with the same settings.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.engine import run_pipeline
from voclens.errors import InputError
from voclens.pipeline import Pipeline, ProgressFn, RunContext, peak_rss_mib


def default_pipeline(identity=None, prior=None) -> Pipeline:
    """segment -> tokenize (+ classifier features) -> embed -> sentiment -> lenses -> themes -> summarize
    -> lens_summary -> goals; engagement and social_tags (per document) before the themes, social
    (reach-weighted themes, brands, watch terms) at the end."""
    from voclens.embed import EmbedStage
    from voclens.goals import GoalStage
    from voclens.lenses.linear import token_featurizers
    from voclens.lenses.stages import LensStage, SentimentStage, SummarizeStage
    from voclens.lenses.themes import LensSummaryStage
    from voclens.social.dedup_stage import DedupStage
    from voclens.social.engagement import EngagementStage
    from voclens.social.stages import SocialSummaryStage, SocialTagStage
    from voclens.text.stages import Segmenter, Tokenizer
    from voclens.themes import ThemeStage

    features, ngrams, prepare = token_featurizers()
    return Pipeline([
        Segmenter(), Tokenizer(features, ngrams, prepare), EmbedStage(), SentimentStage(), LensStage(),
        EngagementStage(), SocialTagStage(), DedupStage(), ThemeStage(prior=prior),
        *([identity] if identity is not None else []), SummarizeStage(),
        LensSummaryStage(), GoalStage(), SocialSummaryStage(),
    ])


def analyze(
    inputs: Corpus | Iterable[str | Path] | str | Path,
    *,
    out: str | Path | None = None,
    settings: Settings | None = None,
    config: str | Path | None = None,
    pipeline: Pipeline | None = None,
    progress: ProgressFn | None = None,
    store: str | Path | None = None,
    period: str | None = None,
    edits: str | Path | None = None,
    **overrides: Any,
) -> Corpus:
    """Analyse feedback files (CSV/TSV/JSONL/JSON/XLSX/Parquet/TXT) or a prepared ``Corpus``.

    ``overrides`` are dotted settings (``**{"themes.n_themes": 8}``) or their short names
    (``n_themes=8``). With ``out``, the tables, report.html and manifest.json are written there.
    With ``store`` (a DuckDB file), the run gets stable theme ids from the store's registry,
    applies the stored human edits (and those in the ``edits`` file), replaces ``period`` (the
    ISO week of the data when omitted) in the store, and computes week-over-week changes and
    spike alerts from the stored history.
    """
    started = datetime.now(timezone.utc).astimezone()
    t0 = time.perf_counter()
    settings = settings or Settings.load(config, _expand(overrides))
    paths: list[str] = []
    if isinstance(inputs, Corpus):
        corpus = inputs
    else:
        from voclens.ingest import load_corpus

        paths = [str(inputs)] if isinstance(inputs, (str, Path)) else [str(p) for p in inputs]
        if not paths:
            raise InputError("No input files given. Pass one or more CSV/TSV/JSONL/JSON/XLSX/Parquet/TXT files.")
        t_in = time.perf_counter()
        corpus = load_corpus(paths, settings.ingest)
        corpus.meta.setdefault("timings", {})["ingest"] = round(time.perf_counter() - t_in, 4)
        corpus.meta.setdefault("peak_rss_mib", {})["ingest"] = peak_rss_mib()
    ctx = RunContext(settings=settings, progress=progress)
    if store is None:
        corpus = run_pipeline(pipeline or default_pipeline(), corpus, ctx)
    else:
        corpus = _run_with_store(corpus, ctx, pipeline, store, period, edits, paths, started, out)
    if store is None and corpus.meta.get("watch_alerts"):  # alert terms need no history to fire
        corpus.meta["alerts"], corpus.meta["alerts_source"] = corpus.meta["watch_alerts"], "watchlist"
        if settings.alerts.webhook:
            from voclens.trends import send_webhook

            corpus.meta["webhook_status"] = send_webhook(settings.alerts.webhook, corpus.meta["alerts"])
    corpus.meta["settings"] = settings.to_dict()
    if out is not None:
        from voclens.outputs import write_outputs

        t_out = time.perf_counter()
        corpus.meta["timings"]["analysis_total"] = round(t_out - t0, 4)

        corpus.meta["manifest"] = write_outputs(corpus, out, settings, paths, started)
        corpus.meta["timings"]["write"] = round(time.perf_counter() - t_out, 4)
        corpus.meta.setdefault("peak_rss_mib", {})["write"] = peak_rss_mib()
    corpus.meta.setdefault("timings", {})["total"] = round(time.perf_counter() - t0, 4)
    return corpus


def _run_with_store(corpus: Corpus, ctx: RunContext, pipeline, store, period, edits, paths, started, out=None) -> Corpus:
    from voclens.outputs import build_manifest
    from voclens.store import IdentityStage, Store, infer_period, read_edits
    from voclens.trends import changes, detect_spikes, send_webhook
    from voclens.social.history import social_history

    settings = ctx.settings
    with Store(store) as st:
        known = st.edits()
        new_edits = [e for e in (read_edits(edits) if edits else []) if e not in known]
        period = period or infer_period(corpus.documents["date"])
        registry = st.registry()
        identity = IdentityStage(registry, known + new_edits, period, st.reference())
        live = registry[(registry["status"] == "active") & registry["parent"].isna()] if len(registry) else None
        corpus.meta["history_weekly"] = st.weekly()
        corpus = run_pipeline(pipeline or default_pipeline(identity=identity, prior=live), corpus, ctx)
        run_id = f"{period}@{started.strftime('%Y%m%dT%H%M%S')}"
        manifest = build_manifest(corpus, settings, paths, started, outputs=[])
        if out is not None:  # where this run's report will be: the server's GET /api/report serves it
            manifest["report"] = str((Path(out) / "report.html").resolve())
        st.write_run(corpus, period, run_id, manifest, corpus.meta["registry"], new_edits)
        weekly = st.weekly()
        a = settings.alerts
        alerts = detect_spikes(weekly, sensitivity=a.sensitivity, baseline_weeks=a.baseline_weeks)
        alerts = social_history(st, corpus, settings) + alerts  # watch terms against the stored weeks; brand moves
        st.write_alerts(period, alerts)
        corpus.meta.update({
            "store": {"path": str(store), "period": period, "run_id": run_id, "edits_added": len(new_edits),
                      "periods": int(len(st.periods()))},
            "changes": changes(weekly).to_dict("records"), "alerts": alerts, "history_weekly": weekly,
        })
    if settings.alerts.webhook and alerts:
        corpus.meta["store"]["webhook_status"] = send_webhook(settings.alerts.webhook, alerts)
    return corpus


_SHORT = {
    "n_themes": "themes.n_themes", "seed": "themes.seed", "embedder": "embed.embedder", "mask_pii": "text.mask_pii",
    "text_column": "ingest.text_column", "id_column": "ingest.id_column", "date_column": "ingest.date_column",
    "rating_column": "ingest.rating_column", "channel_column": "ingest.channel_column", "channel": "ingest.channel",
    "encoding": "ingest.encoding", "sentiment_model": "sentiment.model", "sensitivity": "alerts.sensitivity",
    "webhook": "alerts.webhook",
}


def _expand(overrides: dict[str, Any]) -> dict[str, Any]:
    return {(k if "." in k else _SHORT.get(k, k)): v for k, v in overrides.items()}
