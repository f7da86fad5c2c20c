"""NHS England's GP appointment data (GPAD) vocabulary, loaded from ``data/gpad.json``.

The national categories, service settings and modes are data that NHS England revises, so
they live in one file rather than as strings through the code: models take their choices from
here, the report and its CSV export their labels.
"""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

_DATA: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "gpad.json").read_text())

CATEGORY_CHOICES: list[tuple[str, str]] = [(c["code"], c["label"]) for c in _DATA["categories"]]
CATEGORY_CONTEXT: dict[str, str] = {c["code"]: c["context"] for c in _DATA["categories"]}
CONTEXT_LABELS: dict[str, str] = {c["code"]: c["label"] for c in _DATA["contexts"]}
SERVICE_SETTING_CHOICES: list[tuple[str, str]] = [
    (s["code"], s["label"]) for s in _DATA["service_settings"]
]
UNMAPPED = _DATA["unmapped_label"]
VERSION: str = _DATA["version"]

# Appointments in these contexts are with or about a patient; only encounters are bookable
# appointments in GPAD's sense, and only they are exported.
ENCOUNTER = "care_related_encounter"

_MODE_LABELS: dict[str, str] = {m["code"]: m["label"] for m in _DATA["modes"]}


class Mode(models.TextChoices):
    """How an appointment takes place (GPAD's appointment mode); labels from the data file."""

    FACE_TO_FACE = "face_to_face", _MODE_LABELS["face_to_face"]
    HOME_VISIT = "home_visit", _MODE_LABELS["home_visit"]
    TELEPHONE = "telephone", _MODE_LABELS["telephone"]
    VIDEO = "video", _MODE_LABELS["video"]
    ONLINE = "online", _MODE_LABELS["online"]
    UNKNOWN = "unknown", _MODE_LABELS["unknown"]


if set(Mode.values) != set(_MODE_LABELS):  # the data file and the code must name the same modes
    raise ImproperlyConfigured(f"gpad.json modes {sorted(_MODE_LABELS)} != {sorted(Mode.values)}")
MODE_GPAD_LABEL: dict[str, str] = {m["code"]: m["gpad"] for m in _DATA["modes"]}
# The mode an appointment in this channel takes unless its slot type says more.
_MODE_FOR_CHANNEL: dict[str, str] = {
    m["channel"]: m["code"] for m in reversed(_DATA["modes"]) if m["channel"]
}
HCP_TYPE_LABEL: dict[str, str] = _DATA["hcp_types"]


def category_label(code: str) -> str:
    return dict(CATEGORY_CHOICES).get(code, UNMAPPED)


def mode_for(*, channel: str, default_mode: str | None) -> str:
    """The mode an appointment is booked with: the slot type's own when it fits the slot's
    channel (a home visit is in person; an online consultation has no channel of its own),
    otherwise the channel's usual mode."""
    by_channel = _MODE_FOR_CHANNEL.get(channel, "unknown")
    if default_mode:
        fits = next((m["channel"] for m in _DATA["modes"] if m["code"] == default_mode), None)
        if fits in (None, channel):
            return default_mode if default_mode != "unknown" else by_channel
    return by_channel


def mode_expression(*, channel: str, default_mode: str) -> models.Case:
    """``mode_for`` as SQL, for counting slots by the mode they offer: the usual mode where it
    fits the channel (or has no channel, like online), else the channel's own."""
    by_channel = models.Case(
        *(models.When(**{channel: c}, then=models.Value(m)) for c, m in _MODE_FOR_CHANNEL.items()),
        default=models.Value("unknown"),
    )
    special = []
    for mode in _DATA["modes"]:
        code, fits = mode["code"], mode["channel"]
        if code == "unknown":
            continue
        if fits is None:
            special.append(models.When(**{default_mode: code}, then=models.Value(code)))
        elif _MODE_FOR_CHANNEL.get(fits) != code:
            special.append(
                models.When(**{default_mode: code, channel: fits}, then=models.Value(code))
            )
    return models.Case(*special, default=by_channel, output_field=models.CharField())


def _labels(field: str, labels: dict[str, str], default: str) -> models.Case:
    return models.Case(
        *(models.When(**{field: code}, then=models.Value(label)) for code, label in labels.items()),
        default=models.Value(default),
        output_field=models.CharField(),
    )


def category_label_expression(field: str) -> models.Case:
    """The national category's name as GPAD publishes it, in SQL ("Unmapped" when none)."""
    return _labels(field, dict(CATEGORY_CHOICES), UNMAPPED)


def mode_label_expression(field: str) -> models.Case:
    """GPAD's appointment mode, in SQL (video and online are one mode there)."""
    return _labels(field, MODE_GPAD_LABEL, MODE_GPAD_LABEL["unknown"])


def hcp_type_expression(profession_field: str) -> models.Case:
    """``hcp_type``'s label, in SQL."""
    return models.Case(
        models.When(**{profession_field: "gp"}, then=models.Value(HCP_TYPE_LABEL["gp"])),
        models.When(**{profession_field: ""}, then=models.Value(HCP_TYPE_LABEL["unknown"])),
        default=models.Value(HCP_TYPE_LABEL["other"]),
        output_field=models.CharField(),
    )


NOT_ENCOUNTERS = [code for code, context in CATEGORY_CONTEXT.items() if context != ENCOUNTER]


def hcp_type(profession: str) -> str:
    """GPAD's healthcare professional type: GPs, and everyone else at the practice."""
    if not profession:
        return "unknown"
    return "gp" if profession == "gp" else "other"
