"""Charts for the practice report, drawn on the server as SVG: no chart library, no script,
nothing from a CDN, and nothing the Content-Security-Policy forbids (colours come from
classes in core/static/core/admin.css, not style attributes).

Each chart is a picture of a table printed beside it, so it is marked as one image with a
title; the table is what screen readers and the CSV export read.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

LABEL_WIDTH = 190
BAR_AREA = 460
ROW_HEIGHT = 22
BAR_HEIGHT = 14


@dataclass(frozen=True)
class Bar:
    """One row: its label, its segments (value, css class) drawn end to end, and the text
    written after the bar."""

    label: str
    segments: Sequence[tuple[float, str]]
    note: str = ""


def bar_chart(*, title: str, bars: Sequence[Bar], scale: float | None = None) -> SafeString:
    """Horizontal bars, one per row, on a common scale (the longest bar by default)."""
    longest = scale or max((sum(v for v, _ in bar.segments) for bar in bars), default=0) or 1
    height = ROW_HEIGHT * max(len(bars), 1) + 8
    width = LABEL_WIDTH + BAR_AREA + 90
    rows = []
    for index, bar in enumerate(bars):
        y = 4 + index * ROW_HEIGHT
        x = float(LABEL_WIDTH)
        segments = []
        for value, css in bar.segments:
            length = BAR_AREA * max(value, 0) / longest
            if length > 0:
                segments.append((f"{x:.1f}", y + 3, f"{length:.1f}", BAR_HEIGHT, css))
            x += length
        rows.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end">{}</text>{}<text x="{}" y="{}">{}</text>',
                LABEL_WIDTH - 6,
                y + 14,
                _short(bar.label),
                format_html_join(
                    "",
                    '<rect x="{}" y="{}" width="{}" height="{}" class="{}"></rect>',
                    segments,
                ),
                f"{x + 6:.1f}",
                y + 14,
                bar.note,
            )
        )
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>'
        '<line class="axis" x1="{x}" y1="0" x2="{x}" y2="{h}"></line>{}</svg>',
        title,
        format_html_join("", "{}", ((row,) for row in rows)),
        w=width,
        h=height,
        x=LABEL_WIDTH,
    )


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
