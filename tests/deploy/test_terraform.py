"""Terraform, checked statically: there is no terraform binary or AWS account here.

Every file parses; checkov passes on every environment; and the security structure the
issue asks for is asserted on the parsed configuration.
"""

import os
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from core.http.health import PROBES

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
ENVIRONMENTS = ["dev", "staging", "prod"]


def _clean(value):
    """python-hcl2 keeps HCL's quotes; take them off keys and strings."""
    if isinstance(value, dict):
        return {
            _clean(k): _clean(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__")
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(path: Path) -> dict:
    with path.open() as handle:
        return _clean(hcl2.load(handle))


def resources(module: str) -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted((MODULES / module).glob("*.tf")):
        for block in load(path).get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    found[(kind, name)] = body
    return found


def stack_call(env: str) -> dict:
    (call,) = [
        m["stack"]
        for m in load(TERRAFORM / "environments" / env / "main.tf")["module"]
        if "stack" in m
    ]
    return call


@pytest.mark.parametrize(
    "path", sorted(TERRAFORM.rglob("*.tf")), ids=lambda p: str(p.relative_to(TERRAFORM))
)
def test_every_terraform_file_parses(path):
    assert load(path) is not None


def _checkov() -> str | None:
    return (
        os.environ.get("CHECKOV_BIN")
        or shutil.which("checkov")
        or (
            str(ROOT / ".tools/checkov/bin/checkov")
            if (ROOT / ".tools/checkov/bin/checkov").exists()
            else None
        )
    )


@pytest.mark.skipif(_checkov() is None, reason="checkov is not installed (.ci/run installs it)")
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_finds_no_failed_check(env):
    result = subprocess.run(
        [
            _checkov(),
            "-d",
            str(TERRAFORM / "environments" / env),
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_every_checkov_skip_is_justified():
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                reason = line.split("checkov:skip=", 1)[1].split(":", 1)
                assert len(reason) == 2 and len(reason[1].strip()) > 20, f"{path}: {line}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_pins_terraform_and_the_aws_provider(env):
    settings = load(TERRAFORM / "environments" / env / "main.tf")["terraform"][0]

    assert settings["required_version"] == ">= 1.11"
    assert settings["required_providers"][0]["aws"]["version"].startswith("~> ")


def test_each_environment_has_its_own_locked_encrypted_state():
    backends = [
        load(TERRAFORM / "environments" / env / "main.tf")["terraform"][0]["backend"][0]["s3"]
        for env in ENVIRONMENTS
    ]

    assert len({b["key"] for b in backends}) == len(ENVIRONMENTS)
    assert all(b["use_lockfile"] is True and b["encrypt"] is True for b in backends)


def test_only_prod_is_multi_az_protected_with_a_nat_per_az():
    assert [stack_call(env)["production"] for env in ENVIRONMENTS] == [False, False, True]
    assert [stack_call(env)["nat_per_az"] for env in ENVIRONMENTS] == [False, False, True]
    stack = load(MODULES / "stack" / "main.tf")["module"]
    database = next(m["database"] for m in stack if "database" in m)
    assert database["multi_az"] == database["deletion_protection"] == "${var.production}"


def test_the_database_is_private_encrypted_ssl_only_and_its_password_managed_by_rds():
    db = resources("database")
    instance = db[("aws_db_instance", "this")]
    parameters = {
        p["name"]: p["value"] for p in db[("aws_db_parameter_group", "this")]["parameter"]
    }

    assert instance["publicly_accessible"] is False
    assert instance["storage_encrypted"] is True and "aws_kms_key.db" in instance["kms_key_id"]
    assert instance["manage_master_user_password"] is True
    assert "password" not in instance
    version = next(
        v["engine_version"]
        for v in load(MODULES / "database" / "variables.tf")["variable"]
        if "engine_version" in v
    )
    # The major version only: with automatic minor upgrades, a pinned minor would have the
    # next apply try to downgrade.
    assert instance["engine"] == "postgres" and version["default"] == "16"
    assert instance["auto_minor_version_upgrade"] is True
    assert db[("aws_db_parameter_group", "this")]["family"] == "postgres16"
    assert instance["performance_insights_enabled"] is True
    assert parameters["rds.force_ssl"] == "1"


def test_security_groups_chain_alb_to_tasks_to_database_only():
    service, db = resources("service"), resources("database")

    db_ingress = [r for (kind, _), r in db.items() if kind == "aws_vpc_security_group_ingress_rule"]
    task_ingress = [
        r
        for (kind, name), r in service.items()
        if kind == "aws_vpc_security_group_ingress_rule" and "tasks" in name
    ]
    alb_egress = service[("aws_vpc_security_group_egress_rule", "alb_to_tasks")]

    assert [r["referenced_security_group_id"] for r in db_ingress] == [
        "${var.app_security_group_id}"
    ]
    assert [r["referenced_security_group_id"] for r in task_ingress] == [
        "${aws_security_group.alb.id}"
    ]
    assert alb_egress["referenced_security_group_id"] == "${aws_security_group.tasks.id}"
    assert all("cidr_ipv4" not in r for r in db_ingress + task_ingress)


def test_tasks_never_get_public_addresses():
    service = resources("service")
    networks = [
        service[("aws_ecs_service", "web")]["network_configuration"][0],
        service[("aws_ecs_service", "worker")]["network_configuration"][0],
        service[("aws_scheduler_schedule", "reminders")]["target"][0]["ecs_parameters"][0][
            "network_configuration"
        ][0],
    ]

    assert all(n["assign_public_ip"] is False for n in networks)
    assert all(n["subnets"] == "${var.private_subnet_ids}" for n in networks)


def test_logs_secrets_images_and_alerts_are_encrypted_with_kms():
    service, network, monitoring = (
        resources("service"),
        resources("network"),
        resources("monitoring"),
    )
    log_groups = [
        r for (kind, _), r in {**service, **network}.items() if kind == "aws_cloudwatch_log_group"
    ]

    assert log_groups and all(g["kms_key_id"] == "${var.logs_kms_key_arn}" for g in log_groups)
    assert all(
        service[("aws_secretsmanager_secret", n)]["kms_key_id"]
        for n in ("django_secret_key", "jwt_private_key")
    )
    assert (
        service[("aws_ecr_repository", "app")]["encryption_configuration"][0]["encryption_type"]
        == "KMS"
    )
    assert monitoring[("aws_sns_topic", "alerts")]["kms_master_key_id"]


def test_secrets_reach_containers_as_secrets_never_as_plain_environment():
    text = (MODULES / "service" / "ecs.tf").read_text()
    environment_block = text.split("merge(var.app_environment, {", 1)[1].split("})", 1)[0]
    secrets_block = text.split("secrets = [", 1)[1].split("]\n", 1)[0]

    for name in ("DJANGO_SECRET_KEY", "JWT_PRIVATE_KEY", "DB_PASSWORD", "DB_USER"):
        assert f'name = "{name}"' in secrets_block
        assert f"{name} " not in environment_block
    assert "secret_string" not in text  # values never pass through Terraform


def test_the_target_group_checks_the_apps_liveness_path():
    variables = load(MODULES / "service" / "variables.tf")["variable"]
    path = next(v["health_check_path"] for v in variables if "health_check_path" in v)["default"]

    assert path in PROBES
    assert path == "/healthz"


def test_https_uses_a_modern_tls_policy_and_http_only_redirects():
    service = resources("service")

    assert service[("aws_lb_listener", "https")]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    redirect = service[("aws_lb_listener", "http")]["default_action"][0]
    assert redirect["type"] == "redirect" and redirect["redirect"][0]["protocol"] == "HTTPS"


def test_the_ecr_repository_scans_on_push_and_tags_are_immutable():
    repository = resources("service")[("aws_ecr_repository", "app")]

    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"][0]["scan_on_push"] is True


def test_the_deploy_scripts_are_valid_bash():
    for script in (ROOT / "scripts").glob("*.sh"):
        bash = shutil.which("bash")
        assert subprocess.run([bash, "-n", str(script)], capture_output=True).returncode == 0, (
            script
        )


def test_the_cognito_pool_names_a_feature_plan_its_security_mode_needs():
    pool = resources("auth")[("aws_cognito_user_pool", "this")]

    # ESSENTIALS by default; ENFORCED threat protection only with the PLUS plan it needs.
    assert pool["user_pool_tier"] == '${var.threat_protection ? "PLUS" : "ESSENTIALS"}'
    (add_ons,) = pool["dynamic"]
    assert add_ons["user_pool_add_ons"]["for_each"] == "${var.threat_protection ? [1] : []}"


def test_nothing_runs_before_the_first_deploy():
    service = resources("service")

    # No image and no secrets yet: zero tasks, no autoscaling floor, the schedule disabled.
    assert service[("aws_ecs_service", "web")]["desired_count"].startswith("${local.deployed ?")
    assert service[("aws_ecs_service", "worker")]["desired_count"] == "${local.deployed ? 1 : 0}"
    target = service[("aws_appautoscaling_target", "web")]
    assert target["min_capacity"].endswith(": 0}")
    assert service[("aws_scheduler_schedule", "reminders")]["state"] == (
        '${local.deployed ? "ENABLED" : "DISABLED"}'
    )
    # The tag in service is read back from SSM, so a plain apply keeps the deployed release.
    parameter = service[("aws_ssm_parameter", "image_tag")]
    assert parameter["value"] == "none"
    assert parameter["lifecycle"][0]["ignore_changes"] == ["value"]


def test_the_reminder_schedules_role_can_decrypt_its_schedule():
    iam = load(MODULES / "service" / "iam.tf")
    (policy,) = [
        d["aws_iam_policy_document"]["scheduler"]
        for d in iam["data"]
        if "scheduler" in d.get("aws_iam_policy_document", {})
    ]
    schedule = resources("service")[("aws_scheduler_schedule", "reminders")]

    decrypt = [s for s in policy["statement"] if s["actions"] == ["kms:Decrypt"]]
    assert decrypt and decrypt[0]["resources"] == [schedule["kms_key_arn"]]


def test_ecs_exec_can_use_its_key_and_log_group():
    iam = (MODULES / "service" / "iam.tf").read_text()

    for sid in ("EcsExecSessionKey", "EcsExecSessionLog"):
        assert f'sid       = "{sid}"' in iam
    assert "aws_cloudwatch_log_group.exec.arn" in iam


def test_test_environments_delete_their_images_on_destroy():
    call = load(MODULES / "stack" / "main.tf")["module"]
    (service,) = [m["service"] for m in call if "service" in m]

    assert service["force_delete_images"] == "${!var.production}"
