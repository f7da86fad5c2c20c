"""Template filters for the practice report."""

import datetime as dt

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.834 -> "83%"; None (nothing to divide by) -> "-"."""
    return "-" if value is None else f"{100 * value:.0f}%"


@register.filter
def minutes(value: dt.timedelta | None) -> str:
    """A duration as staff read it: "7 min", "2 h 05 min"; None -> "-"."""
    if value is None:
        return "-"
    total = round(value.total_seconds() / 60)
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"
