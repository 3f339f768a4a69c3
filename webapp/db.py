"""One SQLAlchemy session per request, closed when the request ends, acting for the signed-in
user's organisation (row-level security, models.security)."""

from flask import Flask, abort, current_app, g
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models.base import make_engine, make_session_factory
from models.security import act_for
from models.validation import LARGEST_ID

# JIT compilation cost about 60 ms on each of the dashboard's short aggregate queries and saved
# nothing on the long ones. psycopg prepares a statement run five times on one connection, and
# PostgreSQL then may switch to a generic plan that cannot see how many hexagons an array holds:
# the placement check's hotspot counts went from 30 ms to 800 ms on its eleventh run. Both measured
# on the benchmark data; tests/webapp/test_db.py checks both settings.
CONNECTION_OPTIONS = "-c jit=off -c plan_cache_mode=force_custom_plan"


def init_app(app: Flask) -> None:
    # The app's own role (APP_DATABASE_URL) owns nothing and is subject to row-level security;
    # DATABASE_URL, the owner, is for migrations and the command-line loads.
    engine = make_engine(
        app.config["APP_DATABASE_URL"] or app.config["DATABASE_URL"],
        pool_size=app.config["DB_POOL_SIZE"],
        max_overflow=app.config["DB_MAX_OVERFLOW"],
        connect_args={"connect_timeout": app.config["DB_CONNECT_TIMEOUT"],
                      "options": f"{CONNECTION_OPTIONS} -c statement_timeout={app.config['DB_STATEMENT_TIMEOUT']}s"},
    )
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
        event.listen(g.db_session, "after_begin", _act_in_new_transaction)
    return g.db_session


def act_for_organisation(organisation_id: int | None) -> None:
    """From now on in this request, every transaction acts for ``organisation_id``."""
    g.organisation_id = organisation_id
    g.pop("reach", None)
    session = get_session()
    if session.in_transaction():
        g.reach = act_for(session.connection(), organisation_id)


def visible_organisations() -> tuple[int, ...]:
    """The organisations whose rows this request may read (its own and those sharing with it), as
    named to row-level security: looked up by the first transaction that acts for an organisation,
    none when the request acts for none."""
    if "reach" not in g:
        get_session().connection()  # beginning a transaction names them (_act_in_new_transaction)
    return g.reach.organisations if "reach" in g else ()


def _act_in_new_transaction(_session, _transaction, connection) -> None:
    # SET LOCAL lasts one transaction: name the organisations again in each new one, looking up
    # what it may read only in the first.
    if "organisation_id" in g:
        g.reach = act_for(connection, g.organisation_id, g.get("reach"))


def discard_changes() -> None:
    """Roll back this request's transaction, if it began one: a statement that failed leaves it
    unable to run another, and the error page still reads the signed-in user's menu."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _close_session(_exception=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


MAX_ID = LARGEST_ID  # a larger id in a URL is simply not there


def get_or_404(model, record_id: int, what: str, organisation_id: int | None = None):
    """The ``model`` row with ``record_id``, or a 404 that says there is no such ``what``; with
    ``organisation_id``, a row of another organisation is not there either (row-level security
    says the same in the database)."""
    if record_id > MAX_ID:
        record = None
    elif organisation_id is None:
        record = get_session().get(model, record_id)
    else:  # by the organisation too, which on Citus finds the one shard that may hold it
        record = get_session().scalar(select(model).where(model.organisation_id == organisation_id,
                                                          model.id == record_id))
    if record is None:
        abort(404, description=f"There is no {what} {record_id}.")
    return record
