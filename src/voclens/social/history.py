"""Social listening in the history store: brand and watch-term rows per week, read back for trends.

A run writes its ``brand_weekly`` and ``watch_weekly`` rows with its other period tables (one
transaction; the newest run covering a week defines that week, as for ``theme_weekly``). After
the write, watch-term alerts and brand week-over-week changes are computed from every stored
week, so 「異物混入」 first seen this week is new against the whole history, not only this file.
"""

from __future__ import annotations

import pandas as pd

from voclens.social.brands import brand_changes
from voclens.social.watchlist import watch_alerts

TABLES = ("brand_weekly", "watch_weekly")


def social_frames(corpus, period: str) -> dict[str, pd.DataFrame]:
    """This run's rows for the store's social tables (empty frames when the stages did not run)."""
    out = {}
    for name in TABLES:
        frame = corpus.meta.get(name)
        out[name] = frame.assign(period=period) if isinstance(frame, pd.DataFrame) and len(frame) else pd.DataFrame()
    return out


def social_history(st, corpus, settings) -> list[dict]:
    """Watch-term alerts against the stored weeks (returned, for the run's alert list) and brand
    changes over the stored weeks (into ``corpus.meta``)."""
    if "watch_alerts" not in corpus.meta:  # a custom pipeline without the social stage
        return []
    from voclens.social.stages import watchlist_of
    from voclens.pipeline import RunContext

    watch = watchlist_of(RunContext(settings=settings))
    weekly = st.watch_weekly()
    theme_weekly = st.weekly()
    totals = theme_weekly.groupby("week")["total_segments"].max() if len(theme_weekly) else None
    a = settings.alerts
    hits = pd.DataFrame(corpus.meta.get("watchlist", []))
    alerts = watch_alerts(weekly, watch, hits, sensitivity=a.sensitivity, baseline_weeks=a.baseline_weeks, totals=totals)
    corpus.meta["watch_alerts"] = alerts
    bw = st.brand_weekly()
    corpus.meta["brand_weekly"] = bw
    corpus.meta["brand_changes"] = brand_changes(bw).to_dict("records")
    return alerts
