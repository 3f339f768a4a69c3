"""/healthz: is the database there, and which PostGIS does it run?"""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.access import Access, declare
from webapp.db import get_session

bp = Blueprint("health", __name__)
declare(bp, Access.PUBLIC)


@bp.route("/healthz")
def healthz():
    try:
        postgis = get_session().scalar(text("SELECT postgis_lib_version()"))
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok", postgis=postgis)
