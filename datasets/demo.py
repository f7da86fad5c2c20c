"""Realistic demo data, made fast enough for benchmark scale (bulk inserts in batches).

Everything here is marked as demo: practices with ``is_demo`` and users whose email is at
``DEMO_DOMAIN``. ``reset_demo_data`` removes exactly that and nothing else.

Past appointments cannot be booked through the booking rules (they forbid the past), so the
demo history is loaded directly with the same invariants the database enforces for every
writer: one live appointment per slot, no overlaps per patient, history rows for each.
"""

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import STAFF_GROUPS, AuditEvent, LoginLockout, PatientProfile, Role, User
from accounts.nhs import nhs_check_digit
from booking.models import (
    HOLDS_SLOT,
    Appointment,
    AppointmentHistory,
    AppointmentStatus,
    CancelledBy,
    IdempotencyRecord,
    Notification,
    OfferMessage,
    Source,
    Vacancy,
    WaitingListEntry,
    WaitingListOffer,
    new_reference,
)
from core.db import append_only_lifted
from practices.gpad import mode_for
from practices.models import (
    Channel,
    Clinician,
    Closure,
    ExternalBookability,
    OpeningHours,
    Practice,
    PracticeMembership,
    Profession,
    Session,
    SessionTemplate,
    Slot,
    SlotStatus,
    SlotType,
)
from practices.services import ensure_default_slot_types, generate_slots

if TYPE_CHECKING:
    from django.db.models import QuerySet

DEMO_DOMAIN = "demo.gp-booking.test"
DEMO_PASSWORD = "Demo-Pass-123!"  # noqa: S105 - printed for people to sign in with; demo only
DEMO_LOGINS = {
    "patient": f"patient@{DEMO_DOMAIN}",
    "clinician": f"clinician@{DEMO_DOMAIN}",
    "practice admin": f"practice.admin@{DEMO_DOMAIN}",
    "superuser": f"superuser@{DEMO_DOMAIN}",
}
BATCH = 2000

TOWNS = [
    ("Leeds", "LS"), ("Manchester", "M"), ("Birmingham", "B"), ("Bristol", "BS"),
    ("Sheffield", "S"), ("Nottingham", "NG"), ("Leicester", "LE"), ("Newcastle upon Tyne", "NE"),
    ("Liverpool", "L"), ("Norwich", "NR"), ("Exeter", "EX"), ("York", "YO"), ("Derby", "DE"),
    ("Plymouth", "PL"), ("Reading", "RG"), ("Cambridge", "CB"), ("Oxford", "OX"),
    ("Southampton", "SO"), ("Hull", "HU"), ("Preston", "PR"),
]  # fmt: skip
PRACTICE_NAMES = [
    "Riverside Surgery", "Park View Medical Centre", "The Health Centre", "Castle Practice",
    "Abbey Road Surgery", "Church Street Medical Practice", "Meadowbank Surgery",
    "Springfield Health Centre", "Oak Tree Medical Practice", "Victoria Surgery",
    "Market Square Practice", "Hillside Family Practice",
]  # fmt: skip
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "King Street"]
GIVEN = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Sophia", "Grace", "Freya",
    "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Jack", "Theo",
    "Aisha", "Priya", "Chen", "Kwame", "Siobhan", "Rhys", "Ewan", "Fatima", "Tomasz", "Zara",
]  # fmt: skip
FAMILY = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Ahmed", "Singh", "Murphy", "O'Brien", "Kowalski", "Nguyen", "Okafor", "Campbell",
]  # fmt: skip
FEMALE_GIVEN = set(GIVEN[:10]) | {"Aisha", "Priya", "Siobhan", "Fatima", "Zara"}
# (profession, display prefix, slot minutes), cycled through each practice's clinicians.
CLINICIAN_MIX = [
    (Profession.GP, "Dr", 10),
    (Profession.NURSE, "Nurse", 15),
    (Profession.GP, "Dr", 10),
    (Profession.PHARMACIST, "", 20),
    (Profession.HCA, "", 15),
    (Profession.PHYSIOTHERAPIST, "", 20),
]


# Each practice's own slot types beside the common three: (code, name, minutes, GPAD mapping).
# The baby clinic is left unmapped on purpose, so the admin's home page shows its warning.
DEMO_SLOT_TYPES: list[tuple[str, str, int, dict[str, Any]]] = [
    ("nurse_clinic", "Nurse clinic", 15, {"national_category": "planned_clinics"}),
    ("blood_test", "Blood test", 15, {"national_category": "planned_clinical_procedure"}),
    (
        "medication_review",
        "Medication review (by phone)",
        20,
        {"national_category": "structured_medication_review", "default_mode": "telephone"},
    ),
    (
        "telephone_triage",
        "Telephone triage",
        10,
        {"national_category": "clinical_triage", "default_mode": "telephone"},
    ),
    (
        "home_visit",
        "Home visit",
        30,
        {"national_category": "home_visit", "default_mode": "home_visit", "online_bookable": False},
    ),
    ("physio", "Physiotherapy", 20, {"national_category": "planned_clinics"}),
    ("baby_clinic", "Baby clinic", 15, {}),
]


@dataclass(frozen=True)
class Sizes:
    practices: int = 3
    clinicians_per_practice: int = 3
    patients: int = 1500
    days: int = 14
    past_days: int = 14
    appointments: int = 200
    # A year of attended, missed and cancelled appointments before today, so the practice
    # report has something to show.
    history_days: int = 365
    seed: int = 2026


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def nhs_numbers(start: int = 0) -> Iterator[str]:
    """Valid NHS numbers from the never-issued test range 999 000 0000 - 999 999 9999."""
    stem = 999_000_000 + start
    while stem <= 999_999_999:
        check = nhs_check_digit(str(stem))
        if check is not None:
            yield f"{stem}{check}"
        stem += 1


def _chunks(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]


def seed_demo_data(sizes: Sizes, *, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Create the demo data; running it again adds only what is missing."""
    started = time.monotonic()
    rng = random.Random(sizes.seed)  # noqa: S311 - reproducible demo data, not secrets
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing per user would take minutes
    today = timezone.localdate()
    report = Report()

    practices = _practices(sizes, rng)
    if not practices:
        raise ValueError("Every demo ODS code is taken by a real practice; nothing to seed.")
    _gp_connect(practices[0])
    progress(f"{len(practices)} practices")
    back = max(sizes.past_days, sizes.history_days)
    clinicians = _staff(sizes, practices, password, valid_from=today - dt.timedelta(days=back))
    progress(f"{sum(len(c) for c in clinicians.values())} clinicians with weekly templates")
    patients = _patients(sizes, practices, password, rng)
    progress(f"{sum(len(p) for p in patients.values())} patients")
    _operator(password)

    weeks = -(-(sizes.days + back) // 7)
    result = generate_slots(weeks=weeks, today=today - dt.timedelta(days=back))
    progress(f"{result.sessions_created} sessions and {result.slots_created} slots")

    made = 0
    if not Appointment.objects.filter(practice__is_demo=True).exists():
        made = _appointments(sizes, practices, patients, rng, progress=progress)
        if sizes.history_days:
            made += _history(practices, patients, rng, since=today - dt.timedelta(days=back))
    progress(f"{made} appointments")

    report.counts = {
        "practices": len(practices),
        "sessions": result.sessions_created,
        "slots": result.slots_created,
        "appointments": made,
    }
    report.seconds = time.monotonic() - started
    return report


def _gp_connect(practice: Practice) -> None:
    """The first demo practice takes bookings from other NHS services through GP Connect: its
    routine appointments, from any organisation (what manage.py gpconnect_headers's demo
    consumer books)."""
    Practice.objects.filter(pk=practice.pk).update(gp_connect_enabled=True)
    routine = SlotType.objects.get(practice=practice, code="routine")
    ExternalBookability.objects.get_or_create(slot_type=routine, defaults={"bookable": True})


def _postcode(area: str, rng: random.Random) -> str:
    inward_letters = "ABDEFGHJLNPQRSTUWXYZ"  # the letters UK inward codes use
    return (
        f"{area}{rng.randint(1, 20)} "
        f"{rng.randint(1, 9)}{rng.choice(inward_letters)}{rng.choice(inward_letters)}"
    )


def _practices(sizes: Sizes, rng: random.Random) -> list[Practice]:
    wanted = []
    for index in range(sizes.practices):
        town, area = TOWNS[index % len(TOWNS)]
        name = PRACTICE_NAMES[index % len(PRACTICE_NAMES)]
        if index >= len(PRACTICE_NAMES):
            name = f"{name.split()[0]} {town} Surgery"
        wanted.append(
            Practice(
                # ODS-shaped (letter + 5 digits) in a block real practices are not given.
                ods_code=f"Y{90001 + index}",
                name=name,
                address_line_1=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
                town=town,
                postcode=_postcode(area, rng),
                phone=f"0{rng.randint(113, 199)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                email=f"practice{index + 1}@{DEMO_DOMAIN}",
                is_demo=True,
            )
        )
    # A real practice that happens to hold one of these codes is left alone (and skipped).
    Practice.objects.bulk_create(wanted, ignore_conflicts=True)
    practices = list(
        Practice.objects.filter(ods_code__in=[p.ods_code for p in wanted], is_demo=True).order_by(
            "ods_code"
        )
    )
    for practice in practices:
        ensure_default_slot_types(practice=practice)
    SlotType.objects.bulk_create(
        [
            SlotType(practice=p, code=code, name=name, duration_minutes=minutes, **gpad)
            for p in practices
            for code, name, minutes, gpad in DEMO_SLOT_TYPES
        ],
        ignore_conflicts=True,
    )
    fresh = [p for p in practices if not p.opening_hours.exists()]
    OpeningHours.objects.bulk_create(
        OpeningHours(practice=p, weekday=day, opens=dt.time(8), closes=dt.time(18, 30))
        for p in fresh
        for day in range(5)
    )
    # Every practice closes for a training afternoon: slots are not generated then.
    training = timezone.localdate() + dt.timedelta(
        days=(2 - timezone.localdate().weekday()) % 7 + 7
    )
    Closure.objects.bulk_create(
        Closure(
            practice=p,
            start=dt.datetime.combine(training, dt.time(13), tzinfo=p.tz),
            end=dt.datetime.combine(training, dt.time(18, 30), tzinfo=p.tz),
            reason="Protected learning time",
        )
        for p in fresh
    )
    return practices


def _bulk_users(users: list[User]) -> dict[str, User]:
    # Demo accounts can book at once: their addresses count as confirmed.
    for user in users:
        user.email_verified_at = user.email_verified_at or timezone.now()
    User.objects.bulk_create(users, ignore_conflicts=True, batch_size=BATCH)
    emails = [u.email for u in users]
    found: dict[str, User] = {}
    for chunk in _chunks(emails):
        found.update({u.email: u for u in User.objects.filter(email__in=chunk)})
    return found


def _staff(
    sizes: Sizes, practices: list[Practice], password: str, *, valid_from: dt.date
) -> dict[int, list[Clinician]]:
    users = []
    # (practice, email, index of the clinician at the practice; None for its administrator)
    plan: list[tuple[Practice, str, int | None]] = []
    c_index: int | None
    for p_index, practice in enumerate(practices):
        admin_email = (
            DEMO_LOGINS["practice admin"]
            if p_index == 0
            else f"admin.{practice.ods_code.lower()}@{DEMO_DOMAIN}"
        )
        users.append(
            User(
                email=admin_email,
                given_name="Pat",
                family_name=f"Manager {p_index + 1}",
                role=Role.ADMIN,
                is_staff=True,
                password=password,
            )
        )
        plan.append((practice, admin_email, None))
        for c_index in range(sizes.clinicians_per_practice):
            email = (
                DEMO_LOGINS["clinician"]
                if p_index == 0 and c_index == 0
                else f"clinician.{practice.ods_code.lower()}.{c_index + 1}@{DEMO_DOMAIN}"
            )
            given = GIVEN[(p_index * 7 + c_index * 3) % len(GIVEN)]
            family = FAMILY[(p_index * 5 + c_index * 11) % len(FAMILY)]
            users.append(
                User(
                    email=email,
                    given_name=given,
                    family_name=family,
                    role=Role.CLINICIAN,
                    is_staff=True,
                    password=password,
                )
            )
            plan.append((practice, email, c_index))
    by_email = _bulk_users(users)
    for role, group_name in STAFF_GROUPS.items():
        Group.objects.get(name=group_name).user_set.add(
            *(u for u in by_email.values() if u.role == role)
        )
    PracticeMembership.objects.bulk_create(
        [
            PracticeMembership(practice=practice, user=by_email[email])
            for practice, email, _ in plan
        ],
        ignore_conflicts=True,
    )

    have_clinician = set(
        Clinician.objects.filter(user__in=list(by_email.values())).values_list("user_id", flat=True)
    )
    new_clinicians = []
    for _, email, c_index in plan:
        user = by_email[email]
        if c_index is None or user.pk in have_clinician:
            continue
        profession, title, _ = CLINICIAN_MIX[c_index % len(CLINICIAN_MIX)]
        name = f"{user.given_name} {user.family_name}"
        new_clinicians.append(
            Clinician(
                user=user,
                display_name=f"{title} {user.given_name[0]} {user.family_name}" if title else name,
                profession=profession,
                gender="female" if user.given_name in FEMALE_GIVEN else "male",
            )
        )
    Clinician.objects.bulk_create(new_clinicians)
    by_user = {c.user_id: c for c in Clinician.objects.filter(user__in=list(by_email.values()))}

    clinicians: dict[int, list[Clinician]] = defaultdict(list)
    with_templates = set(
        SessionTemplate.objects.filter(practice__in=practices).values_list(
            "clinician_id", flat=True
        )
    )
    templates = []
    for practice, email, c_index in plan:
        if c_index is None:
            continue
        clinician = by_user[by_email[email].pk]
        clinicians[practice.pk].append(clinician)
        if clinician.pk not in with_templates:
            templates += _weekly_templates(practice, clinician, c_index, valid_from=valid_from)
    SessionTemplate.objects.bulk_create(templates)
    return clinicians


# Each kind of clinician's own sessions (index in CLINICIAN_MIX -> weekday -> morning/afternoon
# slot type, in person / channel, minutes); anything not named is the GP pattern below.
_OWN_SESSIONS: dict[int, dict[tuple[int | None, str], tuple[str, str, int | None]]] = {
    1: {(None, "am"): ("nurse_clinic", Channel.IN_PERSON, None),
        (4, "pm"): ("baby_clinic", Channel.IN_PERSON, None)},
    2: {(1, "pm"): ("home_visit", Channel.IN_PERSON, 30),
        (3, "pm"): ("telephone_triage", Channel.TELEPHONE, 10)},
    3: {(None, "pm"): ("medication_review", Channel.TELEPHONE, None)},
    4: {(None, "am"): ("blood_test", Channel.IN_PERSON, None)},
    5: {(None, "am"): ("physio", Channel.IN_PERSON, None)},
}  # fmt: skip
_STAFF_ONLY = {"urgent", "home_visit"}


def _weekly_templates(
    practice: Practice, clinician: Clinician, index: int, *, valid_from: dt.date
) -> list[SessionTemplate]:
    """Weekday mornings in person, afternoons by phone or video; the first clinician keeps
    Monday mornings for urgent, staff-only appointments; nurses, pharmacists and others run
    their own clinics (``_OWN_SESSIONS``)."""
    kind = index % len(CLINICIAN_MIX)
    minutes = CLINICIAN_MIX[kind][2]
    own = _OWN_SESSIONS.get(kind, {})
    templates = []
    for weekday in range(5):
        usual = {
            "am": ("urgent" if weekday == 0 and index == 0 else "routine", Channel.IN_PERSON, None),
            "pm": (
                "routine" if weekday % 2 == 0 else "follow_up",
                Channel.TELEPHONE if weekday % 2 == 0 else Channel.VIDEO,
                None,
            ),
        }
        for half, (start, end) in (("am", (9, 12)), ("pm", (14, 17))):
            slot_type, channel, own_minutes = (
                own.get((weekday, half)) or own.get((None, half)) or usual[half]
            )
            templates.append(
                SessionTemplate(
                    practice=practice,
                    clinician=clinician,
                    weekday=weekday,
                    start_time=dt.time(start),
                    end_time=dt.time(end),
                    slot_minutes=own_minutes or minutes,
                    slot_type=slot_type,
                    online_bookable=slot_type not in _STAFF_ONLY,
                    channel=channel,
                    valid_from=valid_from,
                )
            )
    return templates


def _patients(
    sizes: Sizes, practices: list[Practice], password: str, rng: random.Random
) -> dict[int, list[User]]:
    users, profiles_for = [], {}
    numbers = nhs_numbers()
    for index in range(sizes.patients):
        email = DEMO_LOGINS["patient"] if index == 0 else f"patient{index:05d}@{DEMO_DOMAIN}"
        practice = practices[0] if index == 0 else practices[index % len(practices)]
        users.append(
            User(
                email=email,
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                role=Role.PATIENT,
                password=password,
            )
        )
        town, area = (
            next(t for t in TOWNS if t[0] == practice.town)
            if any(t[0] == practice.town for t in TOWNS)
            else TOWNS[0]
        )
        profiles_for[email] = PatientProfile(
            nhs_number=next(numbers),
            nhs_number_confirmed_at=timezone.now(),
            date_of_birth=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 80)),
            phone=f"+4477009{rng.randint(0, 99999):05d}",
            address_line_1=f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
            town=practice.town,
            postcode=practice.postcode,
            notify_by_email=True,
            notify_by_sms=rng.random() < 0.5,
            registered_practice=practice,
        )
    by_email = _bulk_users(users)
    have_profile = set(
        PatientProfile.objects.filter(user__in=list(by_email.values())).values_list(
            "user_id", flat=True
        )
    )
    new_profiles = []
    for email, profile in profiles_for.items():
        user = by_email[email]
        if user.pk not in have_profile:
            profile.user = user
            new_profiles.append(profile)
    PatientProfile.objects.bulk_create(new_profiles, batch_size=BATCH, ignore_conflicts=True)
    patients: dict[int, list[User]] = defaultdict(list)
    for email, profile in profiles_for.items():
        assert profile.registered_practice_id is not None  # every profile above names one
        patients[profile.registered_practice_id].append(by_email[email])
    return patients


def _operator(password: str) -> None:
    User.objects.get_or_create(
        email=DEMO_LOGINS["superuser"],
        defaults={
            "given_name": "Olive",
            "family_name": "Operator",
            "role": Role.ADMIN,
            "is_staff": True,
            "is_superuser": True,
            "password": password,
        },
    )


def _appointments(
    sizes: Sizes,
    practices: list[Practice],
    patients: dict[int, list[User]],
    rng: random.Random,
    *,
    progress: Callable[[str], None],
) -> int:
    """Past, present and future appointments in every status, spread over the slots."""
    now = timezone.now()
    admins = _administrators(practices)
    per_practice = max(1, sizes.appointments // max(1, len(practices)))
    made = _Made()
    for practice in practices:
        registered = patients.get(practice.pk) or []
        if not registered:
            continue
        rows = _slot_rows(Slot.objects.filter(practice=practice, status=SlotStatus.FREE))
        modes = _usual_modes(practice)
        rng.shuffle(rows)
        busy: dict[Any, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        future_count: dict[Any, int] = defaultdict(int)
        demo_patient_first = sorted(registered, key=lambda u: u.email != DEMO_LOGINS["patient"])
        count = 0
        for row in rows:
            if count >= per_practice:
                break
            patient = (
                demo_patient_first[0]
                if count < 3 and demo_patient_first[0].email == DEMO_LOGINS["patient"]
                else rng.choice(registered)
            )
            if any(s < row.end and e > row.start for s, e in busy[patient.pk]):
                continue
            status = _demo_status(row.start, row.end, now, rng)
            if row.start > now and status == AppointmentStatus.BOOKED:
                if future_count[patient.pk] >= practice.max_future_appointments:
                    continue
                future_count[patient.pk] += 1
            if status != AppointmentStatus.CANCELLED:
                busy[patient.pk].append((row.start, row.end))
            cancelled = status == AppointmentStatus.CANCELLED
            made.add(
                _appointment(
                    row,
                    practice=practice,
                    patient=patient,
                    status=status,
                    mode=mode_for(channel=row.channel, default_mode=modes.get(row.slot_type)),
                    # Booked a few days ahead, and never after now or the start.
                    booked_at=min(now, row.start) - dt.timedelta(days=rng.randint(0, 10), hours=1),
                    cancelled_by=CancelledBy.PATIENT if cancelled else "",
                    cancelled_at=min(now, row.start - dt.timedelta(hours=3)) if cancelled else None,
                    references=made.references,
                    description=rng.choice(DESCRIPTIONS),
                ),
                outcome_by=admins.get(practice.pk),
            )
            count += 1
    return made.save()


# How long before its start a past appointment was booked, as GPAD's bands with weights: a
# third on the day, most within a week.
_LEAD_DAYS: list[tuple[tuple[int, int], float]] = [
    ((0, 0), 0.30), ((1, 1), 0.12), ((2, 7), 0.25), ((8, 14), 0.15), ((15, 21), 0.09),
    ((22, 28), 0.07), ((29, 35), 0.02),
]  # fmt: skip
# Released at 8am on the day (the 8am rush); everything else when the booking horizon reaches it.
SAME_DAY_TYPES = ["urgent", "telephone_triage", "home_visit"]
HISTORY_FILL = 0.82  # share of past slots that were booked


def _history(
    practices: list[Practice],
    patients: dict[int, list[User]],
    rng: random.Random,
    *,
    since: dt.date,
) -> int:
    """Appointments in the past slots still free: attended, missed, cancelled by the patient
    or the practice, each booked some time before, as a busy practice's year looks in GPAD.
    Also sets when each past slot was released."""
    now = timezone.now()
    admins = _administrators(practices)
    made = _Made(
        references=set(
            Appointment.objects.filter(practice__in=practices).values_list("reference", flat=True)
        )
    )
    for practice in practices:
        registered = patients.get(practice.pk) or []
        if not registered:
            continue
        tz, horizon = practice.tz, dt.timedelta(days=practice.booking_horizon_days)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE practices_slot SET released_at = CASE WHEN slot_type = ANY(%s) "
                "THEN ((start AT TIME ZONE %s)::date + time '08:00') AT TIME ZONE %s "
                "ELSE start - %s END WHERE practice_id = %s AND start < %s",
                [SAME_DAY_TYPES, practice.timezone, practice.timezone, horizon, practice.pk, now],  # type: ignore[list-item]  # psycopg adapts timedelta
            )
        modes = _usual_modes(practice)
        rows = _slot_rows(
            Slot.objects.filter(
                practice=practice,
                status=SlotStatus.FREE,
                start__lt=now,
                start__gte=dt.datetime.combine(since, dt.time.min, tz),
            ).order_by("start")
        )
        busy: dict[tuple[Any, dt.date], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for patient_id, start, end in Appointment.objects.filter(
            HOLDS_SLOT, patient__in=registered
        ).values_list("patient_id", "start", "end"):
            busy[(patient_id, start.date())].append((start, end))

        for row in rows:
            if rng.random() > HISTORY_FILL:
                continue
            if row.slot_type in SAME_DAY_TYPES:
                booked_at = row.released_at + dt.timedelta(minutes=rng.expovariate(1 / 25))
            else:
                (low, high), _ = rng.choices(_LEAD_DAYS, weights=[w for _, w in _LEAD_DAYS])[0]
                booked_at = row.start - dt.timedelta(
                    days=rng.randint(low, high), hours=rng.random()
                )
                booked_at = max(booked_at, row.released_at)
            booked_at = min(booked_at, row.start - dt.timedelta(minutes=5))
            patient = _free_patient(registered, busy, row.start, row.end, rng)
            if patient is None:
                continue
            roll = rng.random()
            status = (
                AppointmentStatus.CANCELLED
                if roll < 0.08
                else AppointmentStatus.DID_NOT_ATTEND
                if roll < 0.12
                else AppointmentStatus.COMPLETED
            )
            mode = mode_for(channel=row.channel, default_mode=modes.get(row.slot_type))
            if mode == "telephone" and rng.random() < 0.05:
                mode = "face_to_face"  # the call ended with "come in now"
            cancelled_by = ""
            if status == AppointmentStatus.CANCELLED:
                cancelled_by = CancelledBy.PATIENT if roll < 0.06 else CancelledBy.PRACTICE
            made.add(
                _appointment(
                    row,
                    practice=practice,
                    patient=patient,
                    status=status,
                    mode=mode,
                    booked_at=booked_at,
                    cancelled_by=cancelled_by,
                    cancelled_at=booked_at + (row.start - booked_at) / 2 if cancelled_by else None,
                    references=made.references,
                ),
                outcome_by=admins.get(practice.pk),
            )
    return made.save()


class SlotRow(NamedTuple):
    id: Any
    clinician_id: Any
    profession: str
    start: dt.datetime
    end: dt.datetime
    slot_type: str
    channel: str
    released_at: dt.datetime


def _slot_rows(slots: "QuerySet[Slot]") -> list[SlotRow]:
    fields = ("id", "clinician_id", "clinician__profession", "start", "end", "slot_type",
              "channel", "released_at")  # fmt: skip
    return [SlotRow(*values) for values in slots.values_list(*fields)]


def _usual_modes(practice: Practice) -> dict[str, str]:
    return dict(SlotType.objects.filter(practice=practice).values_list("code", "default_mode"))


def _administrators(practices: list[Practice]) -> dict[int, Any]:
    """Each practice's administrator: who records the demo's outcomes."""
    return {
        m.practice_id: m.user_id
        for m in PracticeMembership.objects.filter(practice__in=practices, user__role=Role.ADMIN)
    }


DESCRIPTIONS = ["", "Follow-up", "Medication review", "Sore throat", "Blood test results",
                "Back pain"]  # fmt: skip
CANCELLATION_REASONS = {"patient": "No longer needed", "practice": "Clinician unwell"}


def _appointment(
    row: SlotRow,
    *,
    practice: Practice,
    patient: User,
    status: str,
    mode: str,
    booked_at: dt.datetime,
    cancelled_by: str,
    cancelled_at: dt.datetime | None,
    references: set[str],
    description: str = "",
) -> Appointment:
    """A demo appointment of ``row``'s slot, with a reference no other demo row has (40 bits:
    at a quarter of a million rows two would clash about once in 35 runs)."""
    appointment = Appointment(
        patient_id=patient.pk,
        practice_id=practice.pk,
        slot_id=row.id,
        clinician_id=row.clinician_id,
        start=row.start,
        end=row.end,
        appointment_type=row.slot_type,
        channel=row.channel,
        status=status,
        mode=mode,
        clinician_profession=row.profession,
        booked_at=booked_at,
        booked_by_id=patient.pk,
        description=description,
        cancellation_reason=CANCELLATION_REASONS.get(cancelled_by, ""),
        cancelled_by=cancelled_by,
        cancelled_at=cancelled_at,
    )
    while appointment.reference in references:
        appointment.reference = new_reference()
    references.add(appointment.reference)
    return appointment


@dataclass
class _Made:
    """Demo appointments, their history rows and the slots they take, saved in bulk."""

    references: set[str] = field(default_factory=set)
    appointments: list[Appointment] = field(default_factory=list)
    history: list[AppointmentHistory] = field(default_factory=list)
    taken: list[Any] = field(default_factory=list)

    def add(self, appointment: Appointment, *, outcome_by: Any) -> None:
        self.appointments.append(appointment)
        # The patient booked; the patient cancelled, or the practice did and recorded outcomes.
        by = appointment.patient_id if appointment.cancelled_by == "patient" else outcome_by
        self.history += _history_rows(appointment, booked_by=appointment.patient_id, outcome_by=by)
        if appointment.status != AppointmentStatus.CANCELLED:
            self.taken.append(appointment.slot_id)

    def save(self) -> int:
        with transaction.atomic():
            for chunk in _chunks(self.appointments):
                Appointment.objects.bulk_create(chunk)
            for chunk in _chunks(self.history):
                AppointmentHistory.objects.bulk_create(chunk)
            for chunk in _chunks(self.taken):
                Slot.objects.filter(pk__in=chunk).update(status=SlotStatus.BOOKED)
        return len(self.appointments)


def _free_patient(
    registered: list[User],
    busy: dict[tuple[Any, dt.date], list[tuple[dt.datetime, dt.datetime]]],
    start: dt.datetime,
    end: dt.datetime,
    rng: random.Random,
) -> User | None:
    """A registered patient with nothing else then (the patient overlap constraint)."""
    for _ in range(4):
        patient = rng.choice(registered)
        taken = busy[(patient.pk, start.date())]
        if not any(s < end and e > start for s, e in taken):
            taken.append((start, end))
            return patient
    return None


def _history_rows(
    appointment: Appointment, *, booked_by: Any, outcome_by: Any
) -> list[AppointmentHistory]:
    rows = [
        AppointmentHistory(
            appointment=appointment,
            actor_id=booked_by,
            action=AppointmentHistory.Action.BOOKED,
            from_status="",
            to_status=AppointmentStatus.BOOKED,
            source=Source.COMMAND,
        )
    ]
    if appointment.status != AppointmentStatus.BOOKED:
        rows.append(
            AppointmentHistory(
                appointment=appointment,
                actor_id=outcome_by,
                action=appointment.status,
                from_status=AppointmentStatus.BOOKED,
                to_status=appointment.status,
                reason=appointment.cancellation_reason,
                source=Source.COMMAND,
            )
        )
    return rows


def _demo_status(start: dt.datetime, end: dt.datetime, now: dt.datetime, rng: random.Random) -> str:
    roll = rng.random()
    if end <= now:
        if roll < 0.7:
            return AppointmentStatus.COMPLETED
        return AppointmentStatus.DID_NOT_ATTEND if roll < 0.8 else AppointmentStatus.CANCELLED
    if start <= now:
        return AppointmentStatus.ARRIVED
    if start.date() == now.date() and roll < 0.3:
        return AppointmentStatus.ARRIVED
    return AppointmentStatus.CANCELLED if roll < 0.15 else AppointmentStatus.BOOKED


def reset_demo_data() -> dict[str, int]:
    """Remove demo practices, demo users and everything hanging off them; nothing else."""
    demo_users = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    demo_appointments = Appointment.objects.filter(
        practice__is_demo=True
    ) | Appointment.objects.filter(patient__in=demo_users)
    counts = {}
    lifted = append_only_lifted("booking_appointmenthistory", "accounts_auditevent")
    with transaction.atomic(), lifted:
        # The waiting list first: its offers and entries refer to slots and appointments.
        entries = WaitingListEntry.objects.filter(practice__is_demo=True) | (
            WaitingListEntry.objects.filter(patient__in=demo_users)
        )
        offers = WaitingListOffer.objects.filter(entry__in=entries)
        OfferMessage.objects.filter(offer__in=offers).delete()
        counts["waiting_list_offers"] = offers.delete()[0]
        Vacancy.objects.filter(practice__is_demo=True).delete()
        counts["waiting_list_entries"] = entries.delete()[0]
        counts["history"] = AppointmentHistory.objects.filter(
            appointment__in=demo_appointments
        ).delete()[0]
        # Appointments booked by hand against the demo (API, pages, GP Connect) have messages.
        Notification.objects.filter(appointment__in=demo_appointments).delete()
        counts["appointments"] = demo_appointments.delete()[0]
        IdempotencyRecord.objects.filter(user__in=demo_users).delete()
        counts["slots"] = Slot.objects.filter(practice__is_demo=True).delete()[0]
        Session.objects.filter(practice__is_demo=True).delete()
        SessionTemplate.objects.filter(practice__is_demo=True).delete()
        Clinician.objects.filter(user__in=demo_users).delete()
        PatientProfile.objects.filter(user__in=demo_users).delete()
        LoginLockout.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").delete()
        # The audit trail of access to demo patients (and by demo staff) goes with them: it
        # refers to them, and they are made up.
        AuditEvent.objects.filter(Q(patient__in=demo_users) | Q(actor__in=demo_users)).delete()
        counts["users"] = demo_users.delete()[1].get("accounts.User", 0)
        counts["practices"] = (
            Practice.objects.filter(is_demo=True).delete()[1].get("practices.Practice", 0)
        )
    return counts
