"""Form fields the patient pages share: the NHS date input (day, month and year boxes)."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms

DATE_INVALID = "Enter a real date, for example 27 3 2027."
DATE_INCOMPLETE = "Enter the day, month and year."


class DatePartsWidget(forms.MultiWidget):
    template_name = "django/forms/widgets/multiwidget.html"

    def __init__(self) -> None:
        super().__init__([forms.TextInput(), forms.TextInput(), forms.TextInput()])

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dt.date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class DateInputField(forms.MultiValueField):
    """A date typed as three numbers, as the NHS date input asks for it."""

    widget = DatePartsWidget
    PARTS = (("Day", 2, "day"), ("Month", 2, "month"), ("Year", 4, "year"))

    def __init__(self, **kwargs: Any) -> None:
        # Each box's own problems read as the date's: "Enter a real date".
        part = forms.CharField(
            max_length=4,
            required=False,
            error_messages={
                "max_length": DATE_INVALID,
                "null_characters_not_allowed": DATE_INVALID,
            },
        )
        error_messages = {
            "incomplete": DATE_INCOMPLETE,
            "invalid": DATE_INVALID,
            **kwargs.pop("error_messages", {}),
        }
        super().__init__(
            fields=(part, part, part),
            require_all_fields=False,
            error_messages=error_messages,
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> dt.date | None:
        if not data_list or not any(data_list):
            return None
        if not all(data_list):
            raise forms.ValidationError(DATE_INCOMPLETE, code="incomplete")
        try:
            day, month, year = (int(part.strip()) for part in data_list)
            return dt.date(year, month, day)
        except (TypeError, ValueError, OverflowError) as exc:
            raise forms.ValidationError(DATE_INVALID, code="invalid") from exc


def date_parts(field: forms.BoundField) -> list[dict[str, Any]]:
    """The three boxes of a DateInputField, with what was typed (or the initial date)."""
    value = field.value()
    if not isinstance(value, list | tuple):
        value = DatePartsWidget().decompress(value)
    return [
        {
            "label": label,
            "name": f"{field.html_name}_{index}",
            "id": f"{field.auto_id}_{index}",
            "value": "" if value[index] is None else value[index],
            "width": width,
            "autocomplete": suffix,
        }
        for index, (label, width, suffix) in enumerate(DateInputField.PARTS)
    ]


def add_api_errors(
    form: forms.Form, errors: Mapping[str, Any], *, fields: Mapping[str, str] = {}
) -> None:
    """Put the API's answer to the same input (a serializer's ``errors``) on the form, so a
    page and the API hold input to one set of rules, in the same words. ``fields`` maps the
    API's names to the form's where they differ; a field the form itself refused already
    (left empty, an impossible date) keeps only the form's message."""
    for name, messages in errors.items():
        field = fields.get(name, name)
        target = field if field in form.fields else None
        if target is not None and target in form.errors:
            continue
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(target, str(message))
