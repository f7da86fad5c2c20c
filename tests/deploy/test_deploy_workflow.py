"""scripts/deploy.py against moto's ECS, ECR, Scheduler, SSM, Logs and Application Auto
Scaling: a first deploy, a redeploy of the same commit, a failing migration, a rollback.

moto does not run containers or roll deployments out: the test plays ECS's part between polls
(``ecs.advance``), as the real service would change state while the deploy waits.
"""

import datetime as dt
import importlib.util
import json
import sys

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.models import ecs_backends

from tests.servers import ROOT

REGION = "eu-west-2"
CLUSTER = "gp-dev"
REPO = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/gp-dev"
OLD, NEW = "0123456789ab", "ba9876543210"
SMOKE = {"SMOKE_EMAIL": "smoke-test@dev.example.nhs.uk", "SMOKE_PASSWORD": "Sm0ke-pass-1!"}


def load_deploy():
    spec = importlib.util.spec_from_file_location("deploy", ROOT / "scripts" / "deploy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy"] = module
    spec.loader.exec_module(module)
    return module


deploy = load_deploy()


class Ecs:
    """ECS's part: what happens to tasks and deployments while the deploy polls."""

    def __init__(self):
        self.backend = ecs_backends[DEFAULT_ACCOUNT_ID][REGION]
        self.migration_exit_code = 0
        self.rollout = "COMPLETED"  # or "FAILED" for web: the circuit breaker's rollback

    def advance(self, _seconds):
        for task in self.backend.tasks.get(CLUSTER, {}).values():
            for container in task.containers:
                container.exitCode = self.migration_exit_code
        for service in self.backend.services.values():
            current = service.task_definition
            rolled_back = self.rollout == "FAILED" and service.name.endswith("-web")
            if rolled_back:
                previous = service.deployments[0]["taskDefinition"]
                service.deployments = [
                    {**service.deployments[0], "status": "PRIMARY", "rolloutState": "COMPLETED"},
                    {
                        **service.deployments[0],
                        "id": "ecs-svc/failed",
                        "status": "ACTIVE",
                        "taskDefinition": current,
                        "rolloutState": "FAILED",
                        "rolloutStateReason": "circuit breaker: tasks failed to start",
                    },
                ]
                service.task_definition = previous
            else:
                service.deployments = [
                    {
                        **service.deployments[0],
                        "status": "PRIMARY",
                        "taskDefinition": current,
                        "rolloutState": "COMPLETED",
                    }
                ]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # moto's run_task reads an attribute its network interfaces lack (a moto bug).
    monkeypatch.setattr(NetworkInterface, "private_dns_name", "ip-10-0-1-4.internal", raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def environment(aws):
    """An environment as Terraform leaves it after the first apply, plus its outputs."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    aws.client("ecr").create_repository(repositoryName="gp-dev", imageTagMutability="IMMUTABLE")
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    definitions = {}
    for role in deploy.ROLES:
        definitions[role] = ecs.register_task_definition(
            family=f"gp-dev-{role}",
            containerDefinitions=[{"name": role, "image": f"{REPO}:none", "memory": 512}],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    for role in ("web", "worker"):
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=f"gp-dev-{role}",
            taskDefinition=definitions[role],
            desiredCount=0,  # nothing runs before the first deploy
            launchType="FARGATE",
            networkConfiguration=network,
        )
    aws.client("scheduler").create_schedule(
        Name="gp-dev-send-reminders",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        State="DISABLED",
        Target={
            "Arn": f"arn:aws:ecs:{REGION}:{DEFAULT_ACCOUNT_ID}:cluster/{CLUSTER}",
            "RoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/gp-dev-scheduler",
            "EcsParameters": {"TaskDefinitionArn": definitions["reminders"]},
        },
    )
    aws.client("ssm").put_parameter(Name="/gp-dev/deployed-image-tag", Value="none", Type="String")
    aws.client("logs").create_log_group(logGroupName="/gp-dev/migrate")
    smoke = aws.client("secretsmanager").create_secret(
        Name="gp-dev/smoke-account",
        SecretString=json.dumps(
            {"email": SMOKE["SMOKE_EMAIL"], "password": SMOKE["SMOKE_PASSWORD"]}
        ),
    )["ARN"]
    return {
        "secret_arns": {"smoke_account": smoke},
        "region": REGION,
        "api_url": "https://dev.example.nhs.uk",
        "cluster_name": CLUSTER,
        "ecr_repository_url": REPO,
        "web_service_name": "gp-dev-web",
        "worker_service_name": "gp-dev-worker",
        "task_families": {role: f"gp-dev-{role}" for role in deploy.ROLES},
        "private_subnet_ids": [subnet],
        "tasks_security_group_id": group,
        "reminders_schedule_name": "gp-dev-send-reminders",
        "image_tag_parameter_name": "/gp-dev/deployed-image-tag",
        "log_groups": {"migrate": "/gp-dev/migrate"},
        "web_min_tasks": 2,
        "web_max_tasks": 6,
    }


@pytest.fixture
def ecs():
    return Ecs()


class Recorder:
    def __init__(self):
        self.built, self.smoked, self.said = [], [], []

    def build(self, image, run):
        self.built.append(image)
        repository = image.split("/", 1)[1].split(":")[0]
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": f"sha256:{'0' * 64}", "size": 1},
            "layers": [],
        }
        run.client("ecr").put_image(
            repositoryName=repository,
            imageManifest=json.dumps(manifest),
            imageManifestMediaType=manifest["mediaType"],
            imageTag=image.rsplit(":", 1)[1],
        )


@pytest.fixture
def recorder():
    return Recorder()


def run(aws, environment, ecs, recorder, commit=NEW):
    job = deploy.Deploy(
        env=deploy.Environment.from_outputs(environment),
        commit=commit,
        session=aws,
        build=recorder.build,
        smoke=lambda url, account: recorder.smoked.append((url, account)),
        say=recorder.said.append,
        sleep=ecs.advance,
        poll_seconds=0,
    )
    job.run()
    return job


def service(aws, name):
    return aws.client("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]


def image_of(aws, task_definition):
    definition = aws.client("ecs").describe_task_definition(taskDefinition=task_definition)
    return definition["taskDefinition"]["containerDefinitions"][0]["image"]


def schedule(aws):
    return aws.client("scheduler").get_schedule(Name="gp-dev-send-reminders")


def tag_in_service(aws):
    return aws.client("ssm").get_parameter(Name="/gp-dev/deployed-image-tag")["Parameter"]["Value"]


def test_a_first_deploy_builds_migrates_then_starts_everything_on_the_new_image(
    aws, environment, ecs, recorder
):
    run(aws, environment, ecs, recorder)

    assert recorder.built == [f"{REPO}:{NEW}"]
    web, worker = service(aws, "gp-dev-web"), service(aws, "gp-dev-worker")
    assert (web["desiredCount"], worker["desiredCount"]) == (2, 1)
    assert image_of(aws, web["taskDefinition"]) == f"{REPO}:{NEW}"
    assert image_of(aws, worker["taskDefinition"]) == f"{REPO}:{NEW}"
    reminders = schedule(aws)
    assert reminders["State"] == "ENABLED"
    assert image_of(aws, reminders["Target"]["EcsParameters"]["TaskDefinitionArn"]).endswith(NEW)
    assert tag_in_service(aws) == NEW
    (migration,) = aws.client("ecs").list_tasks(cluster=CLUSTER)["taskArns"]
    assert migration
    assert recorder.smoked == [("https://dev.example.nhs.uk", SMOKE)]
    targets = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs"
    )["ScalableTargets"]
    assert (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) == (2, 6)


def test_redeploying_a_commit_reuses_its_image_instead_of_failing_at_push(
    aws, environment, ecs, recorder
):
    run(aws, environment, ecs, recorder)

    run(aws, environment, ecs, recorder)  # the same commit again: a rollback looks like this

    assert recorder.built == [f"{REPO}:{NEW}"]
    assert any("reusing" in line for line in recorder.said)
    assert image_of(aws, service(aws, "gp-dev-web")["taskDefinition"]) == f"{REPO}:{NEW}"


def test_a_failing_migration_leaves_services_and_schedule_on_the_release_before(
    aws, environment, ecs, recorder
):
    run(aws, environment, ecs, recorder, commit=OLD)
    before_web = service(aws, "gp-dev-web")["taskDefinition"]
    before_schedule = schedule(aws)["Target"]["EcsParameters"]["TaskDefinitionArn"]
    ecs.migration_exit_code = 1

    with pytest.raises(deploy.DeployFailed, match="migration failed \\(exit code 1"):
        run(aws, environment, ecs, recorder, commit=NEW)

    assert service(aws, "gp-dev-web")["taskDefinition"] == before_web
    assert schedule(aws)["Target"]["EcsParameters"]["TaskDefinitionArn"] == before_schedule
    assert tag_in_service(aws) == OLD
    assert len(recorder.smoked) == 1  # the first deploy's only


def test_the_failing_migrations_log_tail_is_shown(aws, environment, ecs, recorder):
    ecs.migration_exit_code = 1
    logs = aws.client("logs")
    original = deploy.Deploy.migrate

    def migrate_with_a_log(self, task_definition):
        # The task's log stream, written as awslogs would (prefix/container/task id).
        real_run_task = self.client("ecs").run_task

        def run_task(**kwargs):
            started = real_run_task(**kwargs)
            task_id = started["tasks"][0]["taskArn"].rsplit("/", 1)[1]
            stream = f"migrate/migrate/{task_id}"
            logs.create_log_stream(logGroupName="/gp-dev/migrate", logStreamName=stream)
            logs.put_log_events(
                logGroupName="/gp-dev/migrate",
                logStreamName=stream,
                logEvents=[
                    {
                        "timestamp": int(dt.datetime.now(dt.UTC).timestamp() * 1000),
                        "message": "django.db.utils.ProgrammingError: column exists",
                    }
                ],
            )
            return started

        self.clients["ecs"].run_task = run_task
        return original(self, task_definition)

    deploy_migrate = deploy.Deploy.migrate
    deploy.Deploy.migrate = migrate_with_a_log
    try:
        with pytest.raises(deploy.DeployFailed) as failure:
            run(aws, environment, ecs, recorder)
    finally:
        deploy.Deploy.migrate = deploy_migrate

    assert "column exists" in str(failure.value)


def test_a_rollback_by_the_circuit_breaker_is_reported_not_called_deployed(
    aws, environment, ecs, recorder
):
    run(aws, environment, ecs, recorder, commit=OLD)
    ecs.rollout = "FAILED"

    with pytest.raises(deploy.DeployFailed) as failure:
        run(aws, environment, ecs, recorder, commit=NEW)

    message = str(failure.value)
    assert "gp-dev-web: the deployment of ba9876543210 failed" in message
    assert "circuit breaker" in message and "rolled it back to gp-dev-web:" in message
    assert not any(line.startswith("Deployed") for line in recorder.said[-3:])
    assert len(recorder.smoked) == 1  # the first deploy's only: no smoke test of the old one
    # The schedule and the tag in service stay with the release that runs.
    reminders = schedule(aws)["Target"]["EcsParameters"]["TaskDefinitionArn"]
    assert image_of(aws, reminders).endswith(OLD)
    assert tag_in_service(aws) == OLD


def test_a_first_deploy_that_fails_goes_back_to_nothing_running(aws, environment, ecs, recorder):
    ecs.rollout = "FAILED"

    with pytest.raises(deploy.DeployFailed):
        run(aws, environment, ecs, recorder)

    assert service(aws, "gp-dev-web")["desiredCount"] == 0
    assert service(aws, "gp-dev-worker")["desiredCount"] == 0
    assert schedule(aws)["State"] == "DISABLED"
    assert tag_in_service(aws) == "none"


def test_a_deployment_replaced_by_a_newer_one_is_not_taken_for_ours():
    ours = "arn:aws:ecs:eu-west-2:1:task-definition/gp-dev-web:7"
    service_state = {
        "deployments": [
            {"status": "PRIMARY", "taskDefinition": ours[:-1] + "8", "rolloutState": "COMPLETED"},
            {"status": "ACTIVE", "taskDefinition": ours, "rolloutState": "COMPLETED"},
        ]
    }

    assert deploy._rollout(service_state, ours) != "COMPLETED"


def test_a_missing_terraform_output_is_named(environment):
    del environment["reminders_schedule_name"]
    del environment["region"]

    with pytest.raises(deploy.DeployFailed, match="outputs missing: region, reminders_schedule"):
        deploy.Environment.from_outputs(environment)


def test_demo_data_is_loaded_by_a_one_off_task_after_the_deploy(aws, environment, ecs, recorder):
    job = run(aws, environment, ecs, recorder)

    job.seed_demo(job.registered["migrate"])

    backend = ecs_backends[DEFAULT_ACCOUNT_ID][REGION]
    (seeding,) = [t for t in backend.tasks[CLUSTER].values() if t.overrides]
    (container,) = seeding.overrides["containerOverrides"]
    assert container["command"] == ["python", "manage.py", "seed_data"]
    assert {"name": "ALLOW_DEMO_DATA", "value": "true"} in container["environment"]


@pytest.mark.parametrize("environment_name", ["staging", "prod"])
def test_demo_data_is_refused_outside_dev(environment_name, capsys):
    with pytest.raises(SystemExit):
        deploy.main([environment_name, "--seed-demo"])

    assert "dev only" in capsys.readouterr().err
