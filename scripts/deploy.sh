#!/usr/bin/env bash
# Deploy the current git commit to an environment:
#   1. build the image and push it to ECR, tagged with the commit;
#   2. terraform apply with that tag (registers new task definitions, points the reminder
#      schedule at them);
#   3. run the migrate task and wait for its exit code (stop on failure);
#   4. move the web and worker services to the new task definitions and wait until stable
#      (the circuit breaker rolls back a deployment whose tasks do not become healthy);
#   5. run `manage.py smoke_test` against the API.
# Needs: aws CLI v2, docker, terraform >= 1.11, uv; credentials for the target account;
# terraform/environments/ENV/ENV.tfvars (domain, certificate, sender address).
set -euo pipefail

env_name="${1:?usage: scripts/deploy.sh dev|staging|prod}"
dir="terraform/environments/${env_name}"
[ -d "$dir" ] || { echo "No environment ${env_name}" >&2; exit 2; }
[ -z "$(git status --porcelain)" ] || { echo "Commit your changes first: the image is tagged with the commit." >&2; exit 2; }

commit="$(git rev-parse --short=12 HEAD)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"
tfvars="${dir}/${env_name}.tfvars"
out() { terraform -chdir="$dir" output -raw "$1"; }
step() { printf '\n== %s\n' "$*"; }

step "Build and push ${commit}"
repo="$(out ecr_repository_url)"
aws ecr get-login-password | docker login --username AWS --password-stdin "${repo%%/*}"
docker build -f docker/Dockerfile --build-arg VERSION="$version" --build-arg COMMIT="$commit" -t "${repo}:${commit}" .
docker push "${repo}:${commit}"

step "Register task definitions for ${commit}"
terraform -chdir="$dir" apply -input=false -auto-approve -var-file="$(basename "$tfvars")" -var "image_tag=${commit}"

cluster="$(out cluster_name)"
subnets="$(terraform -chdir="$dir" output -json private_subnet_ids | tr -d '[]" \n')"
security_group="$(out tasks_security_group_id)"
family() { terraform -chdir="$dir" output -json task_families | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

step "Migrate"
task="$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE \
  --task-definition "$(family migrate)" \
  --network-configuration "awsvpcConfiguration={subnets=[${subnets}],securityGroups=[${security_group}],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)"
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
exit_code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)"
if [ "$exit_code" != "0" ]; then
  echo "Migration failed (exit code ${exit_code}); services left on the previous release." >&2
  echo "Logs: aws logs tail /gp-booking-${env_name}/migrate --since 15m" >&2
  exit 1
fi

step "Update services"
for service in "$(out web_service_name)" "$(out worker_service_name)"; do
  role="${service##*-}"
  aws ecs update-service --cluster "$cluster" --service "$service" --task-definition "$(family "$role")" >/dev/null
done
aws ecs wait services-stable --cluster "$cluster" --services "$(out web_service_name)" "$(out worker_service_name)"

step "Smoke test"
# The patient journey runs when SMOKE_EMAIL and SMOKE_PASSWORD name a patient with a confirmed
# address at a practice with free slots; otherwise only the public checks run.
uv run --frozen python manage.py smoke_test "$(out api_url)"
echo "Deployed ${commit} to ${env_name}."
