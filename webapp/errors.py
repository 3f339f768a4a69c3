"""Error pages for people and JSON errors for the API; never a stack trace."""

from flask import Flask, current_app, jsonify, render_template, request, url_for
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.db import discard_changes

# Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER = 30


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)


def wants_json() -> bool:
    """The API, the dashboard's own JSON (the live map's updates) and the health check answer in
    JSON, errors too."""
    return request.path.startswith("/api/") or request.path.endswith(".json") or request.path == "/healthz"


def _http_error(error: HTTPException):
    if wants_json():
        return jsonify(error=error.description, status=error.code), error.code
    return render_template("error.html", error=error), error.code


def _unexpected_error(error: Exception):
    current_app.logger.exception("unhandled error on %s", request.path)
    discard_changes()
    return _http_error(InternalServerError())


def _database_unavailable(error: OperationalError):
    """The database is not there (stopped, restarting, unreachable) or a statement ran past its
    time limit: a 503 saying so, never a hang or a 500. The pool's pre-ping replaces the broken
    connections, so requests succeed again as soon as the database is back."""
    timed_out = isinstance(error.orig, QueryCanceled)
    current_app.logger.warning("database %s on %s: %s", "too slow" if timed_out else "unavailable", request.path,
                               str(error.orig).strip().splitlines()[0] if error.orig else error)
    message = ("The database took too long to answer, so this was stopped and nothing was changed. Try again, "
               "or narrow what you asked for." if timed_out else
               "The database cannot be reached just now, so nothing was read or changed. Try again in a minute.")
    headers = {"Retry-After": str(RETRY_AFTER)}
    if wants_json():
        return jsonify(error=message, status=503, database="too slow" if timed_out else "unreachable"), 503, headers
    # Rendered without the app's context processors: they would ask the database for the user.
    page = current_app.jinja_env.get_template("unavailable.html").render(
        message=message, stylesheet=url_for("static", filename="vendor/bootstrap/dist/css/bootstrap.min.css"))
    return page, 503, headers
