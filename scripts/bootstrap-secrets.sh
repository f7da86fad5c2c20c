#!/usr/bin/env bash
# Put the Django secret key and the JWT signing key into the environment's Secrets Manager
# secrets. Values are made here and go straight to AWS: never into Terraform state, a file
# or the task definition. Run once after the first apply; with --rotate, to replace both
# (then deploy, so tasks pick them up; tokens signed with the old key stop working).
set -euo pipefail
env_name="${1:?usage: scripts/bootstrap-secrets.sh dev|staging|prod [--rotate]}"
rotate="${2:-}"
dir="terraform/environments/${env_name}"
arns="$(terraform -chdir="$dir" output -json secret_arns)"
arn() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$arns" "$1"; }

put() {
  local secret="$1" value="$2"
  if [ -z "$rotate" ] && aws secretsmanager get-secret-value --secret-id "$secret" >/dev/null 2>&1; then
    echo "Already set: ${secret} (use --rotate to replace)"
    return
  fi
  aws secretsmanager put-secret-value --secret-id "$secret" --secret-string "$value" >/dev/null
  echo "Set: ${secret}"
}

put "$(arn django_secret_key)" "$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
put "$(arn jwt_private_key)" "$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
