#!/usr/bin/env bash
# Put the Django secret key and the JWT signing key into the environment's Secrets Manager
# secrets. Values are made here and go straight to AWS: never into Terraform state, a file
# or the task definition. Run once after the first apply; then (each followed by a deploy, so
# tasks pick the values up):
#   --rotate          replace both keys at once: every session ends (an emergency)
#   --rotate-jwt      a new signing key; the old one's public half keeps verifying the tokens
#                     it signed (nobody is signed out)
#   --retire-jwt      forget the previous key, once a refresh token's lifetime (7 days) has
#                     passed since --rotate-jwt
set -euo pipefail
env_name="${1:?usage: scripts/bootstrap-secrets.sh dev|staging|prod [--rotate|--rotate-jwt|--retire-jwt]}"
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

new_jwt_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null; }
set_value() {
  aws secretsmanager put-secret-value --secret-id "$1" --secret-string "$2" >/dev/null
  echo "Set: $1"
}

case "$rotate" in
  --rotate-jwt)
    current="$(aws secretsmanager get-secret-value --secret-id "$(arn jwt_private_key)" \
      --query SecretString --output text)"
    set_value "$(arn jwt_previous_key)" "$(printf '%s\n' "$current" | openssl pkey -pubout)"
    set_value "$(arn jwt_private_key)" "$(new_jwt_key)"
    echo "Now deploy; after 7 days, --retire-jwt and deploy again."
    exit 0
    ;;
  --retire-jwt)
    set_value "$(arn jwt_previous_key)" none
    echo "Now deploy: tokens signed before the rotation stop working."
    exit 0
    ;;
esac

put "$(arn django_secret_key)" "$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
put "$(arn jwt_private_key)" "$(new_jwt_key)"
put "$(arn jwt_previous_key)" none
# The read-only smoke test's patient (no practice, no messages); the migrate task creates it.
host="$(terraform -chdir="$dir" output -raw api_url | sed -E 's#^https?://##; s#/.*$##')"
put "$(arn smoke_account)" "$(python3 -c 'import json, secrets, sys; print(json.dumps({"email": f"smoke-test@{sys.argv[1]}", "password": "Sm0ke-" + secrets.token_urlsafe(24) + "!"}))' "$host")"
