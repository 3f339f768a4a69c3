"""Error pages for people and JSON errors for the API; never a stack trace."""

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def wants_json() -> bool:
    """The API and the dashboard's own JSON (the live map's updates) answer in JSON, errors too."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _http_error(error: HTTPException):
    if wants_json():
        return jsonify(error=error.description, status=error.code), error.code
    return render_template("error.html", error=error), error.code


def _unexpected_error(error: Exception):
    current_app.logger.exception("unhandled error on %s", request.path)
    return _http_error(InternalServerError())
