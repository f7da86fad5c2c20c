#!/usr/bin/env bash
# Write an environment's Terraform outputs to .env, as the original deploy guide did, so
# frontends and scripts can pick up the API URL and the Cognito ids.
set -euo pipefail
env_name="${1:?usage: scripts/write-env.sh dev|staging|prod}"
dir="terraform/environments/${env_name}"
out() { terraform -chdir="$dir" output -raw "$1"; }
cat > .env <<ENV
# Written by scripts/write-env.sh ${env_name} on $(date -u +%Y-%m-%dT%H:%M:%SZ)
ENVIRONMENT=${env_name}
AWS_REGION=${AWS_REGION:-eu-west-2}
API_URL=$(out api_url)
USER_POOL_ID=$(out user_pool_id)
USER_POOL_CLIENT_ID=$(out user_pool_client_id)
ECR_REPOSITORY_URL=$(out ecr_repository_url)
ECS_CLUSTER=$(out cluster_name)
ECS_WEB_SERVICE=$(out web_service_name)
ENV
echo "Wrote .env for ${env_name}"
