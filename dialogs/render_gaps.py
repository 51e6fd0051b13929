"""Coverage gaps (workload x country) as a Markdown line, a table row and Adaptive Card elements.

The table is the answer and the heatmap a picture of it; the exports (dialogs/workflow.py) use the
same columns and rows.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dialogs import heatmap
from dialogs.answer_view import money, more
from retrieval.answers import GapCell

GAP_COLUMNS = ("Workload", "Country", "Partners on map", "Spare capacity", "Unattached opps", "Pipeline value",
               "Gap score")


def compact_money(value: float) -> str:
    if value >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if value >= 1_000:
        return f"${value / 1_000:,.0f}k"
    return money(value)


def gap_line(cell: GapCell) -> str:
    return (f"**{cell.workload} in {cell.country}** — {cell.partners_on_map} partners on the map, "
            f"{cell.spare_capacity} spare consultants (90 days), {cell.unattached_opportunities} unattached of "
            f"{cell.open_opportunities} open opportunities, {money(cell.pipeline_value_usd)} unattached pipeline, "
            f"gap score {cell.gap_score:,.0f}")


def gap_row(cell: GapCell) -> tuple[str, ...]:
    return (cell.workload, cell.country, str(cell.partners_on_map), str(cell.spare_capacity),
            str(cell.unattached_opportunities), compact_money(cell.pipeline_value_usd), f"{cell.gap_score:,.0f}")


def gap_text(cells: Sequence[GapCell], hidden: int, note: str) -> str:
    lines = ["**Largest coverage gaps**"] + [f"{rank}. {gap_line(c)}" for rank, c in enumerate(cells, 1)]
    if hidden:
        lines.append(more(hidden))
    if note:
        lines.append(note)
    return "\n".join(lines)


def gap_card_items(cells: Sequence[GapCell], hidden: int, note: str, *, image: bool) -> list[dict[str, Any]]:
    """The heatmap (when it fits) and the table of the largest gaps, as Adaptive Card 1.5 elements."""
    body: list[dict[str, Any]] = []
    if image and (png := heatmap.gap_heatmap_png(cells)):
        body.append({"type": "Image", "url": heatmap.png_data_uri(png), "size": "Stretch", "spacing": "Medium",
                     "altText": "Heatmap of coverage gaps: workloads by country, darker is a larger gap; "
                                "each cell shows its unattached pipeline in thousands of dollars."})

    def cell(text: str, **props: Any) -> dict[str, Any]:
        return {"type": "TableCell", "items": [{"type": "TextBlock", "text": text, "size": "Small", **props}]}

    header = {"type": "TableRow", "cells": [cell(title, weight="Bolder", wrap=True) for title in GAP_COLUMNS]}
    rows = [{"type": "TableRow", "cells": [cell(values[0], wrap=True)] + [cell(v) for v in values[1:]]}
            for values in (gap_row(c) for c in cells)]
    body += [{"type": "TextBlock", "text": "Largest coverage gaps", "wrap": True, "weight": "Bolder", "size": "Medium",
              "spacing": "Medium", "separator": True},
             {"type": "Table", "firstRowAsHeader": True, "showGridLines": True, "gridStyle": "accent",
              "columns": [{"width": w} for w in (3, 1, 1, 1, 1, 1, 1)], "rows": [header, *rows]}]
    for extra in ([more(hidden)] if hidden else []) + ([note] if note else []):
        body.append({"type": "TextBlock", "text": extra, "wrap": True, "isSubtle": True, "size": "Small"})
    return body
