"""Structured logs: one JSON line per request (method, path, status, time taken, user) and for
every other log record, each carrying the request's id. The id comes from the proxy's
``X-Request-ID`` when it is a sensible one, or is made here, and goes back in the answer's
``X-Request-ID``, so a user's report, the proxy's log and this log meet on one value.

Paths are logged without their query strings: a placement check's asks for a young person's
reference, which has no place in a log.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
log = logging.getLogger("webapp.requests")


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON, with the request's id when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> None:
    """Every logger writes JSON lines to standard error (for the server: gunicorn passes them on)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugins announce themselves on import


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    # The user as already loaded for the request: never a database query just to log it.
    user = g.get("_login_user")
    log.info("request", extra={"fields": {
        "request_id": g.get("request_id"), "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1),
        "user_id": user.get_id() if user is not None and user.is_authenticated else None,
        "remote_addr": request.remote_addr}})
    return response
