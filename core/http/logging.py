"""JSON log lines with the request id, for CloudWatch Logs Insights."""

import json
import logging
from typing import Any

from gunicorn import glogging

from .request_id import current_request_id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _JsonEscapedAtoms(glogging.SafeAtoms):
    """gunicorn's log atoms with every string escaped for a JSON string literal.

    gunicorn escapes only double quotes; a backslash, a newline or a NUL in a requested path
    would break the line (or forge a second one). json.dumps escapes all of them.
    """

    def __init__(self, atoms: dict[str, Any]) -> None:
        # Not SafeAtoms.__init__: its own quote escaping would escape ours a second time.
        dict.__init__(
            self, {k: json.dumps(v)[1:-1] if isinstance(v, str) else v for k, v in atoms.items()}
        )


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, with the access log's fields escaped (config/gunicorn.py)."""

    atoms_wrapper_class = _JsonEscapedAtoms
