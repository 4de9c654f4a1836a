"""Charts of the dashboard as SVG, drawn on the server by matplotlib (ADR 0022).

Text stays text (`svg.fonttype: none`), so the browser renders the Japanese labels with its
own fonts; every chart stands next to the table of the same numbers, which is what a reader
without images or a screen reader gets.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Layout needs glyph metrics; these families hold Japanese glyphs on Debian (fonts-noto-cjk).
FONT_FAMILIES = ["Noto Sans CJK JP", "IPAexGothic", "sans-serif"]
STYLE: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "madoguchi",
    "font.family": FONT_FAMILIES,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
BAR_COLOR = "#2f6f8f"
# matplotlib's global state (rcParams, font cache) is not thread-safe.
_LOCK = threading.Lock()
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str) -> str:
    """Return a vertical bar chart as an SVG document."""
    with _LOCK, matplotlib.rc_context(STYLE):
        width = max(4.0, min(12.0, 0.35 * len(labels) + 2))
        figure = Figure(figsize=(width, 2.8))
        axes = figure.subplots()
        positions = list(range(len(labels)))
        axes.bar(positions, values, color=BAR_COLOR)
        axes.set_xticks(positions, labels, rotation=90 if len(labels) > 12 else 0)
        axes.set_title(title)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _svg(figure)


def horizontal_bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str) -> str:
    """Return a horizontal bar chart (longest label first) as an SVG document."""
    with _LOCK, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.5, max(1.6, 0.3 * len(labels) + 0.8)))
        axes = figure.subplots()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color=BAR_COLOR)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_title(title)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        return _svg(figure)


def heatmap_chart(
    grid: Sequence[Sequence[int]], *, weekday_labels: Sequence[str], title: str
) -> str:
    """Return a weekday x hour heatmap as an SVG document."""
    with _LOCK, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(9, 3))
        axes = figure.subplots()
        image = axes.imshow(grid, cmap="Blues", aspect="auto")
        axes.set_xticks(range(24), [str(hour) for hour in range(24)])
        axes.set_yticks(range(len(weekday_labels)), weekday_labels)
        axes.set_title(title)
        colorbar = figure.colorbar(image, ax=axes)
        colorbar.locator = MaxNLocator(integer=True)
        colorbar.update_ticks()
        return _svg(figure)
