"""Row-level security: the application connects as a role that owns nothing
(``APP_ROLE``) and, in each transaction, names the organisation it acts for and those it may read;
PostgreSQL's policies (migrations 116d89ef252f and b8d0f2a4c6e1) then return only those
organisations' rows, even if a query forgets a filter."""

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from models.validation import record_id

APP_ROLE = "csmap_app"
ORGANISATION_SETTING = "csmap.organisation_id"
VISIBLE_SETTING = "csmap.visible_organisations"


def act_for(connection: Connection, organisation_id: int | None,
            visible: Sequence[int] | None = None) -> tuple[int, ...]:
    """Name the organisation for the rest of the transaction (none: no organisation's rows), and
    the organisations it may read: ``visible`` when the caller already knows them from an earlier
    transaction, else looked up in organisation_sharing. Returns the organisations it may read.

    ``SET LOCAL`` statements rather than ``set_config()``: on Citus they are the form passed on to
    the nodes that hold the shards (``citus.propagate_set_commands = 'local'``, README "Past one
    machine"), whose policies read no table. SET takes no bind parameter, so the values are
    written in, as numbers."""
    organisation = None if organisation_id is None else _number(organisation_id)
    if visible is None:
        visible = connection.scalar(select(func.csmap_organisations_visible_to(organisation)))
    visible = tuple(sorted(map(_number, visible)))
    connection.exec_driver_sql(f"SET LOCAL {ORGANISATION_SETTING} = '{'' if organisation is None else organisation}'; "
                               f"SET LOCAL {VISIBLE_SETTING} = '{{{','.join(map(str, visible))}}}'")
    return visible


def _number(value) -> int:
    """An organisation's id, from an int or its digits; anything else is refused."""
    number = record_id(value)
    if number is None:
        raise ValueError(f"{value!r} is not an organisation's id")
    return number
