"""`make bench`: throughput and latency of the main scenarios, as ratios to baselines
measured in the same run (these machines are noisy; absolute numbers mean little).

Sets up a PostgreSQL database at a stated scale with `seed_data`, starts gunicorn on
loopback with the production settings, drives load with wrk, and measures two baselines:
`/healthz` (Django, no database) and pgbench running the booking transaction's SQL. Medians
of interleaved runs; results as JSON and a PNG chart under results/bench/ (git-ignored).
"""

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import rush
from common import free_port, server_env, start_gunicorn, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "bench"
PYTHON = sys.executable
# Seeded clinicians average about 130 slots a week (GPs 10 minutes, nurses and healthcare
# assistants 15, pharmacists and physiotherapists 20; mornings and afternoons on weekdays).
SLOTS_PER_CLINICIAN_WEEK = 130

# (ratio name, numerator scenario, denominator, target): printed beside the figures.
TARGETS = [
    ("booking rps / healthz rps", "booking", "healthz", ">=", 0.15),
    ("booking rps / pgbench tps", "booking", "pgbench", ">=", 0.15),
    ("availability 1 day rps / healthz rps", "availability_1_day", "healthz", ">=", 0.20),
    ("booking p99 / healthz p99", "booking", "healthz", "<=", 8.0),
]


def sh(
    *command: str, env: dict | None = None, check: bool = True, capture: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env=env, check=check, capture_output=capture, text=True
    )


def psql(database: str, *arguments: str, stdin: str | None = None) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-q", *arguments],
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=200_000, help="about how many slots (up to 1,000,000)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario run")
    parser.add_argument(
        "--runs", type=int, default=3, help="interleaved runs (the median is reported)"
    )
    parser.add_argument("--database", default="gp_booking_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument(
        "--skip-rush", action="store_true", help="leave out the 8am rush and the herd"
    )
    args = parser.parse_args()
    for tool in ("wrk", "pgbench", "psql"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install wrk postgresql-client")

    RESULTS.mkdir(parents=True, exist_ok=True)
    env = server_env(database=args.database)
    report: dict = {"settings": vars(args), "scenarios": {}, "ratios": {}}

    if not args.reuse:
        report["seed"] = set_up_database(args, env)
    fixtures_path = Path(tempfile.mkdtemp()) / "fixtures.json"
    sh(PYTHON, "bench/prepare.py", str(fixtures_path), env=env)
    fixtures = json.loads(fixtures_path.read_text())
    report["data"] = {
        "slots": fixtures["slot_count"],
        "appointments": fixtures["appointment_count"],
    }
    print(f"Data: {fixtures['slot_count']:,} slots, {fixtures['appointment_count']:,} appointments")
    # pgbench gets slots of its own: the booking scenario leaves its slots booked.
    reserved = min(1500, len(fixtures["bookings"]) // 3)
    for_wrk, for_pgbench = fixtures["bookings"][:-reserved], fixtures["bookings"][-reserved:]
    # Each run books its own slots: a slot booked in run 1 would only give 409s in run 2.
    per_run = len(for_wrk) // args.runs
    booking_files = []
    for run in range(args.runs):
        path = fixtures_path.parent / f"bookings-{run}.txt"
        chunk = for_wrk[run * per_run : (run + 1) * per_run]
        path.write_text("\n".join(f"{t} {s}" for t, s in chunk) + "\n")
        booking_files.append(path)
    prepare_pgbench(args, for_pgbench)

    port = free_port()
    server = start_gunicorn(
        env, port=port, workers=args.workers, log=(RESULTS / "gunicorn.log").open("w")
    )
    try:
        wait_until_up(port)
        base = f"http://127.0.0.1:{port}"
        q = f"start={fixtures['day']}&end={fixtures['day']}"
        scenarios = {
            "healthz": (f"{base}/healthz", {}),
            "availability_1_day": (
                f"{base}/api/v1/practices/{fixtures['practice']}/availability?{q}",
                {"BENCH_TOKEN": fixtures["patient_token"]},
            ),
            "availability_14_days": (
                f"{base}/api/v1/practices/{fixtures['practice']}/availability?{_fortnight(fixtures)}",
                {"BENCH_TOKEN": fixtures["patient_token"]},
            ),
            "patient_list": (
                f"{base}/api/v1/appointments",
                {"BENCH_TOKEN": fixtures["patient_token"]},
            ),
            "staff_day_list": (
                f"{base}/api/v1/appointments?start={_enc(fixtures['day_start'])}&end={_enc(fixtures['day_end'])}",
                {"BENCH_TOKEN": fixtures["staff_token"]},
            ),
        }
        print(f"Warming up gunicorn ({args.workers} workers) ...")
        for url, extra in scenarios.values():
            wrk(url, {**env, **extra}, args, seconds=2)

        runs: dict[str, list[dict]] = {name: [] for name in [*scenarios, "booking", "pgbench"]}
        for run in range(1, args.runs + 1):
            print(f"Run {run}/{args.runs}")
            for name, (url, extra) in scenarios.items():
                runs[name].append(wrk(url, {**env, **extra}, args))
            runs["booking"].append(
                wrk(
                    f"{base}/api/v1/appointments",
                    {
                        **env,
                        "BENCH_BOOKINGS": str(booking_files[run - 1]),
                        "BENCH_LUA_DIR": str(ROOT / "bench" / "wrk"),
                        "BENCH_THREADS": str(args.threads),
                    },
                    args,
                    script="book.lua",
                )
            )
            runs["pgbench"].append(pgbench(args))
        report["hot_slot"] = hot_slot(base, fixtures["hot"])
        report["worker_rss_mb"] = worker_rss(server.pid)
        if not args.skip_rush:
            print("\nThe 8am rush and the herd (bench/rush.py) ...")
            report["rush"] = rush.run_rush(base, env)
            # The same crowd asking the server for the earliest free slot instead.
            report["rush_earliest"] = rush.run_rush(base, env, strategy="earliest")
            report["herd"] = {
                strategy: rush.run_herd(base, env, strategy=strategy)
                for strategy in ("alternatives", "earliest")
            }
    finally:
        server.terminate()
        server.wait(timeout=30)

    for name, results in runs.items():
        report["scenarios"][name] = {
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r.get("p50_ms", 0) for r in results),
            "p95_ms": statistics.median(r.get("p95_ms", 0) for r in results),
            "p99_ms": statistics.median(r.get("p99_ms", 0) for r in results),
            "status": results[-1].get("status", {}),
            "runs": results,
        }
    print_report(report)
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
    chart(report)
    print(f"\nWrote {RESULTS / 'results.json'} and {RESULTS / 'chart.png'}")


def _enc(value: str) -> str:
    return value.replace("+", "%2B").replace(":", "%3A")


def _fortnight(fixtures: dict) -> str:
    import datetime as dt

    day = dt.date.fromisoformat(fixtures["day"])
    return f"start={day.isoformat()}&end={(day + dt.timedelta(days=13)).isoformat()}"


def set_up_database(args: argparse.Namespace, env: dict) -> dict:
    print(f"Creating database {args.database} ...")
    psql(
        "postgres",
        "-c",
        f"DROP DATABASE IF EXISTS {args.database}",
        "-c",
        f"CREATE DATABASE {args.database}",
    )
    sh(PYTHON, "manage.py", "migrate", "--noinput", env={**env, "DB_STATEMENT_TIMEOUT_MS": "0"})
    sh(PYTHON, "manage.py", "createcachetable", env=env)
    # Days ahead plus two weeks of history.
    practices, days, past = 50, 28, 14
    weeks = -(-(days + past) // 7)
    per_practice = max(1, round(args.scale / (practices * SLOTS_PER_CLINICIAN_WEEK * weeks)))
    sizes = [
        "--practices",
        str(practices),
        "--clinicians-per-practice",
        str(per_practice),
        "--patients",
        "10000",
        "--days",
        str(days),
        "--past-days",
        str(past),
        "--appointments",
        "50000",
        # The report's year of history is bench/report.py's; these scenarios do not read it.
        "--history-days",
        "0",
    ]
    print(f"Seeding: {' '.join(sizes)}")
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = sh(
        PYTHON, "manage.py", "seed_data", *sizes, env={**env, "DB_STATEMENT_TIMEOUT_MS": "0"}
    )
    seconds = time.monotonic() - started
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(result.stdout.splitlines()[-6] if result.stdout else "")
    print(f"Seeded in {seconds:.1f}s, peak memory {peak_mb:.0f} MB")
    psql(args.database, "-c", "VACUUM ANALYZE")
    return {"seconds": seconds, "peak_memory_mb": peak_mb, "sizes": sizes}


def prepare_pgbench(args: argparse.Namespace, bookings: list) -> None:
    # The slots and patients the booking scenario uses, numbered for pgbench's random pick.
    rows = "\n".join(f"{n}\t{slot}\t{_sub(token)}" for n, (token, slot) in enumerate(bookings, 1))
    psql(
        args.database,
        "-c",
        "DROP TABLE IF EXISTS bench_slot; CREATE TABLE bench_slot (n int PRIMARY KEY, slot_id uuid, patient_id uuid)",
    )
    psql(args.database, "-c", r"\copy bench_slot FROM STDIN", stdin=rows + "\n")
    args.pgbench_slots = len(bookings)


def _sub(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def wrk(
    url: str,
    env: dict,
    args: argparse.Namespace,
    *,
    seconds: int | None = None,
    script: str = "get.lua",
) -> dict:
    result = sh(
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds or args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "wrk" / script),
        url,
        env=env,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    data["rps"] = data["requests"] / data["seconds"]
    return data


def pgbench(args: argparse.Namespace) -> dict:
    result = sh(
        "pgbench",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-n",
        "-c",
        str(args.connections),
        "-j",
        str(args.threads),
        "-T",
        str(args.duration),
        "-D",
        f"slots={args.pgbench_slots}",
        "-f",
        str(ROOT / "bench" / "booking.sql"),
        "-r",
        args.database,
    )
    tps = next(
        float(x.split("=")[1].split()[0]) for x in result.stdout.splitlines() if x.startswith("tps")
    )
    latency = next(
        (
            float(x.split("=")[1].split()[0])
            for x in result.stdout.splitlines()
            if "latency average" in x
        ),
        0.0,
    )
    return {"rps": tps, "p50_ms": latency, "p95_ms": 0, "p99_ms": 0}


def hot_slot(base: str, rounds: list[dict]) -> dict:
    """Fifty concurrent bookings of one slot, per round: exactly one 201, the rest 409."""
    summary = {"rounds": len(rounds), "good_rounds": 0, "status": {}}
    for round_ in rounds:
        statuses = _race(base, round_["slot_id"], round_["tokens"])
        for code in statuses:
            summary["status"][str(code)] = summary["status"].get(str(code), 0) + 1
        if statuses.count(201) == 1 and statuses.count(409) == len(statuses) - 1:
            summary["good_rounds"] += 1
    return summary


def _race(base: str, slot: str, tokens: list[str]) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(tokens))

    def attempt(token: str) -> None:
        request = urllib.request.Request(
            f"{base}/api/v1/appointments",
            data=json.dumps({"slot_id": slot}).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                code = response.status
        except urllib.error.HTTPError as error:
            code = error.code
        with lock:
            statuses.append(code)

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def worker_rss(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def print_report(report: dict) -> None:
    scenarios = report["scenarios"]
    healthz = scenarios["healthz"]
    print(
        f"\n{'scenario':<22}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'x healthz':>11}  status codes"
    )
    for name, s in scenarios.items():
        ratio = s["rps"] / healthz["rps"] if healthz["rps"] else 0
        print(
            f"{name:<22}{s['rps']:>9.1f}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}{s['p99_ms']:>9.1f}{ratio:>11.2f}  {s['status']}"
        )
    print("\nTargets")
    for label, top, bottom, op, target in TARGETS:
        key = "p99_ms" if "p99" in label else "rps"
        value = scenarios[top][key] / scenarios[bottom][key] if scenarios[bottom][key] else 0
        met = value >= target if op == ">=" else value <= target
        report["ratios"][label] = {"value": value, "target": f"{op} {target}", "met": met}
        print(f"  {label:<40}{value:>7.2f}   target {op} {target:<5} {'met' if met else 'MISSED'}")
    hot = report["hot_slot"]
    print(
        f"\nHot slot: {hot['good_rounds']}/{hot['rounds']} rounds with exactly one 201 and the rest 409; codes {hot['status']}"
    )
    rss = report["worker_rss_mb"]
    if rss:
        print(f"gunicorn worker RSS after the run: {', '.join(f'{r:.0f}' for r in rss)} MB")
    if "seed" in report:
        print(
            f"Seed: {report['seed']['seconds']:.1f}s, peak {report['seed']['peak_memory_mb']:.0f} MB"
        )


def chart(report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["scenarios"])
    rps = [report["scenarios"][n]["rps"] for n in names]
    p99 = [report["scenarios"][n]["p99_ms"] for n in names]
    crowds = [name for name in ("rush", "rush_earliest") if name in report]
    figure, panels = plt.subplots(1, 3 if crowds else 2, figsize=(19 if crowds else 13, 5))
    left, right = panels[0], panels[1]
    left.barh(names, rps, color="#005eb8")
    left.set_xlabel("requests (or transactions) per second")
    left.set_title("Throughput")
    right.barh(names, p99, color="#da291c")
    right.set_xlabel("p99 latency, ms")
    right.set_title("Tail latency")
    if crowds:
        # The 8am rush: latency of each kind of request during the burst, per strategy.
        rows, values = [], []
        for name in crowds:
            for kind in ("availability", "booking"):
                figures = report[name]["requests"][kind]
                for share in ("p50", "p95", "p99"):
                    rows.append(f"{name} {kind} {share}")
                    values.append(figures[f"{share}_ms"] or 0)
        panels[2].barh(rows, values, color="#330072")
        panels[2].set_xlabel("ms during the burst")
        gone = ", ".join(
            f"{name}: all gone in {report[name]['seconds_until_all_gone']} s" for name in crowds
        )
        panels[2].set_title(f"8am rush ({gone})", fontsize=9)
    figure.tight_layout()
    figure.savefig(RESULTS / "chart.png", dpi=110)


if __name__ == "__main__":
    main()
