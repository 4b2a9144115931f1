"""Inline SVG charts for the HTML report, built as strings (no JS, no chart library).

Every chart is a well-formed XML ``<svg>`` element with ``role="img"``, a ``<title>`` and a
``<desc>``, a ``viewBox`` so that it scales to the card width, and text sized for a ~960px page.
Long (Japanese) labels are cut with "…" using an estimate of the rendered width; the full label
stays available as a ``<title>`` tooltip. All text from the data goes through :func:`esc`.

Colours follow the Okabe–Ito palette (colour-blind safe): negative = vermillion, neutral = grey,
positive = blue, mixed = reddish purple.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from html import escape
from typing import Iterable, Sequence

# Okabe–Ito based sentiment colours.
NEG = "#D55E00"
NEU = "#BBBBBB"
POS = "#0072B2"
MIX = "#CC79A7"
SENTIMENT_COLORS = {"negative": NEG, "neutral": NEU, "positive": POS, "mixed": MIX}
SENTIMENT_JA = {"negative": "ネガティブ", "neutral": "ニュートラル", "positive": "ポジティブ", "mixed": "混在"}

# Categorical colours for themes over time (Okabe–Ito, yellow replaced by a darker olive).
SERIES_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C8C2E", "#444444"]

INK = "#1F2933"
MUTED = "#616E7C"
GRID = "#E4E7EB"
BAR = "#486581"

WIDTH = 860  # viewBox width; the page content is at most ~900px wide, so 1 unit ≈ 1px
FONT = 12


def esc(value: object) -> str:
    """Escape for HTML text and attributes (also valid XML)."""
    return escape("" if value is None else str(value), quote=True)


# -- text measurement ---------------------------------------------------------------------------
def text_width(text: str, size: float = FONT) -> float:
    """Approximate rendered width of ``text`` at ``size`` px: CJK full width, Latin ~0.55em."""
    w = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            w += 1.0
        elif ch in " .,:;|!'il":
            w += 0.32
        elif ch.isupper() or ch.isdigit():
            w += 0.64
        else:
            w += 0.56
    return w * size


def truncate(text: str, max_px: float, size: float = FONT) -> str:
    """Cut ``text`` with "…" so that it fits in ``max_px``."""
    text = " ".join(str(text).split())
    if text_width(text, size) <= max_px:
        return text
    ell = text_width("…", size)
    out, w = [], 0.0
    for ch in text:
        cw = text_width(ch, size)
        if w + cw + ell > max_px:
            break
        out.append(ch)
        w += cw
    return "".join(out).rstrip() + "…"


# -- number helpers -----------------------------------------------------------------------------
def nice_ticks(vmax: float, n: int = 5) -> list[float]:
    """0..>=vmax in round steps (1, 2, 2.5, 5 × 10^k)."""
    if not vmax or vmax <= 0 or not math.isfinite(vmax):
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if raw <= step:
            break
    top = math.ceil(vmax / step - 1e-9) * step
    count = int(round(top / step))
    return [round(i * step, 10) for i in range(count + 1)]


def fmt_num(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.1f}"


def fmt_pct(v: float, digits: int = 0) -> str:
    return f"{v * 100:.{digits}f}%"


def fmt_signed(v: float) -> str:
    return f"{v:+.2f}"


def week_label(d: datetime) -> str:
    return f"{d.month}/{d.day}"


def week_full(d: datetime) -> str:
    iso = d.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}（{d.year}/{d.month:02d}/{d.day:02d}〜）"


# -- svg scaffolding ----------------------------------------------------------------------------
def _svg(chart_id: str, width: float, height: float, title: str, desc: str, body: Iterable[str]) -> str:
    return (
        f'<svg class="chart-svg" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" font-size="{FONT}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-t">{esc(title)}</title><desc id="{chart_id}-d">{esc(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, s: str, *, anchor: str = "start", fill: str = INK, size: float | None = None,
          weight: str | None = None, cls: str | None = None) -> str:
    extra = ""
    if size:
        extra += f' font-size="{size:g}"'
    if weight:
        extra += f' font-weight="{weight}"'
    if cls:
        extra += f' class="{cls}"'
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>{esc(s)}</text>'


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for label, color in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" fill="{color}"/>')
        out.append(_text(x + 14, y, label, fill=MUTED))
        x += 14 + text_width(label) + 18
    return out


# -- charts -------------------------------------------------------------------------------------
def hbar_chart(
    items: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    axis_label: str,
    hrefs: Sequence[str | None] | None = None,
    value_labels: Sequence[str] | None = None,
    color: str = BAR,
    colors: Sequence[str] | None = None,
    width: float = WIDTH,
) -> str:
    """Horizontal bars with labels on the left and values at the bar ends (``colors``: one per bar)."""
    bar_h, gap, top = 20, 8, 30
    label_w = min(240.0, max(80.0, max((text_width(str(l)) for l, _ in items), default=80) + 12))
    vmax = max((float(v) for _, v in items), default=0.0)
    vlabels = list(value_labels) if value_labels else [fmt_num(float(v)) for _, v in items]
    value_w = max([40.0] + [text_width(v, 11) + 12 for v in vlabels])
    x0, x1 = label_w, width - value_w
    ticks = nice_ticks(vmax)
    scale = (x1 - x0) / (ticks[-1] or 1)
    height = top + len(items) * (bar_h + gap) + 34
    body: list[str] = []
    # grid + tick labels at the top
    for t in ticks:
        x = x0 + t * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 30}" stroke="{GRID}"/>')
        body.append(_text(x, top - 10, fmt_num(t), anchor="middle", fill=MUTED, size=11))
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_h + gap)
        w = max(0.0, float(value) * scale)
        shown = truncate(str(label), label_w - 12)
        vlabel = vlabels[i]
        row = [
            f"<title>{esc(label)}: {esc(vlabel)}</title>",
            _text(x0 - 8, y + bar_h * 0.72, shown, anchor="end"),
            f'<rect x="{x0:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" rx="3" '
            f'fill="{colors[i] if colors and i < len(colors) else color}"/>',
            _text(x0 + w + 6, y + bar_h * 0.72, vlabel, fill=INK, size=11),
        ]
        href = hrefs[i] if hrefs else None
        if href:
            body.append(f'<a href="{esc(href)}"><g class="bar-row">{"".join(row)}</g></a>')
        else:
            body.append(f'<g class="bar-row">{"".join(row)}</g>')
    body.append(f'<line x1="{x0:.1f}" y1="{top - 4}" x2="{x0:.1f}" y2="{height - 30}" stroke="{MUTED}"/>')
    body.append(_text((x0 + x1) / 2, height - 8, axis_label, anchor="middle", fill=MUTED, size=11))
    return _svg(chart_id, width, height, title, desc, body)


def sentiment_stack_chart(
    rows: Sequence[dict],
    *,
    chart_id: str,
    title: str,
    desc: str,
    width: float = WIDTH,
) -> str:
    """100% stacked bars (negative | neutral | positive) with net sentiment on the right.

    ``rows``: dicts with ``label``, ``negative``, ``neutral``, ``positive`` (shares), ``net``,
    ``n`` and optionally ``href``.
    """
    bar_h, gap, top = 20, 8, 52
    label_w = min(240.0, max(80.0, max((text_width(str(r["label"])) for r in rows), default=80) + 12))
    net_w = 64.0
    x0, x1 = label_w, width - net_w
    span = x1 - x0
    height = top + len(rows) * (bar_h + gap) + 30
    body: list[str] = _legend(
        [("ネガティブ", NEG), ("ニュートラル", NEU), ("ポジティブ", POS)], x0, 16
    )
    body.append(_text(width - 4, 16, "正味 Net", anchor="end", fill=MUTED, size=11))
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        x = x0 + t * span
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 26}" stroke="{GRID}"/>')
        body.append(_text(x, top - 10, fmt_pct(t), anchor="middle", fill=MUTED, size=11))
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts = [("negative", float(r.get("negative", 0) or 0)), ("neutral", float(r.get("neutral", 0) or 0)),
                 ("positive", float(r.get("positive", 0) or 0))]
        total = sum(p for _, p in parts) or 1.0
        tip = " / ".join(f"{SENTIMENT_JA[k]} {fmt_pct(p / total)}" for k, p in parts)
        row = [f"<title>{esc(r['label'])}（{fmt_num(r.get('n', 0))}件）: {tip} / 正味 {fmt_signed(r.get('net', 0))}</title>",
               _text(x0 - 8, y + bar_h * 0.72, truncate(str(r["label"]), label_w - 12), anchor="end")]
        x = x0
        for key, p in parts:
            w = span * p / total
            if w <= 0:
                continue
            row.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{SENTIMENT_COLORS[key]}"/>')
            if w >= 34:
                fill = INK if key == "neutral" else "#FFFFFF"
                row.append(_text(x + w / 2, y + bar_h * 0.72, fmt_pct(p / total), anchor="middle", fill=fill, size=11))
            x += w
        net = float(r.get("net", 0) or 0)
        ncol = NEG if net < -0.05 else (POS if net > 0.05 else MUTED)
        row.append(_text(width - 4, y + bar_h * 0.72, fmt_signed(net), anchor="end", fill=ncol, weight="600"))
        g = f'<g class="bar-row">{"".join(row)}</g>'
        body.append(f'<a href="{esc(r["href"])}">{g}</a>' if r.get("href") else g)
    return _svg(chart_id, width, height, title, desc, body)


def small_multiples(
    weeks: Sequence[datetime],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    hrefs: Sequence[str | None] | None = None,
    width: float = WIDTH,
    cols: int = 2,
) -> str:
    """One small line chart per series on a shared y scale; the panel titles act as the legend."""
    gap_x, gap_y = 28.0, 18.0
    pw = (width - gap_x * (cols - 1)) / cols
    ph = 118.0
    rows = math.ceil(len(series) / cols) or 1
    height = rows * ph + (rows - 1) * gap_y
    vmax = max((max(vals, default=0) for _, vals in series), default=0)
    ticks = nice_ticks(vmax, 2)
    ytop = ticks[-1] or 1
    head, foot = 22.0, 20.0
    left = max(26.0, text_width(fmt_num(ytop), 10) + 8)
    n = len(weeks)
    show_points = n <= 26
    body: list[str] = []
    for i, (label, vals) in enumerate(series):
        col, row = i % cols, i // cols
        ox, oy = col * (pw + gap_x), row * (ph + gap_y)
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        px0, px1 = ox + left, ox + pw - 8
        py0, py1 = oy + head, oy + ph - foot  # top, bottom of the plot area
        def X(j: int) -> float:
            return (px0 + px1) / 2 if n <= 1 else px0 + (px1 - px0) * j / (n - 1)
        def Y(v: float) -> float:
            return py1 - (py1 - py0) * float(v) / ytop
        g: list[str] = []
        total = int(sum(vals))
        g.append(f'<rect x="{ox:.1f}" y="{oy + 5:.1f}" width="10" height="10" rx="2" fill="{color}"/>')
        name = truncate(str(label), pw - 110)
        g.append(f'<text x="{ox + 15:.1f}" y="{oy + 14:.1f}" fill="{INK}" font-weight="600"><title>{esc(label)}</title>{esc(name)}</text>')
        g.append(_text(ox + pw - 8, oy + 14, f"計 {total:,}件", anchor="end", fill=MUTED, size=11))
        for t in ticks:
            y = Y(t)
            g.append(f'<line x1="{px0:.1f}" y1="{y:.1f}" x2="{px1:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            g.append(_text(px0 - 5, y + 4, fmt_num(t), anchor="end", fill=MUTED, size=10))
        if n:
            pts = [(X(j), Y(v)) for j, v in enumerate(vals)]
            if n > 1:
                area = (f"M{pts[0][0]:.1f},{py1:.1f} " + " ".join(f"L{x:.1f},{y:.1f}" for x, y in pts)
                        + f" L{pts[-1][0]:.1f},{py1:.1f} Z")
                g.append(f'<path d="{area}" fill="{color}" fill-opacity="0.12"/>')
                line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                g.append(f'<path d="{line}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>')
            for j, (x, y) in enumerate(pts):
                if show_points or j == n - 1 or n == 1:
                    g.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{color}">'
                             f"<title>{esc(label)} — {esc(week_full(weeks[j]))}: {int(vals[j]):,}件</title></circle>")
            g.append(_text(px0, py1 + 14, week_label(weeks[0]), anchor="start", fill=MUTED, size=10))
            if n > 1:
                g.append(_text(px1, py1 + 14, week_label(weeks[-1]), anchor="end", fill=MUTED, size=10))
        href = hrefs[i] if hrefs else None
        inner = f'<g class="panel">{"".join(g)}</g>'
        body.append(f'<a href="{esc(href)}">{inner}</a>' if href else inner)
    return _svg(chart_id, width, height, title, desc, body)


def net_line_chart(
    weeks: Sequence[datetime],
    net: Sequence[float],
    counts: Sequence[int],
    *,
    chart_id: str,
    title: str,
    desc: str,
    width: float = WIDTH,
) -> str:
    """Weekly net sentiment (line, −1..1 window) over light bars of weekly volume."""
    height = 250.0
    left, right, top, bottom = 46.0, 16.0, 30.0, 40.0
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    n = len(weeks)
    finite = [abs(v) for v in net if v is not None and math.isfinite(v)]
    lim = max(0.5, math.ceil((max(finite, default=0.5)) * 4 - 1e-9) / 4)
    lim = min(lim, 1.0)
    slot = (x1 - x0) / max(n, 1)

    def X(j: int) -> float:
        return x0 + slot * (j + 0.5)

    def Y(v: float) -> float:
        return y0 + (y1 - y0) * (lim - v) / (2 * lim)

    body: list[str] = _legend([("正味センチメント（週次）", INK), ("セグメント数（背景）", "#D9E2EC")], x0, 16)
    cmax = max(counts, default=0) or 1
    bw = max(1.0, slot * 0.7)
    for j, c in enumerate(counts):
        h = (y1 - y0) * 0.45 * c / cmax
        body.append(f'<rect x="{X(j) - bw / 2:.1f}" y="{y1 - h:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="#D9E2EC">'
                    f"<title>{esc(week_full(weeks[j]))}: {int(c):,}件</title></rect>")
    for t in (-lim, -lim / 2, 0.0, lim / 2, lim):
        y = Y(t)
        stroke = MUTED if t == 0 else GRID
        body.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{stroke}"/>')
        body.append(_text(x0 - 6, y + 4, f"{t:+.2f}" if t else "0", anchor="end", fill=MUTED, size=11))
    step = max(1, math.ceil(n / 12))
    for j in range(0, n, step):
        body.append(_text(X(j), y1 + 16, week_label(weeks[j]), anchor="middle", fill=MUTED, size=11))
    body.append(_text((x0 + x1) / 2, height - 4, "週（月曜始まり）/ week starting Monday", anchor="middle", fill=MUTED, size=11))
    pts = [(X(j), Y(v)) for j, v in enumerate(net) if v is not None and math.isfinite(v)]
    if len(pts) > 1:
        body.append('<path d="M' + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                    + f'" fill="none" stroke="{INK}" stroke-width="2" stroke-linejoin="round"/>')
    for j, v in enumerate(net):
        if v is None or not math.isfinite(v):
            continue
        col = NEG if v < -0.05 else (POS if v > 0.05 else MUTED)
        r = 3.5 if n <= 40 else 2
        body.append(f'<circle cx="{X(j):.1f}" cy="{Y(v):.1f}" r="{r}" fill="{col}" stroke="#FFFFFF" stroke-width="1">'
                    f"<title>{esc(week_full(weeks[j]))}: 正味 {fmt_signed(v)}（{int(counts[j]):,}件）</title></circle>")
    return _svg(chart_id, width, height, title, desc, body)


def mix_bar(shares: Sequence[tuple[str, float]], *, width: float = 140, height: float = 12, label: str = "",
            colors: dict[str, str] | None = None, names: dict[str, str] | None = None) -> str:
    """A tiny 100% bar for tables: ``shares`` as (key, share); sentiment colours and names unless
    ``colors`` / ``names`` are given (e.g. journey stages or intents)."""
    skip_zero = names is not None  # long category lists: leave empty categories out of the tooltip
    colors = colors or SENTIMENT_COLORS
    names = names or SENTIMENT_JA
    total = sum(max(0.0, float(s)) for _, s in shares)
    tip = " / ".join(f"{names.get(k, k)} {fmt_pct(float(s) / total if total else 0)}" for k, s in shares
                     if not (skip_zero and total and float(s) <= 0))
    aria = f"{label} {tip}".strip()
    out = [f'<svg class="mixbar" viewBox="0 0 {width:g} {height:g}" '
           f'width="{width:g}" height="{height:g}" role="img" aria-label="{esc(aria)}"><title>{esc(tip)}</title>']
    if total <= 0:
        out.append(f'<rect x="0" y="0" width="{width:g}" height="{height:g}" rx="2" fill="{GRID}"/>')
    else:
        x = 0.0
        for key, s in shares:
            w = width * max(0.0, float(s)) / total
            if w > 0:
                out.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height:g}" '
                           f'fill="{colors.get(key, NEU)}"/>')
            x += w
    out.append("</svg>")
    return "".join(out)


def sparkline(values: Sequence[float], *, width: float = 160, height: float = 32, color: str = BAR, label: str = "") -> str:
    """A small trend line for a theme card (no axes)."""
    n = len(values)
    vmax = max(values, default=0) or 1
    pad = 3.0
    def X(j: int) -> float:
        return width / 2 if n <= 1 else pad + (width - 2 * pad) * j / (n - 1)
    def Y(v: float) -> float:
        return height - pad - (height - 2 * pad) * float(v) / vmax
    out = [f'<svg class="spark" viewBox="0 0 {width:g} {height:g}" '
           f'width="{width:g}" height="{height:g}" role="img" aria-label="{esc(label)}"><title>{esc(label)}</title>']
    if n > 1:
        out.append('<path d="M' + " L".join(f"{X(j):.1f},{Y(v):.1f}" for j, v in enumerate(values))
                   + f'" fill="none" stroke="{color}" stroke-width="1.6" stroke-linejoin="round"/>')
    if n:
        out.append(f'<circle cx="{X(n - 1):.1f}" cy="{Y(values[-1]):.1f}" r="2.4" fill="{color}"/>')
    out.append("</svg>")
    return "".join(out)


# -- heatmap ------------------------------------------------------------------------------------
# ColorBrewer "Blues" (sequential, colour-blind safe) for counts; negatives stay vermillion (NEG).
BLUES = ["#F7FBFF", "#DEEBF7", "#C6DBEF", "#9ECAE1", "#6BAED6", "#4292C6", "#2171B5", "#08519C", "#08306B"]
EMPTY_CELL = "#F5F7FA"


def _rgb(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _hexc(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{max(0, min(255, int(round(v)))):02X}" for v in rgb)


def ramp(t: float, colors: Sequence[str] = BLUES) -> str:
    """Colour at ``t`` in 0..1 along ``colors`` (linear interpolation in sRGB)."""
    t = 0.0 if not math.isfinite(t) else max(0.0, min(1.0, t))
    pos = t * (len(colors) - 1)
    i = min(int(pos), len(colors) - 2)
    f = pos - i
    a, b = _rgb(colors[i]), _rgb(colors[i + 1])
    return _hexc([a[k] + (b[k] - a[k]) * f for k in range(3)])


def blend(c: str, weight: float, other: str = "#FFFFFF") -> str:
    """``c`` mixed with ``other`` (``weight`` = share of ``c``)."""
    a, b = _rgb(c), _rgb(other)
    return _hexc([a[k] * weight + b[k] * (1 - weight) for k in range(3)])


def _dark(c: str) -> bool:
    r, g, b = _rgb(c)
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255 < 0.55


def heatmap(
    rows: Sequence[tuple[str, str]],
    cols: Sequence[tuple[str, str]],
    counts: Sequence[Sequence[int]],
    neg_counts: Sequence[Sequence[int]] | None,
    *,
    chart_id: str,
    title: str,
    desc: str,
    muted_rows: Iterable[int] = (),
    muted_cols: Iterable[int] = (),
    min_n: int = 5,
    width: float = WIDTH,
) -> str:
    """Counts in a rows x columns grid (blue = count, square-root scale) with, in each cell, the
    share of negative segments as a number and a small vermillion bar. ``rows`` and ``cols`` are
    (Japanese, English) label pairs; muted rows/columns (e.g. "none") are drawn lighter, after a
    gap, and do not set the colour scale. Row and column totals are shown as text."""
    muted_r, muted_c = set(muted_rows), set(muted_cols)
    nr, nc = len(rows), len(cols)
    label_w, total_w, gap, sep = 168.0, 86.0, 3.0, 10.0
    cell_h, legend_h, head_h, foot_h = 52.0, 46.0, 36.0, 40.0
    # columns: muted ones after a separator
    grid_w = width - label_w - total_w - 8
    n_sep_c = 1 if muted_c and len(muted_c) < nc else 0
    cell_w = (grid_w - gap * (nc - 1) - sep * n_sep_c) / max(nc, 1)

    def cx(j: int) -> float:
        extra = sep if n_sep_c and j >= min(muted_c) else 0.0
        return label_w + j * (cell_w + gap) + extra

    n_sep_r = 1 if muted_r and len(muted_r) < nr else 0
    y_grid = legend_h + head_h

    def ry(i: int) -> float:
        extra = sep if n_sep_r and i >= min(muted_r) else 0.0
        return y_grid + i * (cell_h + gap) + extra

    height = ry(nr - 1) + cell_h + foot_h if nr else y_grid + foot_h
    content = [counts[i][j] for i in range(nr) for j in range(nc) if i not in muted_r and j not in muted_c]
    vmax = max(content or [c for r in counts for c in r] or [0]) or 1
    has_neg = neg_counts is not None

    def tone(c: int) -> float:
        return math.sqrt(max(0, c) / vmax)

    body: list[str] = []
    # legend: colour scale, then the negative bar
    lx = label_w
    body.append(_text(lx, 12, "件数（色の濃さ・平方根スケール）", fill=MUTED, size=11))
    sw_w, n_sw = 26.0, 9
    for k in range(n_sw):
        body.append(f'<rect x="{lx + k * sw_w:.1f}" y="18" width="{sw_w:.1f}" height="10" fill="{ramp(k / (n_sw - 1))}"/>')
    body.append(f'<rect x="{lx:.1f}" y="18" width="{sw_w * n_sw:.1f}" height="10" fill="none" stroke="#CBD2D9"/>')
    for t in (0.0, 0.5, 1.0):
        v = round(vmax * t * t)
        body.append(_text(lx + sw_w * n_sw * t, 41, f"{v:,}", anchor="middle", fill=MUTED, size=10))
    if has_neg:
        lx2 = lx + sw_w * n_sw + 48
        body.append(_text(lx2, 12, "赤いバー・数値 = セル内のネガティブ比率", fill=MUTED, size=11))
        body.append(f'<rect x="{lx2:.1f}" y="19" width="80" height="6" rx="1" fill="#FFFFFF" stroke="#CBD2D9"/>')
        body.append(f'<rect x="{lx2:.1f}" y="19" width="32" height="6" rx="1" fill="{NEG}"/>')
        body.append(_text(lx2 + 88, 26, f"例: ネガ 40%（{min_n}件未満のセルは省略）", fill=MUTED, size=10))
    # column heads
    for j, (ja, en) in enumerate(cols):
        x = cx(j) + cell_w / 2
        fill = MUTED if j in muted_c else INK
        body.append(_text(x, legend_h + 14, ja, anchor="middle", fill=fill, weight="600"))
        body.append(_text(x, legend_h + 28, en, anchor="middle", fill=MUTED, size=10))
    tx = width - total_w / 2
    body.append(_text(tx, legend_h + 14, "計", anchor="middle", fill=MUTED, weight="600"))
    body.append(_text(tx, legend_h + 28, "total", anchor="middle", fill=MUTED, size=10))

    def neg_label(n: int, c: int) -> str:
        return f"ネガ {fmt_pct(n / c)}" if c else ""

    col_tot = [sum(counts[i][j] for i in range(nr)) for j in range(nc)]
    col_neg = [sum(neg_counts[i][j] for i in range(nr)) for j in range(nc)] if has_neg else [0] * nc
    for i, (ja, en) in enumerate(rows):
        y = ry(i)
        muted = i in muted_r
        fill = MUTED if muted else INK
        body.append(_text(label_w - 10, y + cell_h / 2 - 2, ja, anchor="end", fill=fill, weight="600"))
        body.append(_text(label_w - 10, y + cell_h / 2 + 13, en, anchor="end", fill=MUTED, size=10))
        for j in range(nc):
            c = int(counts[i][j])
            n = int(neg_counts[i][j]) if has_neg else 0
            x = cx(j)
            faint = muted or j in muted_c
            color = EMPTY_CELL if c == 0 else ramp(0.06 + 0.94 * tone(c))
            if faint and c:
                color = blend(color, 0.45)
            ink = "#FFFFFF" if _dark(color) else INK
            tip = f"{ja} × {cols[j][0]}（{en} × {cols[j][1]}）: {c:,}件" + (f"、ネガティブ {fmt_pct(n / c)}（{n:,}件）" if has_neg and c else "")
            g = [f"<title>{esc(tip)}</title>",
                 f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" rx="3" fill="{color}"/>']
            if c == 0:
                g.append(_text(x + cell_w / 2, y + cell_h / 2 + 4, "0", anchor="middle", fill=MUTED, size=12))
            else:
                g.append(_text(x + cell_w / 2, y + 21, f"{c:,}", anchor="middle", fill=ink, size=15, weight="700"))
                if has_neg and c < min_n:  # too few segments for a share: the tooltip still has it
                    g.append(_text(x + cell_w / 2, y + 36, "（少数）", anchor="middle", fill=ink, size=10))
                elif has_neg:
                    g.append(_text(x + cell_w / 2, y + 35, neg_label(n, c), anchor="middle", fill=ink, size=10.5))
                    bw = min(cell_w - 20, 96.0)
                    bx = x + (cell_w - bw) / 2
                    g.append(f'<rect x="{bx:.1f}" y="{y + cell_h - 11:.1f}" width="{bw:.1f}" height="5" rx="1" '
                             f'fill="#FFFFFF" stroke="#CBD2D9" stroke-width="0.6"/>')
                    if n:
                        g.append(f'<rect x="{bx:.1f}" y="{y + cell_h - 11:.1f}" width="{bw * n / c:.1f}" height="5" '
                                 f'rx="1" fill="{NEG}"/>')
            body.append(f'<g class="cell">{"".join(g)}</g>')
        rt = sum(int(v) for v in counts[i])
        rn = sum(int(v) for v in neg_counts[i]) if has_neg else 0
        body.append(_text(tx, y + cell_h / 2 - 1, f"{rt:,}", anchor="middle", fill=fill, weight="600"))
        if has_neg and rt:
            body.append(_text(tx, y + cell_h / 2 + 14, neg_label(rn, rt), anchor="middle", fill=MUTED, size=10))
    yb = (ry(nr - 1) + cell_h if nr else y_grid) + 18
    body.append(_text(label_w - 10, yb, "計 total", anchor="end", fill=MUTED, weight="600"))
    for j in range(nc):
        x = cx(j) + cell_w / 2
        body.append(_text(x, yb, f"{col_tot[j]:,}", anchor="middle", fill=MUTED if j in muted_c else INK, weight="600"))
        if has_neg and col_tot[j]:
            body.append(_text(x, yb + 15, neg_label(col_neg[j], col_tot[j]), anchor="middle", fill=MUTED, size=10))
    return _svg(chart_id, width, height, title, desc, body)
