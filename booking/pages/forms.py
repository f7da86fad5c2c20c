"""The forms of the booking pages. They only read what was typed: every rule is the
services' (booking.services), which the views call."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import formats

from booking.models import Appointment, TimeOfDay
from core.page_forms import DateInputField
from practices.models import Channel, Gender, Practice, SlotType

DESCRIPTION_LENGTH = Appointment._meta.get_field("description").max_length or 100
REASON_LENGTH = Appointment._meta.get_field("cancellation_reason").max_length or 500

ANY = ""
DAY_IN_PAST = "Enter today's date or a date in the future."
DAY_TOO_FAR = "Enter a date up to {last}: the practice books online that far ahead."
NOT_A_CHOICE = "Choose one of the options."
CHOOSE_PRACTICE = "Choose the practice to book at."
LATEST_REQUIRED = "Enter the last date you could come."

GENDER_CHOICES = [
    (ANY, "No preference"),
    (Gender.FEMALE, "A female clinician"),
    (Gender.MALE, "A male clinician"),
]


class ChoosePracticeForm(forms.Form):
    practice = forms.ChoiceField(
        label="Where do you want to book?",
        widget=forms.RadioSelect,
        error_messages={"required": CHOOSE_PRACTICE, "invalid_choice": CHOOSE_PRACTICE},
    )

    def __init__(self, *args: Any, practices: list[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["practice"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(p.ods_code, f"{p.name}, {p.postcode}") for p in practices]


class FindSlotForm(forms.Form):
    """What the patient is looking for; every field may be left as "any"."""

    day = DateInputField(
        label="Which day?",
        required=False,
        help_text="For example, 15 3 2027. Leave it empty to see the earliest appointments.",
    )
    type = forms.ChoiceField(
        label="Type of appointment",
        required=False,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )
    channel = forms.ChoiceField(
        label="How would you like to be seen?",
        required=False,
        widget=forms.RadioSelect,
        choices=[(ANY, "Any way"), *Channel.choices],
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )
    gender = forms.ChoiceField(
        label="Would you prefer a female or male clinician?",
        required=False,
        widget=forms.RadioSelect,
        choices=GENDER_CHOICES,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )

    def __init__(
        self, *args: Any, types: list[SlotType], today: dt.date, last: dt.date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(ANY, "Any type"), *((t.code, t.name) for t in types)]
        self.today, self.last = today, last

    def clean_day(self) -> dt.date | None:
        """Today up to the last day the practice books online: a day outside has nothing
        to show (and the last days of the calendar have no day after them)."""
        day: dt.date | None = self.cleaned_data.get("day")
        if day is not None and day < self.today:
            raise forms.ValidationError(DAY_IN_PAST, code="day_in_past")
        if day is not None and day > self.last:
            last = formats.date_format(self.last, "j F Y")
            raise forms.ValidationError(DAY_TOO_FAR.format(last=last), code="day_too_far")
        return day


class ConfirmBookingForm(forms.Form):
    description = forms.CharField(
        label="What would you like to talk about? (optional)",
        help_text="This helps the practice prepare. Do not include anything you would not want "
        "reception staff to read.",
        required=False,
        max_length=DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": f"What you would like to talk about must be {DESCRIPTION_LENGTH} "
            "characters or fewer."
        },
    )


class ChangeForm(forms.Form):
    """The appointment's version when the page was opened: a change made meanwhile (by the
    practice, or in another tab) is refused rather than overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CancelForm(ChangeForm):
    reason = forms.CharField(
        label="Why are you cancelling? (optional)",
        help_text="For example, you feel better or you have booked another appointment.",
        required=False,
        max_length=REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": f"Your reason must be {REASON_LENGTH} characters or fewer."},
    )


class JoinWaitingListForm(forms.Form):
    latest_date = DateInputField(
        label="What is the last date you could come?",
        help_text="We will only offer you appointments up to this day. For example, 15 3 2027.",
        error_messages={"required": LATEST_REQUIRED},
    )
    appointment_types = forms.MultipleChoiceField(
        label="Which types of appointment would suit you?",
        help_text="Leave them all unticked for any type.",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )
    times_of_day = forms.MultipleChoiceField(
        label="When in the day could you come?",
        help_text="Leave them all unticked for any time.",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=TimeOfDay.choices,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )
    channels = forms.MultipleChoiceField(
        label="How could you be seen?",
        help_text="Leave them all unticked for any way.",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=Channel.choices,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )
    clinician_gender = forms.ChoiceField(
        label="Would you prefer a female or male clinician?",
        required=False,
        widget=forms.RadioSelect,
        choices=GENDER_CHOICES,
        initial=ANY,
        error_messages={"invalid_choice": NOT_A_CHOICE},
    )

    def __init__(self, *args: Any, types: list[SlotType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["appointment_types"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(t.code, t.name) for t in types]
