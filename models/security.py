"""Row-level security: the application connects as a role that owns nothing
(``APP_ROLE``) and, in each transaction, names the organisation it acts for; PostgreSQL's policies
(migration 0a1b2c3d4e5f) then return only that organisation's rows, and those of authorities that
share with it, even if a query forgets a filter."""

from sqlalchemy import Connection, text

APP_ROLE = "csmap_app"
ORGANISATION_SETTING = "csmap.organisation_id"


def act_for(connection: Connection, organisation_id: int | None) -> None:
    """Name the organisation for the rest of the transaction (none: no organisation's rows).

    A ``SET LOCAL`` statement rather than ``set_config()``: on Citus it is the form passed on to the
    nodes that hold the shards (``citus.propagate_set_commands = 'local'``, README "Past one
    machine"). SET takes no bind parameter, so the value is written in, as a number or empty."""
    value = "" if organisation_id is None else str(int(organisation_id))
    connection.execute(text(f"SET LOCAL {ORGANISATION_SETTING} = '{value}'"))
