"""Template filters for the practice report."""

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.834 -> "83%"; None (nothing to divide by) -> "-"."""
    return "-" if value is None else f"{100 * value:.0f}%"
