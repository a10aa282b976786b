"""Small inline SVG charts with axes, for reports and the local run browser (no JavaScript).

* :func:`confusion_matrix_svg`: counts per (actual, predicted) class.
* :func:`roc_svg`: a ROC curve with its diagonal.
* :func:`overlay_histogram_svg`: two numeric distributions (baseline and current) on one axis.
* :func:`overlay_bars_svg`: two categorical distributions side by side.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

BASELINE, CURRENT = "#9aa4b2", "#2f6fdb"
_FONT = "font-family='system-ui,sans-serif' font-size='11'"


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e5 else f"{value:.2e}"


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
            f"height='{height}' role='img' aria-label='{escape(label, quote=True)}'>"
            f"<title>{escape(label)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' {_FONT} {extra}>{escape(text)}</text>"


def confusion_matrix_svg(classes: Sequence[str], rows: Sequence[Sequence[float]], cell: int = 44) -> str:
    """A confusion matrix: rows are actual classes, columns predicted; cells shaded by row share.

    Args:
        classes: Class names, in the order of ``rows``.
        rows: ``rows[i][j]`` = how many rows of class ``i`` were predicted as class ``j``.
        cell: Cell size in pixels.
    """
    n = len(classes)
    cell = max(cell, min(84, 7 * max((len(str(c)[:10]) for c in classes), default=0) + 10))
    left, top = 90, 40
    width, height = left + n * cell + 10, top + n * cell + 40
    body = [_text(left + n * cell / 2, 14, "predicted"),
            _text(14, top + n * cell / 2, "actual", extra=f"transform='rotate(-90 14 {top + n * cell / 2:.1f})'")]
    for j, name in enumerate(classes):
        body.append(_text(left + j * cell + cell / 2, top - 6, str(name)[:10]))
    for i, name in enumerate(classes):
        total = sum(rows[i]) or 1
        body.append(_text(left - 6, top + i * cell + cell / 2 + 4, str(name)[:12], anchor="end"))
        for j in range(n):
            value = rows[i][j]
            share = value / total
            fill = f"rgba(47,111,219,{0.08 + 0.85 * share:.2f})"
            color = "#fff" if share > 0.55 else "#222"
            x, y = left + j * cell, top + i * cell
            body.append(f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{fill}' stroke='#fff'/>")
            body.append(_text(x + cell / 2, y + cell / 2 + 4, f"{value:g}", extra=f"fill='{color}' class='cm-cell'"))
    return _svg(width, height, body, "confusion matrix")


def _axes(left: int, top: int, width: int, height: int, x_ticks: list[tuple[float, str]],
          y_ticks: list[tuple[float, str]], x_label: str, y_label: str) -> list[str]:
    """Axis lines, ticks (positions in 0..1) and labels for a plot area."""
    bottom = top + height
    body = [f"<line x1='{left}' y1='{bottom}' x2='{left + width}' y2='{bottom}' stroke='#444'/>",
            f"<line x1='{left}' y1='{top}' x2='{left}' y2='{bottom}' stroke='#444'/>"]
    for position, label in x_ticks:
        x = left + position * width
        body += [f"<line x1='{x:.1f}' y1='{bottom}' x2='{x:.1f}' y2='{bottom + 4}' stroke='#444'/>",
                 _text(x, bottom + 15, label)]
    for position, label in y_ticks:
        y = bottom - position * height
        body += [f"<line x1='{left - 4}' y1='{y:.1f}' x2='{left}' y2='{y:.1f}' stroke='#444'/>",
                 _text(left - 6, y + 4, label, anchor="end")]
    body.append(_text(left + width / 2, bottom + 30, x_label))
    body.append(_text(12, top + height / 2, y_label, extra=f"transform='rotate(-90 12 {top + height / 2:.1f})'"))
    return body


def roc_svg(false_positive_rate: Sequence[float], true_positive_rate: Sequence[float], auc: float | None = None) -> str:
    """A ROC curve on [0, 1] x [0, 1], with the chance diagonal."""
    left, top, size = 50, 14, 200
    ticks = [(0.0, "0"), (0.5, "0.5"), (1.0, "1")]
    body = _axes(left, top, size, size, ticks, ticks, "false positive rate", "true positive rate")
    body.append(f"<line x1='{left}' y1='{top + size}' x2='{left + size}' y2='{top}' stroke='#bbb' "
                "stroke-dasharray='4 3'/>")
    points = " ".join(f"{left + x * size:.1f},{top + size - y * size:.1f}"
                      for x, y in zip(false_positive_rate, true_positive_rate, strict=True))
    body.append(f"<polyline points='{points}' fill='none' stroke='{CURRENT}' stroke-width='2'/>")
    if auc is not None:
        body.append(_text(left + size - 4, top + size - 8, f"AUC {auc:.3f}", anchor="end"))
    return _svg(left + size + 16, top + size + 40, body, "ROC curve")


def _legend(x: int, y: int) -> list[str]:
    return [f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{BASELINE}'/>",
            _text(x + 14, y, "baseline", anchor="start"),
            f"<rect x='{x + 80}' y='{y - 9}' width='10' height='10' fill='{CURRENT}' fill-opacity='0.6'/>",
            _text(x + 94, y, "current", anchor="start")]


Buckets = Sequence[tuple[float, float, float]]  # (low, high, count)


def overlay_histogram_svg(baseline: Buckets, current: Buckets, label: str = "") -> str:
    """Overlays two numeric histograms (shares of rows per unit of width) on one x axis.

    Args:
        baseline: (low, high, count) buckets of the baseline.
        current: (low, high, count) buckets of the current data.
        label: The column's name, for the chart's title.
    """
    left, top, width, height = 50, 22, 300, 110
    buckets = [b for b in (*baseline, *current)]
    low = min((b[0] for b in buckets), default=0.0)
    high = max((b[1] for b in buckets), default=1.0)
    span = (high - low) or 1.0

    def densities(series: Buckets) -> list[tuple[float, float, float]]:
        total = sum(c for _, _, c in series) or 1.0
        return [(lo, hi, c / total / ((hi - lo) or span / 100)) for lo, hi, c in series]

    shaped = [densities(baseline), densities(current)]
    peak = max((d for series in shaped for _, _, d in series), default=1.0) or 1.0
    ticks = [(0.0, _number(low)), (0.5, _number(low + span / 2)), (1.0, _number(high))]
    body = _axes(left, top, width, height, ticks, [(0.0, "0"), (1.0, _number(peak))], label or "value", "density")
    for series, color, opacity in ((shaped[0], BASELINE, "0.75"), (shaped[1], CURRENT, "0.45")):
        for lo, hi, density in series:
            x = left + (lo - low) / span * width
            w = max(1.0, (hi - lo) / span * width)
            h = density / peak * height
            body.append(f"<rect x='{x:.1f}' y='{top + height - h:.1f}' width='{w:.1f}' height='{h:.1f}' "
                        f"fill='{color}' fill-opacity='{opacity}'/>")
    body += _legend(left + 4, 12)
    return _svg(left + width + 16, top + height + 40, body, f"{label}: baseline and current distributions")


def overlay_bars_svg(categories: Sequence[str], baseline: Sequence[float], current: Sequence[float],
                     label: str = "") -> str:
    """Side-by-side bars of two categorical distributions (shares of rows), one pair per category."""
    left, top, height = 50, 22, 110
    group = 36
    width = max(180, group * len(categories))
    peak = max([*baseline, *current, 0.0]) or 1.0
    body = _axes(left, top, width, height, [], [(0.0, "0"), (1.0, f"{peak:.0%}")], label or "value",
                 "share of rows")
    for i, name in enumerate(categories):
        x = left + i * group + 4
        for offset, share, color in ((0, baseline[i], BASELINE), (14, current[i], CURRENT)):
            h = share / peak * height
            body.append(f"<rect x='{x + offset}' y='{top + height - h:.1f}' width='13' height='{h:.1f}' "
                        f"fill='{color}'><title>{escape(str(name))}: {share:.1%}</title></rect>")
        body.append(_text(x + 14, top + height + 14, str(name)[:6]))
    body += _legend(left + 4, 12)
    return _svg(left + width + 16, top + height + 40, body, f"{label}: baseline and current distributions")
