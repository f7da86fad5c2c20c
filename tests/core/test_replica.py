"""A read replica (DATABASE_REPLICA_URL) serves the availability search and nothing else
(core.db.ReplicaRouter); without one, everything reads the writer."""

import json
import subprocess
import sys
import uuid

import psycopg
import pytest

from core.db import REPLICA, ReplicaRouter, replica_reads
from practices.models import Slot
from tests.servers import ROOT, server_env

ROUTER = ReplicaRouter()


def test_without_a_replica_reads_stay_on_the_writer(settings):
    assert REPLICA not in settings.DATABASES

    with replica_reads():
        assert ROUTER.db_for_read(Slot) is None


# Only the router reads the setting here; no connection is made to the alias.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_with_a_replica_only_the_marked_reads_go_to_it(settings):
    settings.DATABASES = {**settings.DATABASES, REPLICA: {**settings.DATABASES["default"]}}

    with replica_reads():
        inside = (ROUTER.db_for_read(Slot), ROUTER.db_for_write(Slot))
    outside = ROUTER.db_for_read(Slot)

    assert inside == (REPLICA, None)
    assert outside is None


def test_nothing_is_migrated_on_the_replica():
    assert ROUTER.allow_migrate(REPLICA, "practices") is False
    assert ROUTER.allow_migrate("default", "practices") is True


# Run with the production settings, writer and replica given: the demo patient's search for
# free slots, and a count of free slots outside replica_reads().
SEARCH = """
import django, json
django.setup()
import datetime as dt
from django.test import Client
from django.utils import timezone
from accounts.models import User
from accounts.tokens import issue_tokens
from datasets.demo import DEMO_LOGINS
from practices.models import Practice, Slot
practice = Practice.objects.filter(is_demo=True).order_by("ods_code").first()
token = issue_tokens(user=User.objects.get(email=DEMO_LOGINS["patient"])).access
start = timezone.localdate()
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
response = client.get(
    f"/api/v1/practices/{practice.ods_code}/availability",
    {"start": start.isoformat(), "end": (start + dt.timedelta(days=13)).isoformat()},
)
print(json.dumps({"status": response.status_code, "searched": response.json().get("count"),
                  "free_on_writer": Slot.objects.free().count()}))
"""


def test_the_availability_search_reads_the_replica(scratch_database_url):
    env = server_env(scratch_database_url, ALLOW_DEMO_DATA="true", DB_STATEMENT_TIMEOUT_MS="0")
    for command in (
        ["migrate", "--noinput"],
        ["seed_data", "--practices", "1", "--patients", "3", "--days", "3", "--appointments", "0"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    writer = scratch_database_url.rsplit("/", 1)[1]
    copy = f"replica_{uuid.uuid4().hex[:12]}"
    server = psycopg.conninfo.conninfo_to_dict(scratch_database_url)
    server.pop("dbname")
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{writer}"')
    try:
        # The writer moves on (every free slot blocked); the replica has not caught up yet.
        with psycopg.connect(scratch_database_url, autocommit=True) as db:
            db.execute("UPDATE practices_slot SET status = 'blocked' WHERE status = 'free'")
        replica_url = f"{scratch_database_url.rsplit('/', 1)[0]}/{copy}"

        result = subprocess.run(
            [sys.executable, "-c", SEARCH],
            cwd=ROOT,
            env={**env, "DATABASE_REPLICA_URL": replica_url, "PYTHONPATH": str(ROOT)},
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')

    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    assert answer["searched"] > 0  # from the replica
    assert answer["free_on_writer"] == 0  # every other read: the writer
