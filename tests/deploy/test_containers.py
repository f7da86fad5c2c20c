"""The image, the compose stack and gunicorn, checked without a Docker engine."""

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from gunicorn.config import Config

from tests.servers import server_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def final_stage(dockerfile: str) -> str:
    return dockerfile.split("\nFROM ")[-1]


def test_hadolint_finds_nothing_wrong_with_the_dockerfile():
    result = subprocess.run(
        [BIN / "hadolint", ROOT / "docker" / "Dockerfile"], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [
            BIN / "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            ROOT / "docker-compose.yml",
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_on_a_slim_python_of_at_least_3_12():
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    version = re.search(r"ARG PYTHON_VERSION=(\d+)\.(\d+)", DOCKERFILE)

    assert len(bases) >= 3
    assert (int(version[1]), int(version[2])) >= (3, 12)
    assert final_stage(DOCKERFILE).startswith("python:${PYTHON_VERSION}-slim")


def test_dependencies_come_from_the_lock_file():
    assert "COPY pyproject.toml uv.lock" in DOCKERFILE
    assert "uv sync --frozen --no-dev" in DOCKERFILE


def test_the_final_stage_has_no_build_tools_and_runs_as_a_numeric_non_root_user():
    runtime = final_stage(DOCKERFILE)

    assert not re.search(r"apt-get install|gcc|build-essential|COPY --from=uv", runtime)
    user = re.search(r"^USER (\d+):(\d+)$", runtime, re.MULTILINE)
    assert user and int(user[1]) != 0 and int(user[2]) != 0


def test_the_image_health_checks_healthz_and_runs_gunicorn_with_the_repo_config():
    runtime = final_stage(DOCKERFILE)

    assert re.search(r"HEALTHCHECK .*\n.*/healthz", runtime)
    assert 'CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]' in runtime


def test_static_files_are_collected_at_build_time():
    assert "manage.py collectstatic --noinput" in DOCKERFILE


def test_the_image_is_labelled_with_version_and_commit():
    assert 'org.opencontainers.image.version="${VERSION}"' in DOCKERFILE
    assert 'org.opencontainers.image.revision="${COMMIT}"' in DOCKERFILE


def test_no_secret_is_baked_into_the_image():
    env_lines = [line for line in DOCKERFILE.splitlines() if re.match(r"^\s*(ENV|ARG)\b", line)]
    env_block = "\n".join(env_lines) + "\n".join(
        re.findall(r"^ENV (?:.*\\\n)*.*$", DOCKERFILE, re.MULTILINE)
    )

    assert not re.search(r"SECRET|PASSWORD|PRIVATE_KEY|TOKEN", env_block)


def test_dockerignore_keeps_secrets_venvs_and_tests_out():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".env", ".venv", "tests", "*.pem", ".local", ".git"} <= set(ignored)


def test_compose_runs_postgres_16_with_a_healthcheck_and_a_named_volume():
    db = COMPOSE["services"]["db"]

    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pgdata" in COMPOSE["volumes"]


def test_web_and_worker_wait_for_a_healthy_database_and_a_finished_migration():
    for name in ("web", "worker"):
        depends = COMPOSE["services"][name]["depends_on"]

        assert depends["db"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_is_one_off_and_seeds_demo_data():
    migrate = COMPOSE["services"]["migrate"]
    command = " ".join(migrate["command"])

    assert migrate["restart"] == "no"
    assert "manage.py migrate" in command and "manage.py seed_data" in command


def test_web_serves_on_8000_the_worker_runs_the_queue_and_mailpit_catches_mail():
    services = COMPOSE["services"]

    assert "127.0.0.1:8000:8000" in services["web"]["ports"]
    assert services["worker"]["command"][:3] == ["python", "manage.py", "notifications_worker"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["web"]["environment"]["EMAIL_HOST"] == "mailpit"


def test_app_containers_have_a_read_only_root_filesystem():
    for name in ("web", "worker", "migrate"):
        assert COMPOSE["services"][name]["read_only"] is True


def test_the_gunicorn_config_loads_with_its_settings(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    config = Config()
    namespace = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102 - our own file
    for key, value in namespace.items():
        if key in config.settings:
            config.set(key, value)

    assert config.workers == 5
    assert config.worker_tmp_dir == "/dev/shm"
    assert config.settings["control_socket_disable"].get() is True
    assert config.accesslog == "-"
    assert config.timeout == 30
    assert "request_id" in config.access_log_format


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_boots_the_app_and_answers_healthz(scratch_database_url):
    port = free_port()
    env = server_env(
        scratch_database_url,
        DJANGO_ALLOWED_HOSTS="api.example.nhs.uk",
        JWT_ISSUER="https://api.example.nhs.uk",
        DJANGO_SECURE_SSL_REDIRECT="true",
        PORT=str(port),
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = None
        for _ in range(100):
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        assert response is not None, "gunicorn did not answer"
        assert response.status == 200
        assert response.headers["X-Request-ID"]
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert '"path": "/healthz", "status": 200' in output


def test_compose_publishes_ports_on_loopback_only():
    # The demo password is published and Mailpit holds patients' emails: not for the LAN.
    published = [
        port for service in COMPOSE["services"].values() for port in service.get("ports", [])
    ]

    assert published and all(str(port).startswith("127.0.0.1:") for port in published)


@pytest.mark.parametrize("name", ["migrate", "worker", "reminders"])
def test_only_the_web_service_runs_the_images_healthcheck(name):
    service = COMPOSE["services"][name]

    assert service["healthcheck"] == {"disable": True}
    assert service["init"] is True  # PID 1 passes SIGTERM on (the reminders loop is sh)
    assert "test" in COMPOSE["services"]["web"]["healthcheck"]
