"""PostgreSQL whose password is read from Secrets Manager, so RDS can rotate it.

ECS injects the password once, at task start; after RDS rotates it, running tasks would
fail to open new connections. With PASSWORD_SECRET_ARN set, every new connection takes the
current username and password from the secret (cached for a few minutes), and a rejected
password drops the cache and tries once more with a fresh read.
"""

import json
import threading
import time
from typing import Any

import boto3
from django.db import OperationalError
from django.db.backends.postgresql import base

CACHE_SECONDS = 300
_cache: dict[str, tuple[float, dict[str, str]]] = {}
_lock = threading.Lock()


def current_credentials(secret_arn: str, *, refresh: bool = False) -> dict[str, str]:
    with _lock:
        cached = _cache.get(secret_arn)
        if cached and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        region = secret_arn.split(":")[3]
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(
            SecretId=secret_arn
        )
        credentials = json.loads(value["SecretString"])
        _cache[secret_arn] = (time.monotonic(), credentials)
        return credentials


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        secret_arn = self.settings_dict.get("PASSWORD_SECRET_ARN")
        if secret_arn:
            credentials = current_credentials(secret_arn)
            params["user"], params["password"] = credentials["username"], credentials["password"]
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        try:
            return super().get_new_connection(conn_params)
        except OperationalError as exc:
            secret_arn = self.settings_dict.get("PASSWORD_SECRET_ARN")
            if not secret_arn or "password authentication failed" not in str(exc):
                raise
            # Rotated since we cached it: read the secret again and retry once.
            credentials = current_credentials(secret_arn, refresh=True)
            conn_params = {
                **conn_params,
                "user": credentials["username"],
                "password": credentials["password"],
            }
            return super().get_new_connection(conn_params)
