"""`make bench-report`: the practice report on a year of data for 50 practices.

Seeds its own PostgreSQL database once (50 demo practices, three clinicians each, a year of
attended, missed and cancelled appointments: about 1.2 million slots), then renders the report
page in-process as a practice administrator (one practice) and as an operator (every
practice), for the default four weeks and for a whole year, grouped each way. Prints the
median of five renders and the statements each cost; writes results/bench/report.json.

Run with --reuse to keep the seeded database between runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "bench"
PYTHON = sys.executable
TARGET_SECONDS = 1.0


def psql(*arguments: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", *arguments],
        check=True,
        capture_output=True,
        text=True,
    )


def seed(env: dict, database: str, practices: int) -> float:
    psql("-c", f"DROP DATABASE IF EXISTS {database}", "-c", f"CREATE DATABASE {database}")
    no_timeout = {**env, "DB_STATEMENT_TIMEOUT_MS": "0"}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=no_timeout,
                   check=True)  # fmt: skip
    started = time.monotonic()
    subprocess.run(
        [PYTHON, "manage.py", "seed_data", "--practices", str(practices),
         "--clinicians-per-practice", "3", "--patients", str(practices * 500), "--days", "7",
         "--past-days", "0", "--history-days", "365", "--appointments", "1000"],
        cwd=ROOT, env=no_timeout, check=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-q", "-c",
                    "VACUUM ANALYZE"], check=True)  # fmt: skip
    return seconds


def measure(repeat: int) -> list[dict]:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from datasets.demo import DEMO_LOGINS

    today = timezone.localdate()
    year = {"first": (today - timezone.timedelta(days=365)).isoformat(),
            "last": (today - timezone.timedelta(days=1)).isoformat()}  # fmt: skip
    readers = {
        "practice admin (1 practice)": DEMO_LOGINS["practice admin"],
        "operator (every practice)": DEMO_LOGINS["superuser"],
    }
    cases = [("4 weeks", {}, "week"), ("a year", year, "week"), ("a year", year, "category"),
             ("a year", year, "clinician"), ("a year", year, "profession"),
             ("a year", year, "mode"), ("a year, GPAD CSV", {**year, "format": "csv", "table": "gpad"}, "week")]  # fmt: skip
    results = []
    for reader, email in readers.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(email=email))
        for period, query, group in cases:
            seconds, statements = [], 0
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get("/admin/report/", {**query, "group": group})
                    if response.streaming:  # the CSV: time it to its last row
                        b"".join(response.streaming_content)
                    seconds.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
                statements = len(captured.captured_queries)
            median = statistics.median(seconds)
            results.append({"reader": reader, "period": period, "group": group,
                            "median_seconds": round(median, 3), "statements": statements})  # fmt: skip
            verdict = "ok" if median < TARGET_SECONDS else f"over {TARGET_SECONDS:.0f} s"
            print(f"{reader:30} {period:17} by {group:10} {median * 1000:7.0f} ms  "
                  f"{statements} statements  {verdict}")  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="renders per case (median)")
    parser.add_argument("--database", default="gp_booking_bench_report")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "ALLOW_DEMO_DATA": "true",
        "DB_STATEMENT_TIMEOUT_MS": "0",
    }
    seeded = None
    if not args.reuse:
        print(f"Seeding {args.practices} practices with a year of history ...")
        seeded = seed(env, args.database, args.practices)
        print(f"Seeded in {seeded:.0f} s")
    os.environ.update(env)
    results = measure(args.repeat)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "report.json"
    out.write_text(json.dumps({"practices": args.practices, "seed_seconds": seeded,
                               "target_seconds": TARGET_SECONDS, "results": results}, indent=2))  # fmt: skip
    print(f"Written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
