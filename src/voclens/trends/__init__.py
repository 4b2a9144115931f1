"""Trends over weeks (week-over-week change, emerging and fading themes) and spike alerts."""

from voclens.trends.alerts import detect_spikes, send_webhook, slack_payload
from voclens.trends.weekly import changes, history_table, proxy_series

__all__ = ["changes", "history_table", "proxy_series", "detect_spikes", "send_webhook", "slack_payload"]
