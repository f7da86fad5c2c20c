"""Small helpers the patient pages' templates share (core/templates/pages)."""

import datetime as dt

from django import template
from django.forms import BoundField
from django.utils import timezone

register = template.Library()


@register.filter
def section(path: str) -> str:
    """The first segment of a path ("/appointments/1/cancel" -> "appointments"), to mark the
    header's current menu item."""
    return path.strip("/").split("/", 1)[0]


@register.filter
def described_by(field: BoundField) -> str:
    """The ids a field's input is described by: its hint and its error message, in that order
    (as the NHS input pattern reads them)."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    return " ".join(ids)


WIDGET_CLASSES = {
    "textarea": "nhsuk-textarea",
    "select": "nhsuk-select",
}


@register.simple_tag
def nhs_widget(field: BoundField, width: str = "") -> str:
    """A field's input with the NHS classes, its error state and what describes it."""
    base = WIDGET_CLASSES.get(field.widget_type, "nhsuk-input")
    classes = [base]
    if width:
        classes.append(f"nhsuk-input--width-{width}")
    if field.errors:
        classes.append(f"{base}--error")
    attrs: dict[str, str | bool] = {"class": " ".join(classes)}
    if described := described_by(field):
        attrs["aria-describedby"] = described
    return field.as_widget(attrs=attrs)


@register.filter
def date_parts(field: BoundField) -> list[dict[str, object]]:
    from core.page_forms import date_parts as parts

    return parts(field)


@register.filter
def nhs_time(value: dt.datetime | None) -> str:
    """A time as the NHS style guide writes it: "9am", "2:30pm", "midday", "midnight" (in the
    current time zone: UK time on the pages)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if (local.hour, local.minute) == (12, 0):
        return "midday"
    if (local.hour, local.minute) == (0, 0):
        return "midnight"
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"
