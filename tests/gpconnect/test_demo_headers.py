"""``manage.py gpconnect_headers``: a developer's demo consumer calls the door by hand (the
README's "Try it locally")."""

import io

import pytest
from django.core.management import CommandError, call_command

from gpconnect.models import ConsumerSystem

from .door import tomorrow_at


def headers(*args):
    out = io.StringIO()
    call_command("gpconnect_headers", *args, "--base-url", "http://testserver", stdout=out)
    return dict(line.split(": ", 1) for line in out.getvalue().splitlines())


@pytest.fixture
def developer(settings, tmp_path):
    settings.DEBUG = True
    settings.BASE_DIR = tmp_path  # the demo key goes to tmp_path/.local


@pytest.mark.django_db
def test_its_headers_search_a_practices_slots(developer, client, morning):
    day = tomorrow_at(0).date()

    response = client.get(
        f"/gpconnect/A81001/fhir/Slot?status=free&start=ge{day}&end=le{day}&_include=Slot:schedule",
        headers=headers("slot", "--practice", "A81001"),
    )

    assert response.status_code == 200
    assert response.content.decode().count('"resourceType":"Slot"') == 3


@pytest.mark.django_db
def test_it_keeps_one_demo_system_and_its_key(developer, tmp_path):
    headers("metadata")
    headers("metadata")

    assert ConsumerSystem.objects.count() == 1
    assert (tmp_path / ".local" / "gpconnect-demo-key.pem").exists()


@pytest.mark.django_db
def test_it_refuses_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError):
        headers("metadata")
