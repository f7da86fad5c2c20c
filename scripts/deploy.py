"""Deploy the checked-out commit to an environment, and say plainly whether it worked.

    uv run python scripts/deploy.py dev|staging|prod        (make deploy ENV=..., make prod-deploy)

1. The image: build it for linux/amd64 (Fargate's platform, whatever the laptop) and push it
   tagged with the commit, unless that tag is in ECR already (a redeploy or a rollback to an
   earlier commit reuses it: tags are immutable).
2. Task definitions: a new revision of each (web, worker, migrate, reminders) with that image.
3. Migrate: run the migrate task and wait as long as it takes, saying how long so far; a
   non-zero exit stops here with the end of its log, and the services and the reminder
   schedule stay on the release before.
4. Only then move the web and worker services (from zero tasks on the first deploy) and wait
   for each one's own deployment to finish (its rolloutState): FAILED means ECS's circuit
   breaker rolled it back, and that is said, naming the release it went back to (a first
   deploy that fails goes back to nothing running).
5. Once both run the release: move the reminder schedule to it and record its tag as the one
   in service (the SSM parameter Terraform reads back).
6. Read-only smoke test against the API (manage.py smoke_test), as the smoke account.

Everything it needs comes from `terraform output` of the environment: the region and every
name. It is tested against moto (tests/deploy/test_deploy_workflow.py).
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_OUTPUTS = (
    "region",
    "api_url",
    "cluster_name",
    "ecr_repository_url",
    "web_service_name",
    "worker_service_name",
    "task_families",
    "private_subnet_ids",
    "tasks_security_group_id",
    "reminders_schedule_name",
    "image_tag_parameter_name",
    "log_groups",
    "web_min_tasks",
    "web_max_tasks",
)
ROLES = ("web", "worker", "migrate", "reminders")
# What register_task_definition takes back from describe_task_definition.
REGISTERABLE = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "ephemeralStorage",
)
LOG_LINES = 40


class DeployFailed(Exception):
    """The deploy stopped; the message says where, and what is running now."""


@dataclass(frozen=True)
class Environment:
    """An environment as Terraform describes it (`terraform output`)."""

    outputs: Mapping[str, Any]

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> "Environment":
        missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
        if missing:
            raise DeployFailed(
                f"Terraform outputs missing: {', '.join(missing)}. "
                "Apply the environment with this commit's Terraform first."
            )
        return cls(outputs)

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


def terraform_outputs(env_dir: Path) -> dict[str, Any]:
    raw = subprocess.run(  # noqa: S603 - the operator's terraform, our own folder
        ["terraform", f"-chdir={env_dir}", "output", "-json"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {name: value["value"] for name, value in json.loads(raw).items()}


@dataclass
class Deploy:
    env: Environment
    commit: str
    session: boto3.session.Session
    build: Callable[[str, "Deploy"], None]
    smoke: Callable[[str, Mapping[str, str]], None]
    say: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 10.0
    rollout_timeout_seconds: float = 30 * 60
    clients: dict[str, Any] = field(default_factory=dict)
    registered: dict[str, str] = field(default_factory=dict)

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.session.client(name, region_name=self.env["region"])
        return self.clients[name]

    @property
    def image(self) -> str:
        return f"{self.env['ecr_repository_url']}:{self.commit}"

    def run(self) -> None:
        self.step(f"Image {self.image}")
        self.ensure_image()
        self.step("Task definitions")
        definitions = self.registered = self.register_task_definitions()
        self.step("Migrate")
        self.migrate(definitions["migrate"])
        self.step("Roll out")
        previous, desired = self.move_services(definitions)
        try:
            self.wait_for_rollouts(definitions, previous)
        except DeployFailed:
            if not any(desired.values()):
                # A first deploy that failed: the rollback went to the placeholder definition,
                # whose image does not exist. Back to nothing running, as before.
                self.stop_services()
            raise
        # Only a release that runs gets the schedule and is recorded as the one in service.
        self.move_schedule(definitions["reminders"])
        self.record_tag_in_service()
        self.step("Smoke test (read-only)")
        self.smoke(self.env["api_url"], smoke_account(self))
        self.say(f"Deployed {self.commit}: web and worker run it, reminders use it.")

    def step(self, text: str) -> None:
        self.say(f"\n== {text}")

    # 1. The image ---------------------------------------------------------------------

    def ensure_image(self) -> None:
        repository = self.env["ecr_repository_url"].split("/", 1)[1]
        try:
            self.client("ecr").describe_images(
                repositoryName=repository, imageIds=[{"imageTag": self.commit}]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ImageNotFoundException":
                raise
            self.build(self.image, self)
            return
        self.say(f"{self.commit} is in ECR already: reusing it")

    # 2. Task definitions ----------------------------------------------------------------

    def register_task_definitions(self) -> dict[str, str]:
        ecs = self.client("ecs")
        registered = {}
        for role in ROLES:
            family = self.env["task_families"][role]
            described = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
            current = described["taskDefinition"]
            spec = {key: current[key] for key in REGISTERABLE if current.get(key)}
            if described.get("tags"):  # Terraform's default tags (Project, Environment...)
                spec["tags"] = described["tags"]
            spec["containerDefinitions"] = [
                {**container, "image": self.image} for container in current["containerDefinitions"]
            ]
            arn = ecs.register_task_definition(**spec)["taskDefinition"]["taskDefinitionArn"]
            registered[role] = arn
            self.say(f"{role}: {arn.rsplit('/', 1)[1]}")
        return registered

    # 3. Migrate -------------------------------------------------------------------------

    def migrate(self, task_definition: str) -> None:
        self.one_off(
            task_definition,
            what="migration",
            failed_means="The services and the reminder schedule stay on the release before.",
        )

    def seed_demo(self, task_definition: str) -> None:
        """The demo data, as a one-off task on the migrate definition (dev only)."""
        self.one_off(
            task_definition,
            what="demo data",
            failed_means="The release is in service without demo data.",
            command=["python", "manage.py", "seed_data"],
            environment={"ALLOW_DEMO_DATA": "true"},
        )

    def one_off(
        self,
        task_definition: str,
        *,
        what: str,
        failed_means: str,
        command: list[str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """Run a task to its end, however long that takes, saying how long so far."""
        ecs = self.client("ecs")
        overrides: dict[str, Any] = {}
        if command or environment:
            container: dict[str, Any] = {"name": "migrate"}
            if command:
                container["command"] = command
            if environment:
                container["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
            overrides = {"containerOverrides": [container]}
        started = ecs.run_task(
            cluster=self.env["cluster_name"],
            taskDefinition=task_definition,
            launchType="FARGATE",
            startedBy=f"deploy-{self.commit}"[:36],
            overrides=overrides,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(self.env["private_subnet_ids"]),
                    "securityGroups": [self.env["tasks_security_group_id"]],
                    "assignPublicIp": "DISABLED",
                }
            },
        )
        if started.get("failures") or not started.get("tasks"):
            raise DeployFailed(f"The {what} task did not start: {started.get('failures')}")
        task_arn = started["tasks"][0]["taskArn"]
        began = time.monotonic()
        while True:  # as long as it takes: no waiter's ten-minute limit
            task = ecs.describe_tasks(cluster=self.env["cluster_name"], tasks=[task_arn])["tasks"][
                0
            ]
            if task["lastStatus"] == "STOPPED":
                break
            self.say(f"{what}: {task['lastStatus']}, {time.monotonic() - began:.0f} s so far")
            self.sleep(self.poll_seconds)
        container_state = task["containers"][0]
        exit_code = container_state.get("exitCode")
        if exit_code != 0:
            raise DeployFailed(
                f"The {what} failed (exit code {exit_code}, {task.get('stoppedReason', '')}). "
                f"{failed_means}\n" + self.log_tail(container_state["name"], task_arn)
            )
        self.say(f"{what} done in {time.monotonic() - began:.0f} s")

    def log_tail(self, container_name: str, task_arn: str) -> str:
        stream = f"migrate/{container_name}/{task_arn.rsplit('/', 1)[1]}"
        try:
            events = self.client("logs").get_log_events(
                logGroupName=self.env["log_groups"]["migrate"],
                logStreamName=stream,
                limit=LOG_LINES,
                startFromHead=False,
            )["events"]
        except ClientError as error:
            return f"(no log: {error.response['Error']['Message']})"
        return "Its log ends:\n" + "\n".join(f"  {event['message']}" for event in events)

    # 4. Move -----------------------------------------------------------------------------

    def record_tag_in_service(self) -> None:
        self.client("ssm").put_parameter(
            Name=self.env["image_tag_parameter_name"], Value=self.commit, Overwrite=True
        )

    def move_services(
        self, definitions: Mapping[str, str]
    ) -> tuple[dict[str, str], dict[str, int]]:
        """Each service onto its new definition; the definitions they ran before, and how many
        tasks each wanted before (0 everywhere: the first deploy)."""
        ecs = self.client("ecs")
        cluster = self.env["cluster_name"]
        # The autoscaling range first: with Terraform's 0..0 before the first deploy, a
        # scaling activity would take the new tasks straight back down.
        self.web_task_range(self.env["web_min_tasks"], self.env["web_max_tasks"])
        previous, desired = {}, {}
        for role in ("web", "worker"):
            name = self.env[f"{role}_service_name"]
            service = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
            previous[role], desired[role] = service["taskDefinition"], service["desiredCount"]
            update: dict[str, Any] = {
                "cluster": cluster,
                "service": name,
                "taskDefinition": definitions[role],
            }
            if service["desiredCount"] == 0:  # the first deploy: nothing ran until now
                update["desiredCount"] = self.env["web_min_tasks"] if role == "web" else 1
            ecs.update_service(**update)
            self.say(f"{name}: {definitions[role].rsplit('/', 1)[1]}")
        return previous, desired

    def web_task_range(self, minimum: int, maximum: int) -> None:
        """The web service's autoscaling range (Terraform sets the same once deployed)."""
        cluster, service = self.env["cluster_name"], self.env["web_service_name"]
        self.client("application-autoscaling").register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/{cluster}/{service}",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )

    def stop_services(self) -> None:
        ecs = self.client("ecs")
        cluster = self.env["cluster_name"]
        self.web_task_range(0, 0)
        for role in ("web", "worker"):
            ecs.update_service(
                cluster=cluster, service=self.env[f"{role}_service_name"], desiredCount=0
            )
        self.say("first deploy failed: web and worker are back at zero tasks")

    def move_schedule(self, task_definition: str) -> None:
        scheduler = self.client("scheduler")
        name = self.env["reminders_schedule_name"]
        schedule = scheduler.get_schedule(Name=name)
        target = schedule["Target"]
        target["EcsParameters"]["TaskDefinitionArn"] = task_definition
        update = {
            key: schedule[key]
            for key in (
                "Name",
                "GroupName",
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "FlexibleTimeWindow",
                "KmsKeyArn",
                "Description",
            )
            if schedule.get(key)
        }
        scheduler.update_schedule(**update, Target=target, State="ENABLED")
        self.say(f"{name}: {task_definition.rsplit('/', 1)[1]}, enabled")

    # 5. Wait -----------------------------------------------------------------------------

    def wait_for_rollouts(
        self, definitions: Mapping[str, str], previous: Mapping[str, str]
    ) -> None:
        ecs = self.client("ecs")
        waiting = {"web", "worker"}
        deadline = time.monotonic() + self.rollout_timeout_seconds
        while waiting:
            # ECS needs a moment to start the new deployment; then each check is a poll.
            self.sleep(self.poll_seconds)
            for role in sorted(waiting):
                name = self.env[f"{role}_service_name"]
                service = ecs.describe_services(cluster=self.env["cluster_name"], services=[name])[
                    "services"
                ][0]
                state = _rollout(service, definitions[role])
                if state == "COMPLETED":
                    self.say(f"{name}: running {self.commit}")
                    waiting.discard(role)
                elif state in ("FAILED", "GONE"):
                    reason = _reason(service, definitions[role])
                    raise DeployFailed(
                        f"{name}: the deployment of {self.commit} failed ({reason}); ECS's "
                        f"circuit breaker rolled it back to {previous[role].rsplit('/', 1)[1]}. "
                        "That release is what runs now."
                    )
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise DeployFailed(
                    f"Still rolling out after {self.rollout_timeout_seconds / 60:.0f} minutes: "
                    f"{', '.join(sorted(waiting))}. Look at the ECS console before deploying again."
                )
            self.say(f"rolling out: {', '.join(sorted(waiting))}")


def _ours(service: Mapping[str, Any], task_definition: str) -> Mapping[str, Any] | None:
    return next(
        (d for d in service.get("deployments", []) if d["taskDefinition"] == task_definition),
        None,
    )


def _rollout(service: Mapping[str, Any], task_definition: str) -> str:
    """COMPLETED, FAILED, IN_PROGRESS, or GONE (rolled back: ours is no deployment any more)."""
    ours = _ours(service, task_definition)
    if ours is None:
        return "GONE"
    if ours["status"] != "PRIMARY":  # rolled back, or replaced by a newer deployment
        return "FAILED" if ours.get("rolloutState") == "FAILED" else "GONE"
    return str(ours.get("rolloutState", "IN_PROGRESS"))


def _reason(service: Mapping[str, Any], task_definition: str) -> str:
    ours = _ours(service, task_definition)
    return str((ours or {}).get("rolloutStateReason") or "its tasks did not become healthy")


# The real builder and smoke test ------------------------------------------------------------


def docker_build_and_push(image: str, deploy: Deploy) -> None:
    """Build for Fargate's platform whatever machine this is, then push."""
    token = deploy.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    registry = image.split("/", 1)[0]
    subprocess.run(  # noqa: S603 - the operator's docker
        ["docker", "login", "--username", user, "--password-stdin", registry],  # noqa: S607
        input=password,
        text=True,
        check=True,
    )
    version = next(
        line.split('"')[1]
        for line in (ROOT / "pyproject.toml").read_text().splitlines()
        if line.startswith("version = ")
    )
    commit = image.rsplit(":", 1)[1]
    for command in (
        ["docker", "build", "--platform", "linux/amd64", "-f", "docker/Dockerfile",
         "--build-arg", f"VERSION={version}", "--build-arg", f"COMMIT={commit}", "-t", image, "."],
        ["docker", "push", image],
    ):  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603


def smoke_account(deploy: Deploy) -> dict[str, str]:
    """SMOKE_EMAIL and SMOKE_PASSWORD from the environment's secret; none before bootstrap."""
    arn = (deploy.env.outputs.get("secret_arns") or {}).get("smoke_account")
    if not arn:
        return {}
    try:
        value = deploy.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return {}  # not bootstrapped: the public checks only
        raise DeployFailed(f"Cannot read the smoke account's secret: {error}") from error
    account = json.loads(value)
    return {"SMOKE_EMAIL": account["email"], "SMOKE_PASSWORD": account["password"]}


def smoke_test(api_url: str, account: Mapping[str, str]) -> None:
    """Read-only: health, readiness, schema, JWKS, practices, and with the smoke account a
    sign-in and an availability search. Books nothing."""
    try:
        subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "manage.py", "smoke_test", api_url, "--read-only"],
            cwd=ROOT,
            check=True,
            env={**os.environ, **account},
        )
    except subprocess.CalledProcessError as failure:
        raise DeployFailed(
            "The smoke test failed (its output is above). The new release is in service."
        ) from failure


def _commit() -> str:
    # Only tracked changes matter: the image is tagged with the commit. `terraform init`'s
    # untracked lock files must not stop a deploy.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if dirty.strip():
        raise DeployFailed("Commit your changes first: the image is tagged with the commit.")
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


DEMO_LOGINS = """Demo logins (password Demo-Pass-123!): patient@demo.gp-booking.test,
clinician@demo.gp-booking.test, practice.admin@demo.gp-booking.test (the API and the admin)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("environment", choices=["dev", "staging", "prod"])
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="dev only: then load the demo data (make dev)",
    )
    args = parser.parse_args(argv)
    if args.seed_demo and args.environment != "dev":
        parser.error("demo data goes to dev only (its password is published)")
    try:
        env = Environment.from_outputs(
            terraform_outputs(ROOT / "terraform" / "environments" / args.environment)
        )
        job = Deploy(
            env=env,
            commit=_commit(),
            session=boto3.session.Session(profile_name=os.environ.get("AWS_PROFILE")),
            build=docker_build_and_push,
            smoke=smoke_test,
        )
        job.run()
        if args.seed_demo:
            job.step("Demo data")
            job.seed_demo(job.registered["migrate"])
            print(f"\n{env['api_url']}/api/docs/\n{DEMO_LOGINS}")
    except DeployFailed as failure:
        print(f"\nNOT DEPLOYED: {failure}", file=sys.stderr)
        return 1
    except (ClientError, subprocess.CalledProcessError) as failure:
        print(
            f"\nNOT DEPLOYED: {failure}\nThe steps above say how far it got; what they moved "
            "stays moved.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
