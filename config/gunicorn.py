"""gunicorn settings, read from the environment. Used by the container and `make bench`.

gunicorn -c config/gunicorn.py config.wsgi
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Synchronous workers: one request each, no shared state; the database does the locking.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
# Longer than the load balancer's idle timeout (60 s), so it never reuses a connection that
# gunicorn has just closed (which shows as sporadic 502s).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Heartbeat files in memory: the root filesystem may be read-only and /tmp may be slow.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (tmpfs by design)
# No runtime control socket: nothing in the container needs to resize or reload us.
control_socket_disable = True
# No request-line cap here: core.http.limits answers an over-long URL with a JSON 414, and
# only the load balancer (which caps request lines itself) can reach the containers.
limit_request_line = 0
# Whose X-Forwarded-Proto gunicorn believes: the load balancer's subnets, as the app's
# TRUSTED_PROXY_NETWORKS; loopback only when none are named (gunicorn's own default).
_proxies = os.environ.get("TRUSTED_PROXY_NETWORKS", "").strip()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or (
    _proxies if _proxies and _proxies.lower() != "none" else "127.0.0.1,::1"
)
accesslog = "-"
# Escapes every field of the access log line, so a hostile path cannot break or forge one.
logger_class = "core.http.logging.GunicornLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# One JSON object per line, with the request id; the path carries no patient identifiers
# (ids in URLs are appointment UUIDs, never NHS numbers or names).
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "request_id": "%({x-request-id}o)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", '
    '"duration_ms": %(M)s, "remote": "%(h)s"}'
)
