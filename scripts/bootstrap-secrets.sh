#!/usr/bin/env bash
# Put the Django secret key, the JWT signing key and the smoke-test account into the
# environment's Secrets Manager secrets. Values are made here and go straight to AWS: never
# into Terraform state, a file or the task definition. Run once after the first apply; then
# (each followed by a deploy, so tasks pick the values up):
#   --rotate          replace every value at once: every session ends (an emergency)
#   --rotate-jwt      a new signing key; the old one's public half keeps verifying the tokens
#                     it signed (nobody is signed out)
#   --retire-jwt      forget the previous key, once a refresh token's lifetime (7 days) has
#                     passed since --rotate-jwt
set -euo pipefail
usage="usage: scripts/bootstrap-secrets.sh dev|staging|prod [--rotate|--rotate-jwt|--retire-jwt]"
env_name="${1:?$usage}"
rotate="${2:-}"
case "$rotate" in
  ""|--rotate|--rotate-jwt|--retire-jwt) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
dir="terraform/environments/${env_name}"
arns="$(terraform -chdir="$dir" output -json secret_arns)"
AWS_REGION="$(terraform -chdir="$dir" output -raw region)"
export AWS_REGION
arn() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$arns" "$1"; }

# The secret's current value, or nothing if it has none yet; any other error stops here.
current() {
  local out
  if out="$(aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text 2>&1)"; then
    printf '%s' "$out"
  elif [[ "$out" == *ResourceNotFoundException* ]]; then
    return 0
  else
    echo "Cannot read $1: $out" >&2
    exit 1
  fi
}

set_value() {
  [ -n "$2" ] || { echo "Refusing to store an empty value in $1" >&2; exit 1; }
  aws secretsmanager put-secret-value --secret-id "$1" --secret-string "$2" >/dev/null
  echo "Set: $1"
}

put() {
  if [ -z "$rotate" ] && [ -n "$(current "$1")" ]; then
    echo "Already set: $1 (use --rotate to replace)"
    return
  fi
  set_value "$1" "$2"
}

new_jwt_key() {
  local key
  key="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)"
  printf '%s' "$key"
}

case "$rotate" in
  --rotate-jwt)
    previous="$(current "$(arn jwt_previous_key)")"
    if [ -n "$previous" ] && [ "$previous" != "none" ]; then
      echo "A previous key is still in use: --retire-jwt it first (7 days after the last rotation)." >&2
      exit 1
    fi
    signing="$(current "$(arn jwt_private_key)")"
    [ -n "$signing" ] || { echo "No signing key yet: run without options first." >&2; exit 1; }
    public="$(printf '%s\n' "$signing" | openssl pkey -pubout)"
    fresh="$(new_jwt_key)"
    set_value "$(arn jwt_previous_key)" "$public"
    set_value "$(arn jwt_private_key)" "$fresh"
    echo "Now deploy; after 7 days, --retire-jwt and deploy again."
    exit 0
    ;;
  --retire-jwt)
    set_value "$(arn jwt_previous_key)" none
    echo "Now deploy: tokens signed before the rotation stop working."
    exit 0
    ;;
esac

django_key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
jwt_key="$(new_jwt_key)"
host="$(terraform -chdir="$dir" output -raw api_url | sed -E 's#^https?://##; s#/.*$##')"
# The read-only smoke test's patient (no practice, no messages), made by the migrate task. A
# random address: nobody outside can lock it out by guessing at its sign-in.
smoke="$(python3 -c 'import json, secrets, sys; print(json.dumps({"email": f"smoke-{secrets.token_hex(6)}@{sys.argv[1]}", "password": "Sm0ke-" + secrets.token_urlsafe(24) + "!"}))' "$host")"

put "$(arn django_secret_key)" "$django_key"
put "$(arn jwt_private_key)" "$jwt_key"
put "$(arn jwt_previous_key)" none
put "$(arn smoke_account)" "$smoke"
