"""Database settings on ECS: parts from the environment, the password following rotation."""

import json

import boto3
import pytest
from django.db import connection
from moto import mock_aws

from core.db_backends.postgresql import base as rotating
from tests.config.test_settings import READ, run_python


def test_db_parts_make_a_postgres_database_with_ssl_required():
    fields = "d['ENGINE'], d['HOST'], d['NAME'], d['OPTIONS']['sslmode']"
    code = READ + f"d = s.DATABASES['default']; print({fields})"

    result = run_python(
        code,
        "config.settings.base",
        DB_HOST="db.internal",
        DB_NAME="gp",
        DB_USER="u",
        DB_PASSWORD="p",
    )

    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "gp",
        "require",
    ]


def test_a_password_secret_switches_to_the_rotating_backend():
    code = READ + "d = s.DATABASES['default']; print(d['ENGINE'], d['PASSWORD_SECRET_ARN'])"
    arn = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds!db-abc"

    result = run_python(
        code,
        "config.settings.base",
        DB_HOST="db.internal",
        DB_NAME="gp",
        DB_PASSWORD_SECRET_ARN=arn,
    )

    assert result.stdout.split() == ["core.db_backends.postgresql", arn]


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    rotating._cache.clear()
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        arn = client.create_secret(
            Name="rds-master",
            SecretString=json.dumps({"username": "postgres", "password": "first"}),
        )["ARN"]
        yield client, arn
    rotating._cache.clear()


def test_credentials_come_from_the_secret_and_are_cached(secret):
    client, arn = secret

    first = rotating.current_credentials(arn)
    client.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "postgres", "password": "second"})
    )

    assert first["password"] == "first"
    assert rotating.current_credentials(arn)["password"] == "first"  # cached
    assert rotating.current_credentials(arn, refresh=True)["password"] == "second"


def test_new_connections_use_the_secrets_current_password(secret):
    client, arn = secret
    wrapper = rotating.DatabaseWrapper({**connection.settings_dict, "PASSWORD_SECRET_ARN": arn})

    params = wrapper.get_connection_params()

    assert (params["user"], params["password"]) == ("postgres", "first")
