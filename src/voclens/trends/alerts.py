"""Spike alerts: a theme's complaints jump against its baseline — the crisis case of seed 003.

For the alert week, each theme's negative volume x (negative segments, mixed counting half) is
compared with what its baseline rate predicts: expected = (its negative segments in the previous
``baseline_weeks`` weeks / all segments in those weeks) × all segments this week, so a busy week
alone raises nothing. Alert when P(X ≥ x) under Poisson(max(expected, 0.5)) is below the
sensitivity's α, x reaches its minimum count and x ≥ 1.5 × expected. A second rule watches the
negative share inside the theme (two-proportion test against the baseline, +15 points at least);
a third flags a theme new this week that is already mostly negative.

Sensitivity: high α = 0.05, at least 3 segments; medium α = 0.01, 5; low α = 0.001, 10. No alert
is raised before the baseline holds at least MIN_BASELINE_WEEKS weeks.
Alerts are JSON and can be posted to a webhook as a Slack-compatible payload ({"text", "blocks"}).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pandas as pd
from scipy.stats import poisson

from voclens.errors import ConfigError, DeliveryError
from voclens.trends.weekly import proportion_test, week_index

SENSITIVITY = {"high": (0.05, 3), "medium": (0.01, 5), "low": (0.001, 10)}
SHARE_JUMP = 0.15
RATIO = 1.5
MIN_BASELINE_WEEKS = 2  # no baseline, no alert: the first weeks of a store only build it


def detect_spikes(weekly: pd.DataFrame, week: str | None = None, sensitivity: str = "medium", baseline_weeks: int = 8) -> list[dict]:
    if sensitivity not in SENSITIVITY:
        raise ConfigError(f"Unknown sensitivity {sensitivity!r}; use one of {', '.join(SENSITIVITY)}.")
    if weekly is None or weekly.empty:
        return []
    alpha, min_count = SENSITIVITY[sensitivity]
    idx = week_index(weekly["week"])
    if week is not None and week in idx:
        shift = idx[week]
        idx = {k: v - shift for k, v in idx.items()}
    this = next((k for k, v in idx.items() if v == 0), None)
    base = [k for k, v in idx.items() if 1 <= v <= baseline_weeks]
    if this is None or len(base) < MIN_BASELINE_WEEKS:
        return []
    totals = weekly.groupby("week")["total_segments"].max()
    t_this, t_base = float(totals.get(this, 0)), float(totals.reindex(base).sum())
    alerts = []
    for uid, g in weekly[weekly["theme_uid"] != "unassigned"].groupby("theme_uid"):
        g = g.set_index("week")
        x = float(g["n_negative"].get(this, 0.0))
        n = float(g["n_segments"].get(this, 0.0))
        neg_b = float(g["n_negative"].reindex(base).fillna(0).sum())
        n_b = float(g["n_segments"].reindex(base).fillna(0).sum())
        label = str(g["label"].iloc[-1])
        if x < min_count:
            continue
        if n_b == 0 and base:  # a theme nobody mentioned before, already mostly negative
            if x >= 2 * min_count and n and x / n >= 0.5:
                alerts.append(_alert(this, uid, label, "new_negative_theme", sensitivity, x, 0.0, 0.0,
                                     f"新しいテーマ「{label}」が今週 {x:.0f} 件の否定的な声とともに現れました"))
            continue
        expected = (neg_b / t_base) * t_this if t_base else 0.0
        p = float(poisson.sf(x - 1, max(expected, 0.5)))
        if p < alpha and x >= RATIO * expected:
            alerts.append(_alert(this, uid, label, "negative_volume", sensitivity, x, expected, p,
                                 f"「{label}」の否定的な声が急増: 今週 {x:.0f} 件（平常時の予測 {expected:.1f} 件, p={p:.2g}）"))
            continue
        if n_b and n:
            share, share_b = x / n, neg_b / n_b
            p_s = proportion_test(x, n, neg_b, n_b)
            if p_s < alpha and share - share_b >= SHARE_JUMP:
                alerts.append(_alert(this, uid, label, "negative_share", sensitivity, share, share_b, p_s,
                                     f"「{label}」で否定的な声の割合が上昇: {share:.0%}（平常時 {share_b:.0%}, p={p_s:.2g}）"))
    return sorted(alerts, key=lambda a: a["p_value"])


def _alert(week, uid, label, kind, sensitivity, observed, expected, p, message) -> dict:
    return {
        "week": week, "theme_uid": uid, "label": label, "kind": kind, "sensitivity": sensitivity,
        "observed": round(float(observed), 4), "expected": round(float(expected), 4), "p_value": float(p),
        "message": message, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def slack_payload(alerts: list[dict], title: str = "voclens スパイク警告") -> dict:
    """A Slack-compatible message: a plain ``text`` fallback and section ``blocks``."""
    lines = [f"• {a['message']} ({a['theme_uid']}, {a['week']})" for a in alerts]
    text = f"{title}: {len(alerts)} 件\n" + "\n".join(lines)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": f"{title}: {len(alerts)} 件"}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{a['label']}* — {a['message']}"}} for a in alerts[:20]]
    return {"text": text, "blocks": blocks}


def send_webhook(url: str, alerts: list[dict], timeout: float = 10.0) -> int:
    """POST the alerts as JSON; returns the HTTP status. Raises DeliveryError on failure."""
    body = json.dumps(slack_payload(alerts), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"Could not post {len(alerts)} alert(s) to {url} ({exc}). Check the URL and the network; "
                            "the alerts are still in alerts.json and in the store.") from exc
