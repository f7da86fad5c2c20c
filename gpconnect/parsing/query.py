"""GP Connect's search parameters, read strictly: dates and ranges, the slot search's
filters, an NHS number, a logical id. Each refusal is the FhirError the specification (or,
where it is silent, the provider assurance tests) gives."""

import datetime as dt
import re
from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo

from django.http import QueryDict

from accounts.nhs import is_valid_nhs_number

from ..errors import (
    BAD_REQUEST,
    INVALID_IDENTIFIER_SYSTEM,
    INVALID_NHS_NUMBER,
    INVALID_PARAMETER,
    FhirError,
)
from ..resources import NHS_NUMBER_SYSTEM, ODS_SYSTEM, ORGANISATION_TYPE_SYSTEM

UK = ZoneInfo("Europe/London")
SEARCH_DAYS = 14  # "a maximum date range covering a two-week period"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A dateTime with its UTC offset, to the second: the assurance tests refuse "Z" and no offset.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
# A FHIR logical id.
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _date_or_time(value: str, name: str, *, date_only: bool = False) -> dt.date | dt.datetime:
    # The specification prints offsets unencoded (ge2019-03-29T12:00:00+00:00): in a query
    # string that "+" arrives as a space.
    value = re.sub(r"(T\d{2}:\d{2}:\d{2}) (\d{2}:\d{2})$", r"\1+\2", value)
    # The last year is refused: a range ending in it would run past what dates can hold.
    if _DATE.match(value) and not value.startswith("9999"):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    elif not date_only and _DATE_TIME.match(value) and not value.startswith("9999"):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    wanted = "yyyy-mm-dd" if date_only else "yyyy-mm-dd or yyyy-mm-ddThh:mm:ss+hh:mm"
    raise FhirError(INVALID_PARAMETER, f"{name} must be a date or time as {wanted}: {value!r}")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UK)


def _one(query: QueryDict, name: str) -> str:
    values = query.getlist(name)
    if not values:
        raise FhirError(BAD_REQUEST, f"The {name} parameter is required.")
    if len(values) > 1:
        raise FhirError(INVALID_PARAMETER, f"The {name} parameter may be given once.")
    return values[0]


def _prefixed(value: str, prefix: str, name: str) -> str:
    if not value.startswith(prefix):
        raise FhirError(INVALID_PARAMETER, f"{name} must have the {prefix!r} prefix.")
    return value[len(prefix) :]


@dataclass(frozen=True)
class SlotSearch:
    start: dt.datetime  # slots starting at or after
    end: dt.datetime  # and ending at or before
    ods_code: str | None
    organisation_type: str | None
    practitioners: bool
    locations: bool


def slot_search(query: QueryDict) -> SlotSearch:
    """``GET Slot``'s parameters (search for free slots)."""
    start_value = _prefixed(_one(query, "start"), "ge", "start")
    end_value = _prefixed(_one(query, "end"), "le", "end")
    if _one(query, "status") != "free":
        raise FhirError(INVALID_PARAMETER, "status must be 'free': only free slots are searched.")
    if "Slot:schedule" not in query.getlist("_include"):
        raise FhirError(INVALID_PARAMETER, "_include=Slot:schedule is required.")
    start = _date_or_time(start_value, "start")
    end = _date_or_time(end_value, "end")
    start_at = start if isinstance(start, dt.datetime) else _midnight(start)
    # A date as the end takes in the whole day; the two weeks are counted between the values.
    end_at = end if isinstance(end, dt.datetime) else _midnight(end + dt.timedelta(days=1))
    end_mark = end if isinstance(end, dt.datetime) else _midnight(end)
    if end_mark < start_at:
        raise FhirError(INVALID_PARAMETER, "end must not be before start.")
    if end_mark - start_at > dt.timedelta(days=SEARCH_DAYS):
        raise FhirError(INVALID_PARAMETER, f"The search may cover {SEARCH_DAYS} days at most.")
    ods_code = organisation_type = None
    # Filters of other systems (an urgent care disposition code, a service id) are ignored,
    # as the specification requires.
    for search_filter in query.getlist("searchFilter"):
        system, _, code = search_filter.partition("|")
        if system == ODS_SYSTEM and code:
            ods_code = code.upper()
        elif system == ORGANISATION_TYPE_SYSTEM and code:
            organisation_type = code
    recurse = set(query.getlist("_include:recurse"))
    return SlotSearch(
        start=start_at,
        end=end_at,
        ods_code=ods_code,
        organisation_type=organisation_type,
        practitioners="Schedule:actor:Practitioner" in recurse,
        locations="Schedule:actor:Location" in recurse,
    )


def appointment_range(query: QueryDict, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """``GET Patient/{id}/Appointment``'s two ``start`` dates: from (``ge``) and to (``le``),
    both whole dates, none in the past."""
    values = query.getlist("start")
    if len(values) != 2:
        raise FhirError(INVALID_PARAMETER, "Send start twice: start=ge<date> and start=le<date>.")
    by_prefix = {value[:2]: value[2:] for value in values}
    if set(by_prefix) != {"ge", "le"}:
        raise FhirError(INVALID_PARAMETER, "One start must have the 'ge' prefix, one 'le'.")
    low = _date_or_time(by_prefix["ge"], "start", date_only=True)
    high = _date_or_time(by_prefix["le"], "start", date_only=True)
    assert isinstance(low, dt.date) and isinstance(high, dt.date)
    if low < today or high < today:
        raise FhirError(INVALID_PARAMETER, "Only today and future dates can be searched.")
    if high < low:
        raise FhirError(INVALID_PARAMETER, "The le date must not be before the ge date.")
    return low, high


def nhs_number(query: QueryDict) -> str:
    """``GET Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|<number>``."""
    system, separator, value = _one(query, "identifier").partition("|")
    if not separator or system != NHS_NUMBER_SYSTEM:
        raise FhirError(INVALID_IDENTIFIER_SYSTEM, f"Search by {NHS_NUMBER_SYSTEM}|<NHS number>.")
    if not is_valid_nhs_number(value):
        raise FhirError(INVALID_NHS_NUMBER, "That is not a valid NHS number.")
    return value


def logical_id(value: str) -> UUID | None:
    """Our logical ids are UUIDs; anything else names nothing we hold."""
    try:
        return UUID(value) if ID.match(value) else None
    except ValueError:
        return None
