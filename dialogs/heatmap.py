"""The coverage-gap heatmap: workloads × countries, colour = gap score, each cell annotated with its
unattached pipeline in $k, as a small PNG for an Adaptive Card (a `data:` URI, which Teams renders).

A card carries the image inline, so every kilobyte counts twice (base64, then UTF-16 in Teams' size
budget): the figure is drawn small (about 700×450 px) and reduced to a 64-colour palette, which keeps
it near 20 KB. Matplotlib's Agg backend draws without a display; figures are closed after use.
"""
from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache

from retrieval.answers import GapCell

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 700, 450, 80
MAX_WORKLOADS = 12
MAX_COUNTRIES = 12
PALETTE_COLOURS = 96
_LABEL_CHARS = 26

# pyplot keeps global state; two turns drawing at once (each in its own worker thread) must not mix figures
_DRAWING = threading.Lock()


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _axes_of(cells: Sequence[GapCell]) -> tuple[list[str], list[str]]:
    """The workloads and countries with the largest total gap, largest first, within the caps."""
    by_workload: dict[str, float] = {}
    by_country: dict[str, float] = {}
    for cell in cells:
        by_workload[cell.workload] = by_workload.get(cell.workload, 0.0) + cell.gap_score
        by_country[cell.country] = by_country.get(cell.country, 0.0) + cell.gap_score
    workloads = sorted(by_workload, key=lambda w: (-by_workload[w], w))[:MAX_WORKLOADS]
    countries = sorted(by_country, key=lambda c: (-by_country[c], c))[:MAX_COUNTRIES]
    return workloads, countries


def gap_heatmap_png(cells: Sequence[GapCell]) -> bytes:
    """The heatmap as PNG bytes; empty bytes when there is nothing to draw."""
    return _draw(tuple(cells))


@lru_cache(maxsize=32)
def _draw(cells: tuple[GapCell, ...]) -> bytes:
    if not cells:
        return b""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    workloads, countries = _axes_of(cells)
    scores = np.full((len(workloads), len(countries)), np.nan)
    values: dict[tuple[int, int], float] = {}
    for cell in cells:
        if cell.workload in workloads and cell.country in countries:
            row, column = workloads.index(cell.workload), countries.index(cell.country)
            scores[row, column] = cell.gap_score
            values[(row, column)] = cell.pipeline_value_usd
    hidden = len(cells) - len(values)

    with _DRAWING:
        figure, axes = plt.subplots(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        try:
            colours = matplotlib.colormaps["YlOrRd"].copy()
            colours.set_bad("#eeeeee")               # no unattached pipeline there: grey, not "no gap"
            image = axes.imshow(np.ma.masked_invalid(scores), cmap=colours, aspect="auto",
                                vmin=0, vmax=float(np.nanmax(scores)) or 1.0)
            axes.set_xticks(range(len(countries)), countries, fontsize=8)
            axes.set_yticks(range(len(workloads)), [_short(w) for w in workloads], fontsize=8)
            axes.tick_params(length=0)
            axes.xaxis.tick_top()
            threshold = 0.6 * (float(np.nanmax(scores)) or 1.0)
            for (row, column), value in values.items():
                axes.text(column, row, f"{value / 1000:,.0f}", ha="center", va="center", fontsize=7,
                          color="white" if scores[row, column] > threshold else "black")
            for side in axes.spines.values():
                side.set_visible(False)
            bar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, format="{x:,.0f}")
            bar.ax.tick_params(labelsize=7)
            bar.set_label("gap score", fontsize=8)
            caption = "Cells: unattached pipeline in $k. Grey: no unattached pipeline."
            if hidden:
                caption += f" {hidden} smaller cells not drawn."
            figure.text(0.01, 0.01, caption, fontsize=7, color="#555555")
            figure.subplots_adjust(left=0.27, right=0.9, top=0.9, bottom=0.07)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI)
        finally:
            plt.close(figure)
    # a palette PNG is a third of the RGBA one and looks the same for a flat chart
    with Image.open(io.BytesIO(buffer.getvalue())) as drawn:
        reduced = drawn.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        reduced.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    log.debug("heatmap %dx%d cells drawn in %d bytes", len(workloads), len(countries), len(png))
    return png


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
