"""The two staff permission groups. Scoping to a practice is done by the admin itself; these
say what each kind of staff member may do there.

Created by migration 0004, and made again after every migrate or flush (post_migrate), so
test databases that are emptied between tests keep them.
"""

from typing import Any

from accounts.models import STAFF_GROUPS, Role

PRACTICE_ADMIN = STAFF_GROUPS[Role.ADMIN]
CLINICIAN = STAFF_GROUPS[Role.CLINICIAN]

GROUPS = {
    PRACTICE_ADMIN: [
        "view_practice", "change_practice", "view_practice_report",
        "view_slottype", "add_slottype", "change_slottype", "delete_slottype",
        "view_openinghours", "add_openinghours", "change_openinghours", "delete_openinghours",
        "view_closure", "add_closure", "change_closure", "delete_closure",
        "view_practicemembership", "add_practicemembership", "change_practicemembership",
        "delete_practicemembership",
        "view_clinician", "add_clinician", "change_clinician",
        "view_sessiontemplate", "add_sessiontemplate", "change_sessiontemplate",
        "delete_sessiontemplate",
        "view_session", "add_session", "change_session", "delete_session",
        "view_slot", "add_slot", "change_slot", "delete_slot",
        "view_appointment", "add_appointment", "record_outcome",
        "view_appointmenthistory", "view_notification",
        "view_patientproxy", "change_patientproxy",
        "view_patientprofile", "change_patientprofile",
        "view_waitinglistentry", "change_waitinglistentry", "view_waitinglistoffer",
    ],
    CLINICIAN: [
        "view_practice", "view_clinician", "view_sessiontemplate", "view_session", "view_slot",
        "view_slottype",
        "view_appointment", "record_outcome", "view_appointmenthistory", "view_notification",
        "view_patientproxy", "view_patientprofile",
        "view_waitinglistentry", "view_waitinglistoffer",
    ],
}  # fmt: skip


def ensure_staff_groups(group_model: Any, permission_model: Any, *, strict: bool = True) -> None:
    """Create or update both groups with exactly their permissions.

    ``strict`` (after all migrations) fails on an unknown permission, catching typos; the
    migration is not strict, as models added by later migrations have no permissions yet.
    """
    for name, codenames in GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = permission_model.objects.filter(
            codename__in=codenames,
            content_type__app_label__in=["practices", "booking", "accounts"],
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing and strict:
            raise RuntimeError(f"Unknown permissions for {name}: {sorted(missing)}")
        group.permissions.set(permissions)


def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    ensure_staff_groups(Group, Permission)
