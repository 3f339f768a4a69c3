"""Row-level security: the application connects as a role that owns nothing
(``APP_ROLE``) and, in each transaction, names the organisation it acts for; PostgreSQL's policies
(migration 0a1b2c3d4e5f) then return only that organisation's rows, and those of authorities that
share with it, even if a query forgets a filter."""

from sqlalchemy import Connection, text

APP_ROLE = "csmap_app"
ORGANISATION_SETTING = "csmap.organisation_id"


def act_for(connection: Connection, organisation_id: int | None) -> None:
    """Name the organisation for the rest of the transaction (none: no organisation's rows)."""
    connection.execute(text("SELECT set_config(:name, :value, true)"),
                       {"name": ORGANISATION_SETTING, "value": "" if organisation_id is None else str(organisation_id)})
