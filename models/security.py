"""Row-level security: the application connects as a role that owns nothing
(``APP_ROLE``) and, in each transaction, names the organisation it acts for and what it may read;
PostgreSQL's policies (migrations 116d89ef252f, b8d0f2a4c6e1 and 1a3c5e7b9d2f) then return only
those rows, even if a query forgets a filter. Each policy compares the row's own columns with
these settings and reads no table, as Citus requires of every table it holds."""

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from models.validation import record_id

APP_ROLE = "csmap_app"
ORGANISATION_SETTING = "csmap.organisation_id"
VISIBLE_SETTING = "csmap.visible_organisations"
PARTNER_CONTEXTS_SETTING = "csmap.partner_contexts"


@dataclass(frozen=True)
class Reach:
    """What a transaction acting for an organisation may read beyond nothing: the organisations
    whose rows it may read (its own and those sharing with it), and other organisations' contexts
    it runs or is named in by their case, whose case and notes it may read (models.inbox)."""

    organisations: tuple[int, ...] = ()
    contexts: tuple[int, ...] = ()


def act_for(connection: Connection, organisation_id: int | None, reach: Reach | None = None) -> Reach:
    """Name the organisation for the rest of the transaction (none: no organisation's rows) and
    what it may read: ``reach`` when the caller already knows it from an earlier transaction,
    else looked up in organisation_sharing, contexts and case_records. Returns the reach.

    ``SET LOCAL`` statements rather than ``set_config()``: on Citus they are the form passed on to
    the nodes that hold the shards (``citus.propagate_set_commands = 'local'``), whose policies
    read these settings and no table. SET takes no bind parameter, so the values are written in,
    as numbers."""
    organisation = None if organisation_id is None else _number(organisation_id)
    if reach is None:
        organisations, contexts = connection.execute(select(
            func.csmap_organisations_visible_to(organisation), func.csmap_contexts_involving(organisation))).one()
        reach = Reach(tuple(organisations), tuple(contexts))
    reach = Reach(*(tuple(sorted(map(_number, ids))) for ids in (reach.organisations, reach.contexts)))
    connection.exec_driver_sql(f"SET LOCAL {ORGANISATION_SETTING} = '{'' if organisation is None else organisation}'; "
                               f"SET LOCAL {VISIBLE_SETTING} = '{_array(reach.organisations)}'; "
                               f"SET LOCAL {PARTNER_CONTEXTS_SETTING} = '{_array(reach.contexts)}'")
    return reach


def _array(ids: tuple[int, ...]) -> str:
    return "{" + ",".join(map(str, ids)) + "}"


def _number(value) -> int:
    """An organisation's id, from an int or its digits; anything else is refused."""
    number = record_id(value)
    if number is None:
        raise ValueError(f"{value!r} is not an organisation's id")
    return number
