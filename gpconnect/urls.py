"""GP Connect's FHIR endpoints, mounted at /gpconnect/fhir/ (no trailing slashes: FHIR's URLs
have none)."""

from django.urls import path, re_path

from . import views

app_name = "gpconnect"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("Slot", views.slots, name="slots"),
    path("Appointment", views.appointments, name="appointments"),
    path("Appointment/<str:appointment_id>", views.appointment, name="appointment"),
    path("Patient", views.patients, name="patients"),
    path("Patient/<str:patient_id>", views.patient, name="patient"),
    path(
        "Patient/<str:patient_id>/Appointment",
        views.patient_appointments,
        name="patient-appointments",
    ),
    # Anything else is an OperationOutcome too, not an HTML page.
    re_path(r"^.*$", views.not_implemented, name="not-implemented"),
]
