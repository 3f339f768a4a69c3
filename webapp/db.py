"""One SQLAlchemy session per request, closed when the request ends."""

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from models.base import make_engine, make_session_factory


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        pool_size=app.config["DB_POOL_SIZE"],
        # JIT compilation cost about 60 ms on each of the dashboard's short aggregate queries and
        # saved nothing on the long ones (measured on the benchmark data), so it is off.
        connect_args={"connect_timeout": app.config["DB_CONNECT_TIMEOUT"], "options": "-c jit=off"},
    )
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def _close_session(_exception=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
