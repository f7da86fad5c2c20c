"""The practice report page in the staff admin, and its CSV exports.

For practice administrators (the ``view_practice_report`` permission), scoped to their
practices; operators see every practice, with a practice filter. The figures are aggregates:
no patient is named, so reading them is not an access to a patient's record.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.formats import uk_date
from practices.models import Practice

from . import charts, reporting
from .reporting import BANDS, GROUPS, Period, Report
from .templatetags.report import percent

TABLES = ("summary", "bands", "demand", "gp_connect", "gpad")
PERMISSION = "practices.view_practice_report"


class ReportForm(forms.Form):
    practice = forms.ModelChoiceField(
        queryset=Practice.objects.none(), required=False, empty_label="All practices"
    )
    # Left out, a day is the default period's: ?group=mode alone shows the last four weeks.
    first = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    last = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    group = forms.ChoiceField(
        label="Group by", choices=list(GROUPS.items()), initial="week", required=False
    )

    def __init__(self, *args: Any, practices: QuerySet[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["practice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = practices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # A day left out is the default period's, or four weeks from the day given.
        default = Period.default(timezone.localdate())
        span = default.last - default.first
        first, last = data.get("first"), data.get("last")
        if first and not last:
            last = first + span
        elif last and not first:
            first = last - span
        first, last = first or default.first, last or default.last
        data["first"], data["last"] = first, last
        earliest, latest = reporting.EARLIEST, timezone.localdate() + reporting.FURTHEST_AHEAD
        for name in ("first", "last"):
            day = data.get(name)
            if day is not None and not earliest <= day <= latest:
                self.add_error(name, f"Choose a day from {uk_date(earliest)} to {uk_date(latest)}.")
                return data
        if first and last:
            if first > last:
                raise forms.ValidationError("The period must end on or after the day it starts.")
            if last - first >= reporting.LONGEST_PERIOD:
                raise forms.ValidationError("Choose a period of a year or less.")
        return data


def practice_report(request: HttpRequest) -> HttpResponse:
    """GET only: the report for the chosen practice(s), period and grouping; with
    ``?format=csv&table=...`` one of its tables as CSV."""
    user = request.user
    if not (user.is_superuser or user.has_perm(PERMISSION)):
        raise PermissionDenied
    practices = Practice.objects.staffed_by(user).order_by("name")
    default = Period.default(timezone.localdate())
    form = ReportForm(
        request.GET or None,
        practices=practices,
        initial={"first": default.first, "last": default.last, "group": "week"},
    )
    chosen = practices
    period, group_by = default, "week"
    if form.is_bound and form.is_valid():
        period = Period(first=form.cleaned_data["first"], last=form.cleaned_data["last"])
        group_by = form.cleaned_data["group"] or "week"
        if form.cleaned_data["practice"] is not None:
            chosen = practices.filter(pk=form.cleaned_data["practice"].pk)
    elif form.is_bound:
        return _page(request, form, report=None, practices=practices)

    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "summary")
        if table not in TABLES:
            table = "summary"
        return _csv(chosen, period, group_by, table)
    report = reporting.practice_report(practices=chosen, period=period, group_by=group_by)
    # The downloads are of exactly what is shown, whatever the address said.
    shown = {"first": period.first.isoformat(), "last": period.last.isoformat(), "group": group_by}
    if form.is_bound and form.cleaned_data.get("practice") is not None:
        shown["practice"] = str(form.cleaned_data["practice"].pk)
    return _page(request, form, report=report, practices=practices, shown=shown)


def _page(
    request: HttpRequest,
    form: ReportForm,
    *,
    report: Report | None,
    practices: QuerySet[Practice],
    shown: dict[str, str] | None = None,
) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "How the practice is doing",
        "form": form,
        "report": report,
        "many_practices": len(practices) > 1,
        "csv_links": _csv_links(shown or {}),
    }
    if report is not None:
        context.update(
            group_label=GROUPS[report.group_by],
            charts=_charts(report),
            bands=[
                (label, count) for (label, _, _), count in zip(BANDS, report.bands, strict=True)
            ],
        )
    return TemplateResponse(request, "admin/booking/report.html", context)


def _csv_links(shown: dict[str, str]) -> dict[str, str]:
    return {table: "?" + urlencode({**shown, "format": "csv", "table": table}) for table in TABLES}


def _charts(report: Report) -> dict[str, Any]:
    scale = max((row.offered for row in report.rows), default=0) or None
    return {
        "summary": charts.bar_chart(
            title=f"Appointments booked and left free, by {GROUPS[report.group_by].lower()}",
            bars=[
                charts.Bar(
                    label=row.label,
                    segments=[
                        (row.booked, "bar-booked"),
                        (max(row.offered - row.booked, 0), "bar-free"),
                    ],
                    note=percent(row.utilisation),
                )
                for row in report.rows
            ],
            scale=scale,
        ),
        "bands": charts.bar_chart(
            title="Time from booking to appointment",
            bars=[
                charts.Bar(label=label, segments=[(count, "bar-band")], note=str(count))
                for (label, _, _), count in zip(BANDS, report.bands, strict=True)
            ],
        ),
        "demand": charts.bar_chart(
            title="Share of each day's slots gone within an hour of release",
            bars=[
                charts.Bar(
                    label=uk_date(day.day),
                    segments=[(100 * (day.share or 0), "bar-gone")],
                    note=percent(day.share),
                )
                for day in report.demand
            ],
            scale=100,
        ),
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """A name a practice typed ("=HYPERLINK(...)") must not run as a spreadsheet formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(practices: QuerySet[Practice], period: Period, group_by: str, table: str) -> Any:
    rows: Iterable[list[Any]]
    if table == "gpad":
        rows = reporting.gpad_rows(practices=practices, period=period)
    else:
        report = reporting.practice_report(practices=practices, period=period, group_by=group_by)
        rows = _table_rows(report, table)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([_cell(value) for value in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    name = f"gp-booking-{table}-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _table_rows(report: Report, table: str) -> Iterator[list[Any]]:
    if table == "bands":
        yield ["time_from_booking_to_appointment", "appointments"]
        for (label, _, _), count in zip(BANDS, report.bands, strict=True):
            yield [label, count]
        return
    if table == "demand":
        yield ["date", "slots", "gone_within_first_hour"]
        for day in report.demand:
            yield [day.day.isoformat(), day.slots, day.gone_in_first_hour]
        return
    if table == "gp_connect":
        yield ["booking_organisation_ods_code", "booking_organisation", "booked", "attended",
               "did_not_attend", "cancelled"]  # fmt: skip
        for org in report.gp_connect:
            yield [org.ods_code, org.name, org.booked, org.attended, org.did_not_attend,
                   org.cancelled]  # fmt: skip
        return
    yield [report.group_by, "offered", "booked", "attended", "did_not_attend",
           "cancelled_by_patient", "cancelled_by_practice", "utilisation", "dna_rate"]  # fmt: skip
    for row in [*report.rows, report.total]:
        yield [
            row.label, row.offered, row.booked, row.attended, row.did_not_attend,
            row.cancelled_by_patient, row.cancelled_by_practice,
            "" if row.utilisation is None else f"{row.utilisation:.3f}",
            "" if row.dna_rate is None else f"{row.dna_rate:.3f}",
        ]  # fmt: skip
