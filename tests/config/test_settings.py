"""Settings come from the environment with safe defaults; production fails fast."""

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.keys import generate_private_key_pem

ROOT = Path(__file__).resolve().parents[2]


def run_python(code, settings_module, **env):
    # A clean environment, so nothing from the developer's shell or CI leaks in.
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": settings_module, **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tempfile.gettempdir(),
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def production_env():
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_PRIVATE_KEY": generate_private_key_pem(),
        "DJANGO_ALLOWED_HOSTS": "api.example.nhs.uk",
        "JWT_ISSUER": "https://api.example.nhs.uk",
        "DATABASE_URL": "postgres://app@db.internal:5432/gp",
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "SMS_BACKEND": "booking.notifications.sms.SnsSmsBackend",
        "TRUSTED_PROXY_NETWORKS": "10.0.0.0/24,10.0.1.0/24",
    }


SETUP = "import django; django.setup(); from django.conf import settings as s; "
# The base module is never run on its own (it has no secret key), so only read from it.
READ = "from django.conf import settings as s; "


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "JWT_PRIVATE_KEY", "DJANGO_ALLOWED_HOSTS"]
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = production_env()
    del env[missing]

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_starts_with_its_secrets_and_debug_off():
    result = run_python(SETUP + "print(s.DEBUG)", "config.settings.production", **production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_debug_is_off_unless_the_local_settings_turn_it_on():
    base = run_python(READ + "print(s.DEBUG)", "config.settings.base")
    local = run_python(SETUP + "print(s.DEBUG)", "config.settings.local")

    assert base.stdout.strip() == "False", base.stderr
    assert local.stdout.strip() == "True", local.stderr


def test_production_refuses_to_start_without_a_database():
    env = production_env()
    del env["DATABASE_URL"]

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_without_database_url_the_local_settings_use_the_private_postgresql():
    code = SETUP + (
        "from django.db import connection as c; d = s.DATABASES['default']; "
        "c.ensure_connection(); print(d['HOST'], d['NAME'], c.vendor)"
    )

    result = run_python(code, "config.settings.local")

    assert result.returncode == 0, result.stderr
    host, name, vendor = result.stdout.split()
    # A socket folder: .local/pgdata itself, or a short one when that path is too long.
    assert Path(host).is_dir()
    assert (name, vendor) == ("gp_booking", "postgresql")


def test_a_socket_directory_in_database_url_is_decoded():
    code = READ + "print(s.DATABASES['default']['HOST'])"

    result = run_python(
        code, "config.settings.base", DATABASE_URL="postgres://u@%2Fvar%2Frun%2Fpg:5432/gp"
    )

    assert result.stdout.strip() == "/var/run/pg"


def test_a_postgres_database_url_switches_to_postgresql():
    code = READ + "d = s.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['NAME'])"

    result = run_python(
        code, "config.settings.base", DATABASE_URL="postgres://u:p@db.example:5432/gp"
    )

    assert result.stdout.split() == ["django.db.backends.postgresql", "db.example", "gp"]


def test_the_deploy_checklist_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            **production_env(),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_environment_variable_the_settings_read_is_in_the_readmes_table():
    read = set()
    for module in (ROOT / "config" / "settings").glob("*.py"):
        read |= set(re.findall(r"env(?:\.\w+)?\(\s*[\'\"]([A-Z0-9_]+)[\'\"]", module.read_text()))
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]

    assert sorted(name for name in read if f"`{name}`" not in table) == []
    assert len(read) > 40  # the pattern still finds what the settings read


def test_local_runs_let_the_usual_frontend_dev_servers_call_the_api():
    code = READ + "print(' '.join(s.CORS_ALLOWED_ORIGINS))"

    local = run_python(code, "config.settings.local", DATABASE_URL="postgres://u@h/db")
    production = run_python(code, "config.settings.production", **production_env())

    assert {"http://localhost:5173", "http://localhost:3000"} <= set(local.stdout.split())
    assert production.stdout.strip() == ""


def test_none_as_the_previous_signing_key_means_there_is_none():
    # Secrets Manager cannot hold an empty value; the bootstrap writes "none".
    code = READ + "print(repr(s.JWT_PREVIOUS_KEY))"

    result = run_python(
        code, "config.settings.production", **production_env(), JWT_PREVIOUS_KEY="none"
    )

    assert result.stdout.strip() == "''"


def test_production_refuses_to_start_with_a_redis_url_no_client_can_use():
    env = {**production_env(), "REDIS_URL": "http://cache.internal:6379/0"}

    result = run_python(SETUP + "print('started')", "config.settings.production", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "REDIS_URL" in result.stderr


def test_production_keeps_the_read_replicas_connections_as_the_writers():
    env = {**production_env(), "DATABASE_REPLICA_URL": "postgres://app@replica.internal:5432/gp"}

    result = run_python(
        SETUP
        + "print(s.DATABASES['replica']['CONN_MAX_AGE'], s.DATABASES['default']['CONN_MAX_AGE'])",
        "config.settings.production",
        **env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["60", "60"]
