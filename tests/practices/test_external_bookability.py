"""Which slots other NHS organisations may book through GP Connect: the practice's switch and
embargo, each slot type's or session's setting, and the specification's matching table
(GP Connect 1.2, "Slot availability management")."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.db import violated_constraint
from practices.models import (
    EXTERNAL_NOT_BOOKABLE,
    EXTERNAL_TOO_FAR_AHEAD,
    EXTERNAL_TOO_SOON,
    ExternalBookability,
    OrganisationType,
    Practice,
    Slot,
    SlotStatus,
    SlotType,
)
from tests.factories import (
    ExternalBookabilityFactory,
    SessionFactory,
    free_slot,
    gp_connect_bookable,
)

pytestmark = pytest.mark.django_db

NHS_111 = {"ods_code": "RYA", "organisation_type": OrganisationType.URGENT_CARE}
NOT_SAID = {"ods_code": None, "organisation_type": None}


def offered(**consumer) -> list[Slot]:
    return list(Slot.objects.bookable_externally(now=timezone.now(), **consumer))


def routine(practice: Practice) -> SlotType:
    return SlotType.objects.get(practice=practice, code="routine")


# The specification's table, one row per case: the slot's restrictions (ODS codes, types),
# what the consumer sent (ODS code, type), and whether the slot is returned.
MATCHING = [
    pytest.param([], [], None, None, True, id="unrestricted-nothing-sent"),
    pytest.param([], [], "RYA", "urgent-care", True, id="unrestricted-both-sent"),
    pytest.param(["RYA"], [], None, None, False, id="by-code-nothing-sent"),
    pytest.param([], ["urgent-care"], None, None, False, id="by-type-nothing-sent"),
    pytest.param(["RYA"], [], "RYA", None, True, id="by-code-code-matches"),
    pytest.param(["RYA"], [], "A81002", None, False, id="by-code-other-code"),
    pytest.param(["RYA"], [], None, "urgent-care", False, id="by-code-only-type-sent"),
    pytest.param([], ["urgent-care"], None, "urgent-care", True, id="by-type-type-matches"),
    pytest.param([], ["urgent-care"], None, "gp-practice", False, id="by-type-other-type"),
    pytest.param([], ["urgent-care"], "RYA", None, False, id="by-type-only-code-sent"),
    pytest.param(["RYA"], [], "RYA", "gp-practice", True, id="by-code-both-sent"),
    pytest.param([], ["urgent-care"], "A81002", "urgent-care", True, id="by-type-both-sent"),
    pytest.param(["RYA"], ["urgent-care"], "RYA", "urgent-care", True, id="both-both-match"),
    pytest.param(["RYA"], ["urgent-care"], "RYA", "gp-practice", False, id="both-type-differs"),
    pytest.param(["RYA"], ["urgent-care"], "A81002", "urgent-care", False, id="both-code-differs"),
    pytest.param(["RYA", "A81002"], [], "A81002", None, True, id="one-of-several-codes"),
]


@pytest.mark.parametrize(("codes", "types", "ods_code", "organisation_type", "returned"), MATCHING)
def test_a_slot_is_offered_as_the_specifications_matching_table_says(
    riverside, codes, types, ods_code, organisation_type, returned
):
    gp_connect_bookable(riverside, ods_codes=codes, organisation_types=types)
    slot = free_slot(riverside)

    found = offered(ods_code=ods_code, organisation_type=organisation_type)

    assert found == ([slot] if returned else [])


@pytest.mark.parametrize(("codes", "types", "ods_code", "organisation_type", "returned"), MATCHING)
def test_the_single_slot_check_agrees_with_the_search(
    riverside, codes, types, ods_code, organisation_type, returned
):
    gp_connect_bookable(riverside, ods_codes=codes, organisation_types=types)
    slot = free_slot(riverside)

    refusal = slot.external_refusal(
        ods_code=ods_code, organisation_type=organisation_type, now=timezone.now()
    )

    assert refusal == (None if returned else EXTERNAL_NOT_BOOKABLE)


def test_a_code_sent_in_small_letters_matches_the_code_in_capitals(riverside):
    gp_connect_bookable(riverside, ods_codes=["RYA"])
    slot = free_slot(riverside)

    assert offered(ods_code="rya", organisation_type=None) == [slot]


def test_a_type_gp_connect_does_not_define_still_counts_as_a_type_sent(riverside):
    # The acceptance tests search with "oncology" and expect an answer, not an error.
    gp_connect_bookable(riverside, organisation_types=["gp-practice"])
    gp_connect_bookable(riverside, slot_type="urgent")
    open_to_all = free_slot(riverside, slot_type="urgent")
    free_slot(riverside, hours_ahead=30)

    assert offered(ods_code=None, organisation_type="oncology") == [open_to_all]


def test_a_slot_type_marked_not_bookable_is_not_offered(riverside):
    gp_connect_bookable(riverside, bookable=False)
    free_slot(riverside)

    assert offered(**NOT_SAID) == []


def test_a_slot_whose_type_has_no_setting_is_not_offered(riverside):
    gp_connect_bookable(riverside, slot_type="urgent")
    free_slot(riverside, slot_type="routine")

    assert offered(**NOT_SAID) == []


def test_another_practices_setting_for_the_same_code_does_not_apply(riverside, hilltop):
    gp_connect_bookable(hilltop, slot_type="routine")
    riverside.gp_connect_enabled = True
    riverside.save()
    free_slot(riverside, slot_type="routine")

    assert offered(**NOT_SAID) == []


def test_a_sessions_setting_takes_precedence_over_its_slot_types(riverside):
    gp_connect_bookable(riverside)
    session = SessionFactory(practice=riverside)
    ExternalBookabilityFactory(session=session, bookable=False)
    free_slot(riverside, session=session)

    assert offered(**NOT_SAID) == []


def test_a_session_can_offer_slots_whose_type_is_not_offered(riverside):
    gp_connect_bookable(riverside, bookable=False)
    session = SessionFactory(practice=riverside)
    ExternalBookabilityFactory(session=session, ods_codes=["RYA"])
    slot = free_slot(riverside, session=session)

    assert offered(**NHS_111) == [slot]


def test_a_sessions_restriction_replaces_its_slot_types_rather_than_adding_to_it(riverside):
    gp_connect_bookable(riverside, organisation_types=["gp-practice"])
    session = SessionFactory(practice=riverside)
    ExternalBookabilityFactory(session=session, organisation_types=["urgent-care"])
    slot = free_slot(riverside, session=session)

    assert offered(**NHS_111) == [slot]


def test_a_slot_of_a_session_without_a_setting_follows_its_slot_type(riverside):
    gp_connect_bookable(riverside)
    slot = free_slot(riverside, session=SessionFactory(practice=riverside))

    assert offered(**NOT_SAID) == [slot]


def test_a_practice_without_gp_connect_offers_nothing(riverside):
    gp_connect_bookable(riverside)
    riverside.gp_connect_enabled = False
    riverside.save()
    slot = free_slot(riverside)

    assert offered(**NOT_SAID) == []
    assert slot.external_refusal(**NOT_SAID, now=timezone.now()) == EXTERNAL_NOT_BOOKABLE


def test_an_inactive_practice_offers_nothing(riverside):
    gp_connect_bookable(riverside)
    Practice.objects.filter(pk=riverside.pk).update(is_active=False)
    free_slot(riverside)

    assert offered(**NOT_SAID) == []


@pytest.mark.parametrize("status", [SlotStatus.BOOKED, SlotStatus.BLOCKED, SlotStatus.HELD])
def test_a_slot_that_is_not_free_is_not_offered(riverside, status):
    gp_connect_bookable(riverside)
    free_slot(riverside, status=status)

    assert offered(**NOT_SAID) == []


def test_a_slot_that_has_started_is_not_offered(riverside):
    gp_connect_bookable(riverside)
    free_slot(riverside, start=timezone.now() - dt.timedelta(minutes=5))

    assert offered(**NOT_SAID) == []


def test_a_slot_inside_the_practices_gp_connect_notice_is_not_offered(riverside):
    gp_connect_bookable(riverside)
    Practice.objects.filter(pk=riverside.pk).update(external_min_notice_minutes=120)
    soon = free_slot(riverside, start=timezone.now() + dt.timedelta(minutes=90))
    later = free_slot(riverside, start=timezone.now() + dt.timedelta(minutes=150))

    assert offered(**NOT_SAID) == [later]
    soon.refresh_from_db()
    assert soon.external_refusal(**NOT_SAID, now=timezone.now()) == EXTERNAL_TOO_SOON


def test_a_slot_beyond_the_practices_gp_connect_horizon_is_not_offered(riverside):
    gp_connect_bookable(riverside)
    Practice.objects.filter(pk=riverside.pk).update(external_horizon_days=2)
    near = free_slot(riverside, hours_ahead=24)
    far = free_slot(riverside, hours_ahead=72)

    assert offered(**NOT_SAID) == [near]
    far.refresh_from_db()
    assert far.external_refusal(**NOT_SAID, now=timezone.now()) == EXTERNAL_TOO_FAR_AHEAD


def test_the_gp_connect_window_ignores_the_patients_online_rules(riverside):
    gp_connect_bookable(riverside)
    Practice.objects.filter(pk=riverside.pk).update(min_notice_minutes=24 * 60)
    slot = free_slot(riverside, hours_ahead=2, online_bookable=False)

    assert offered(**NOT_SAID) == [slot]


def test_each_practice_keeps_its_own_embargo(riverside, hilltop):
    gp_connect_bookable(riverside)
    gp_connect_bookable(hilltop)
    Practice.objects.filter(pk=hilltop.pk).update(external_horizon_days=1)
    at_riverside = free_slot(riverside, hours_ahead=48)
    free_slot(hilltop, hours_ahead=48)

    assert offered(**NOT_SAID) == [at_riverside]


def test_a_slot_it_may_book_is_not_refused(riverside):
    gp_connect_bookable(riverside)
    slot = free_slot(riverside)

    assert slot.external_refusal(**NHS_111, now=timezone.now()) is None


def test_the_search_is_one_query_whatever_it_finds(riverside, hilltop, assert_statements):
    gp_connect_bookable(riverside)
    session = SessionFactory(practice=riverside, start=timezone.now() + dt.timedelta(days=3))
    ExternalBookabilityFactory(session=session)
    gp_connect_bookable(hilltop)
    for hours in (24, 25, 26):
        free_slot(riverside, hours_ahead=hours)
        free_slot(hilltop, hours_ahead=hours)
    free_slot(riverside, hours_ahead=72, session=session)
    now = timezone.now()

    with assert_statements(1, throttled=False):
        found = list(
            Slot.objects.bookable_externally(now=now, **NHS_111)
            .between(now, now + dt.timedelta(days=7))
            .filter(practice__ods_code="A81001")
        )

    assert len(found) == 4


def test_the_single_slot_check_is_one_query_once_the_practice_is_loaded(
    riverside, assert_statements
):
    gp_connect_bookable(riverside)
    slot = free_slot(riverside, session=SessionFactory(practice=riverside))
    slot = Slot.objects.select_related("practice").get(pk=slot.pk)

    with assert_statements(1, throttled=False):
        slot.external_refusal(**NHS_111, now=timezone.now())


# The database's own guard, whatever writes the rows.


def refused_by(constraint: str, **fields) -> bool:
    try:
        with transaction.atomic():
            ExternalBookability.objects.create(**fields)
    except IntegrityError as exc:
        return violated_constraint(exc) == constraint
    return False


def test_the_database_refuses_a_setting_for_both_a_slot_type_and_a_session(riverside):
    session = SessionFactory(practice=riverside)

    assert refused_by(
        "practices_extbook_slot_type_xor_session", slot_type=routine(riverside), session=session
    )


def test_the_database_refuses_a_setting_for_nothing(riverside):
    assert refused_by("practices_extbook_slot_type_xor_session")


def test_the_database_refuses_a_second_setting_for_a_slot_type(riverside):
    ExternalBookabilityFactory(slot_type=routine(riverside))

    assert refused_by("practices_extbook_one_per_type", slot_type=routine(riverside))


def test_the_database_refuses_a_second_setting_for_a_session(riverside):
    session = SessionFactory(practice=riverside)
    ExternalBookabilityFactory(session=session)

    assert refused_by("practices_extbook_one_per_session", session=session)


def test_the_database_refuses_an_organisation_type_gp_connect_does_not_define(riverside):
    assert refused_by(
        "practices_extbook_organisation_types",
        slot_type=routine(riverside),
        organisation_types=["urgent-care", "pharmacy"],
    )


@pytest.mark.parametrize("codes", [["rya"], ["RY"], ["RYA,A81"], ["RYA", ""], ["RYA", None]])
def test_the_database_refuses_a_malformed_ods_code(riverside, codes):
    assert refused_by("practices_extbook_ods_codes", slot_type=routine(riverside), ods_codes=codes)


def test_the_database_refuses_a_gp_connect_horizon_of_no_days(riverside):
    with pytest.raises(IntegrityError), transaction.atomic():
        Practice.objects.filter(pk=riverside.pk).update(external_horizon_days=0)


def test_the_database_refuses_a_negative_gp_connect_notice(riverside):
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        Practice.objects.filter(pk=riverside.pk).update(external_min_notice_minutes=-1)


def test_cleaning_writes_each_ods_code_once_in_capitals(riverside):
    setting = ExternalBookability(slot_type=routine(riverside), ods_codes=[" rya", "RYA", "a81002"])

    setting.full_clean()

    assert setting.ods_codes == ["RYA", "A81002"]


def test_cleaning_names_the_code_that_is_not_an_ods_code(riverside):
    setting = ExternalBookability(slot_type=routine(riverside), ods_codes=["RYA", "R-1"])

    with pytest.raises(ValidationError, match='"R-1" is not an ODS code'):
        setting.full_clean()


# The admin: the practice's own staff set it on the slot type and session pages.


def slot_type_form(slot_type: SlotType, **inline) -> dict[str, str]:
    """The slot type's change form as posted, with ``inline`` the GP Connect row's fields."""
    prefix = "gp_connect_bookability"
    data = {
        "name": slot_type.name,
        "national_category": slot_type.national_category,
        "service_setting": slot_type.service_setting,
        "default_mode": slot_type.default_mode,
        "duration_minutes": str(slot_type.duration_minutes),
        "online_bookable": "on",
        "is_active": "on",
        f"{prefix}-TOTAL_FORMS": "1" if inline else "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
    }
    data.update({f"{prefix}-0-{name}": value for name, value in inline.items()})
    return data


def test_the_slot_type_page_explains_the_gp_connect_setting(client, riverside, dave):
    client.force_login(dave)

    page = client.get(reverse("admin:practices_slottype_change", args=[routine(riverside).pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "GP Connect bookability" in html
    assert "a session&#x27;s own setting, if it has one, takes precedence" in html
    assert "Urgent care" in html  # an organisation type to tick


def test_a_practice_administrator_offers_a_slot_type_to_urgent_care(client, riverside, dave):
    client.force_login(dave)
    kind = routine(riverside)

    response = client.post(
        reverse("admin:practices_slottype_change", args=[kind.pk]),
        slot_type_form(
            kind, bookable="on", organisation_types="urgent-care", ods_codes="rya, a81002"
        ),
    )

    assert response.status_code == 302
    setting = ExternalBookability.objects.get(slot_type=kind)
    assert (setting.bookable, setting.organisation_types, setting.ods_codes) == (
        True,
        ["urgent-care"],
        ["RYA", "A81002"],
    )


def test_a_setting_added_with_every_default_is_saved(client, riverside, dave):
    client.force_login(dave)
    kind = routine(riverside)

    client.post(
        reverse("admin:practices_slottype_change", args=[kind.pk]),
        slot_type_form(kind, bookable="on", ods_codes=""),
    )

    assert ExternalBookability.objects.get(slot_type=kind).matches(**NOT_SAID)


def test_saving_a_slot_type_without_adding_a_setting_makes_none(client, riverside, dave):
    client.force_login(dave)
    kind = routine(riverside)

    client.post(reverse("admin:practices_slottype_change", args=[kind.pk]), slot_type_form(kind))

    assert not ExternalBookability.objects.exists()


def test_the_admin_refuses_a_malformed_ods_code_on_the_form(client, riverside, dave):
    client.force_login(dave)
    kind = routine(riverside)

    response = client.post(
        reverse("admin:practices_slottype_change", args=[kind.pk]),
        slot_type_form(kind, bookable="on", ods_codes="RYA, R-1"),
    )

    assert response.status_code == 200
    assert "&quot;R-1&quot; is not an ODS code" in response.content.decode()
    assert not ExternalBookability.objects.exists()


def test_the_admin_refuses_a_second_setting_for_a_slot_type(client, riverside, dave):
    client.force_login(dave)
    kind = routine(riverside)
    data = slot_type_form(kind, bookable="on")
    data |= {"gp_connect_bookability-TOTAL_FORMS": "2", "gp_connect_bookability-1-bookable": ""}

    response = client.post(reverse("admin:practices_slottype_change", args=[kind.pk]), data)

    assert "Please submit at most 1 form." in response.content.decode()
    assert not ExternalBookability.objects.exists()


def test_the_session_page_offers_a_setting_of_its_own(client, riverside, dave):
    session = SessionFactory(practice=riverside)
    client.force_login(dave)

    page = client.get(reverse("admin:practices_session_change", args=[session.pk]))

    assert page.status_code == 200
    assert "replaces the slot type&#x27;s GP Connect setting" in page.content.decode()


def test_a_practice_administrator_keeps_one_session_from_gp_connect(client, riverside, dave):
    gp_connect_bookable(riverside)
    session = SessionFactory(practice=riverside)
    client.force_login(dave)
    day = session.start.date().isoformat()
    prefix = "gp_connect_bookability"

    response = client.post(
        reverse("admin:practices_session_change", args=[session.pk]),
        {"practice": riverside.pk, "clinician": session.clinician.pk, "start_0": day,
         "start_1": "14:00", "end_0": day, "end_1": "16:00", "slot_minutes": "10",
         "slot_type": "routine", "channel": "in_person", "online_bookable": "on",
         f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0",
         f"{prefix}-0-ods_codes": ""},
    )  # fmt: skip

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not ExternalBookability.objects.get(session=session).bookable


def test_a_clinician_sees_the_setting_but_cannot_change_it(client, riverside, carol):
    ExternalBookabilityFactory(slot_type=routine(riverside), ods_codes=["RYA"])
    client.force_login(carol)

    page = client.get(reverse("admin:practices_slottype_change", args=[routine(riverside).pk]))

    formset = page.context["inline_admin_formsets"][0]
    assert "RYA" in page.content.decode()
    assert not formset.has_change_permission and not formset.has_add_permission


def test_the_practice_page_has_a_gp_connect_section(client, riverside, dave):
    client.force_login(dave)

    page = client.get(reverse("admin:practices_practice_change", args=[riverside.pk]))

    fieldsets = {name: options["fields"] for name, options in page.context["adminform"].fieldsets}
    assert fieldsets["GP Connect"] == (
        "gp_connect_enabled",
        "external_horizon_days",
        "external_min_notice_minutes",
    )


def test_a_new_practice_starts_with_gp_connect_off(riverside):
    assert not riverside.gp_connect_enabled
    assert (riverside.external_horizon_days, riverside.external_min_notice_minutes) == (14, 0)
