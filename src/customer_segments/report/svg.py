"""Small, dependency-free SVG charts for the static report.

Every chart is a <figure class="chart"> with a title, an <svg> with labelled axes (the
unit in the label), and a one-line reading aid as <figcaption>. No scripts, fonts or
files from elsewhere: the report works offline and in any browser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#3b6ea8", "#e07b39", "#5a9e5a", "#c44e52", "#8172b2", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd", "#2f4b7c", "#a05195")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


def _t(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11,
       weight: str = "normal", rotate: int | None = None, fill: str = "#333",
       cls: str = "") -> str:
    transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}"{transform}{klass}>{escape(str(text))}</text>')


def _legend(names, left: float, step: int = 170) -> list[str]:
    """A colour key along the top: one swatch and name per series, in palette order."""
    out = []
    for j, name in enumerate(names):
        x = left + j * step
        out.append(f'<rect x="{x}" y="8" width="12" height="12" '
                   f'fill="{PALETTE[j % len(PALETTE)]}"/>')
        out.append(_t(x + 17, 18, name, anchor="start"))
    return out


def _axis_labels(x_label: str, x_at: tuple[float, float], y_label: str, y_mid: float
                 ) -> list[str]:
    """The two axis titles (class axis-label: the browser test counts them)."""
    return [_t(*x_at, x_label, weight="bold", cls="axis-label"),
            _t(14, y_mid, y_label, rotate=-90, weight="bold", cls="axis-label")]


def figure(chart_id: str, title: str, svg: str, reading: str) -> str:
    return (f'<figure class="chart" id="chart-{chart_id}" data-chart="{chart_id}">'
            f'<h3>{escape(title)}</h3>{svg}<figcaption>{escape(reading)}</figcaption></figure>')


def empty(chart_id: str, title: str, why: str) -> str:
    """A chart with nothing to draw says so (and is not counted as rendered)."""
    return (f'<figure class="chart empty" id="chart-{chart_id}" data-chart="{chart_id}" '
            f'data-empty="true"><h3>{escape(title)}</h3><p class="note">{escape(why)}</p>'
            f'</figure>')


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
            f'style="{FONT}">{body}</svg>')


def nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _ticks(top: float, n: int = 5) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def hbar(chart_id: str, title: str, labels: Sequence[str],
         series: dict[str, Sequence[float]], *, x_label: str, y_label: str, reading: str,
         fmt: Callable[[float], str] = lambda v: f"{v:,.0f}", x_max: float | None = None,
         width: int = 720) -> str:
    """Horizontal bars, one group per label, one bar per series (with a legend)."""
    names = list(series)
    group_h = 8 + 14 * len(names)
    left, right, top = 170, 70, 34 if len(names) > 1 else 12
    height = top + group_h * len(labels) + 46
    plot_w = width - left - right
    values = [v for s in series.values() for v in s if v is not None]
    vmax = x_max if x_max is not None else nice_max(max(values, default=0))
    body = []
    for tick in _ticks(vmax):
        x = left + plot_w * tick / vmax
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                    f'y2="{top + group_h * len(labels)}" stroke="#e3e3e3"/>')
        body.append(_t(x, top + group_h * len(labels) + 14, fmt(tick), size=10))
    for i, label in enumerate(labels):
        y0 = top + i * group_h + 4
        body.append(_t(left - 8, y0 + group_h / 2, label, anchor="end"))
        for j, name in enumerate(names):
            v = series[name][i] or 0
            w = max(0.0, plot_w * v / vmax)
            y = y0 + j * 14
            body.append(f'<rect class="mark" x="{left}" y="{y:.1f}" width="{w:.1f}" '
                        f'height="11" fill="{PALETTE[j % len(PALETTE)]}">'
                        f'<title>{escape(label)}, {escape(name)}: {escape(fmt(v))}</title></rect>')
            body.append(_t(left + w + 4, y + 9, fmt(v), anchor="start", size=10))
    if len(names) > 1:
        body += _legend(names, left)
    body += _axis_labels(x_label, (left + plot_w / 2, height - 6), y_label,
                         top + group_h * len(labels) / 2)
    return figure(chart_id, title, _svg(width, height, "".join(body), title), reading)


def vbar_stacked(chart_id: str, title: str, categories: Sequence[str],
                 stacks: dict[str, Sequence[float]], *, x_label: str, y_label: str,
                 reading: str, width: int = 760, height: int = 320) -> str:
    """Vertical stacked bars: one bar per category, one colour per stack."""
    left, right, top, bottom = 64, 20, 34, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum((s[i] or 0) for s in stacks.values()) for i in range(len(categories))]
    vmax = nice_max(max(totals, default=0))
    body = []
    for tick in _ticks(vmax):
        y = top + plot_h - plot_h * tick / vmax
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#e3e3e3"/>')
        body.append(_t(left - 6, y + 4, f"{tick:,.0f}", anchor="end", size=10))
    bw = plot_w / max(1, len(categories))
    for i, cat in enumerate(categories):
        x = left + i * bw + bw * 0.12
        y = top + plot_h
        for j, (name, values) in enumerate(stacks.items()):
            v = values[i] or 0
            h = plot_h * v / vmax
            y -= h
            if h > 0:
                body.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bw * 0.76:.1f}" '
                            f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>'
                            f'{escape(str(cat))}, {escape(name)}: {v:,.0f}</title></rect>')
        body.append(_t(x + bw * 0.38, top + plot_h + 14, cat, size=10))
    body += _legend(stacks, left, step=160)
    body += _axis_labels(x_label, (left + plot_w / 2, height - 8), y_label, top + plot_h / 2)
    return figure(chart_id, title, _svg(width, height, "".join(body), title), reading)


def _blend(share: float, low: str = "#f4f7fb", high: str = "#1f4e8c") -> str:
    share = min(1.0, max(0.0, share))
    a = [int(low[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def diverging(index: float) -> str:
    """Colour for a ratio to the average: blue below 1, orange above, white at 1."""
    if not math.isfinite(index):
        return "#ffffff"
    strength = min(1.0, abs(math.log2(max(index, 1e-6))) / 2)
    return _blend(strength, "#ffffff", "#e07b39" if index >= 1 else "#3b6ea8")


def heatmap(chart_id: str, title: str, rows: Sequence[str], cols: Sequence[str],
            values: Sequence[Sequence[float | None]], *, x_label: str, y_label: str,
            reading: str, labels: Sequence[Sequence[str]] | None = None,
            colours: Sequence[Sequence[str]] | None = None, cell_w: int = 72,
            cell_h: int = 34, left: int = 170) -> str:
    """A grid of cells: colour by value (or by `colours`), text by `labels` or value."""
    top, right, bottom = 40, 16, 44
    width = left + cell_w * len(cols) + right
    height = top + cell_h * len(rows) + bottom
    flat = [v for r in values for v in r if v is not None]
    vmax = max(flat, default=0) or 1
    body = []
    for j, col in enumerate(cols):
        body.append(_t(left + j * cell_w + cell_w / 2, top - 8, col, size=10))
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(_t(left - 8, y + cell_h / 2 + 4, row, anchor="end"))
        for j, _ in enumerate(cols):
            v = values[i][j]
            fill = colours[i][j] if colours else _blend((v or 0) / vmax)
            text = labels[i][j] if labels else ("" if v is None else f"{v:,.0f}")
            dark = not colours and (v or 0) / vmax > 0.55
            x = left + j * cell_w
            body.append(f'<rect class="mark" x="{x}" y="{y}" width="{cell_w - 2}" '
                        f'height="{cell_h - 2}" fill="{fill}"><title>{escape(row)} / '
                        f'{escape(str(cols[j]))}: {escape(text)}</title></rect>')
            body.append(_t(x + cell_w / 2 - 1, y + cell_h / 2 + 3, text, size=10,
                           fill="#fff" if dark else "#222"))
    body += _axis_labels(x_label, (left + cell_w * len(cols) / 2, height - 10), y_label,
                         top + cell_h * len(rows) / 2)
    return figure(chart_id, title, _svg(width, height, "".join(body), title), reading)


def lines(chart_id: str, title: str, series: dict[str, Sequence[tuple[float, float]]], *,
          x_label: str, y_label: str, reading: str, x_max: float | None = None,
          y_max: float | None = None, diagonal: bool = False, baseline: float | None = None,
          x_fmt: Callable[[float], str] = lambda v: f"{v:g}",
          y_fmt: Callable[[float], str] = lambda v: f"{v:g}", width: int = 520,
          height: int = 360) -> str:
    """Lines with point markers; optional y = x diagonal or horizontal baseline."""
    left, right, top, bottom = 64, 20, 34, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series.values() for x, _ in s]
    ys = [y for s in series.values() for _, y in s if y is not None]
    xmax = x_max if x_max is not None else nice_max(max(xs, default=1))
    ymax = y_max if y_max is not None else nice_max(max(ys + [baseline or 0], default=1))

    def px(x: float) -> float:
        return left + plot_w * x / xmax

    def py(y: float) -> float:
        return top + plot_h - plot_h * y / ymax

    body = []
    for tick in _ticks(ymax):
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py(tick):.1f}" '
                    f'y2="{py(tick):.1f}" stroke="#e3e3e3"/>')
        body.append(_t(left - 6, py(tick) + 4, y_fmt(tick), anchor="end", size=10))
    for tick in _ticks(xmax):
        body.append(_t(px(tick), top + plot_h + 14, x_fmt(tick), size=10))
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#999"/>')
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
                f'y2="{top + plot_h}" stroke="#999"/>')
    if diagonal:
        d = min(xmax, ymax)
        body.append(f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(d):.1f}" y2="{py(d):.1f}" '
                    f'stroke="#888" stroke-dasharray="4 4"/>')
    if baseline is not None:
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py(baseline):.1f}" '
                    f'y2="{py(baseline):.1f}" stroke="#888" stroke-dasharray="4 4"/>')
    for j, (name, points) in enumerate(series.items()):
        colour = PALETTE[j % len(PALETTE)]
        pts = [(px(x), py(y)) for x, y in points if y is not None]
        if len(pts) > 1:
            path = " ".join(f"{'M' if k == 0 else 'L'}{x:.1f},{y:.1f}"
                            for k, (x, y) in enumerate(pts))
            body.append(f'<path class="mark" d="{path}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"/>')
        for (x, y), (rx, ry) in zip(pts, [(x, y) for x, y in points if y is not None],
                                    strict=True):
            body.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                        f'fill="{colour}"><title>{escape(name)}: {x_fmt(rx)}, '
                        f'{y_fmt(ry)}</title></circle>')
    body += _legend(series, left)
    body += _axis_labels(x_label, (left + plot_w / 2, height - 8), y_label, top + plot_h / 2)
    return figure(chart_id, title, _svg(width, height, "".join(body), title), reading)
