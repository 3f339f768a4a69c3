"""Rows worked out from others, kept by the writers in the transaction that changes them: the
monthly hexagon totals of missing episodes (models.aggregates.EpisodeHexMonth) and each
organisation's data-version tokens (models.aggregates.OrganisationDataVersion), under which the
app keeps answers in memory (webapp.data_cache).

Triggers kept them until migration 1a3c5e7b9d2f. Citus cannot fire statement triggers with
transition tables on its shards, and a trigger on a shard must not write another distributed
table, so every writer now says which organisation's rows it wrote, and the two database functions
it calls run statements that each name one organisation (on Citus, routed to that organisation's
shards). Who calls them:

- a session's flush, for the young people, links and episodes it wrote (below);
- :func:`models.base.copy_rows`, for the rows it copies in (the demo, an import's new rows);
- a statement run through a session on those tables, which refuses to run unless its caller
  passes ``execution_options(upkeep_by_caller=True)`` and calls :func:`keep` itself;
- after a change made outside the app (psql), ``./scripts/flask recount ORGANISATION``.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Date, Text, bindparam, event, func, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import ORMExecuteState, Session

from models.safeguarding import ContextLink, MissingEpisode, YoungPerson
from models.times import LONDON

# The tables whose writes renew their organisation's token, by their mapped classes.
KEPT_TABLES = {YoungPerson: "young_people", ContextLink: "context_links", MissingEpisode: "missing_episodes"}
# The episode's columns that place it in the monthly hexagon totals (the episode_hex_keys function).
COUNTED_COLUMNS = ("started_at", "last_seen_cells", "found_cells", "young_person_id")
EVERY_MONTH = None


def london_month(moment: datetime) -> date:
    """The first day of the London month of ``moment``, as the totals are kept.

    >>> from datetime import timezone
    >>> london_month(datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc))  # 00:30 BST on 1 April
    datetime.date(2026, 4, 1)
    """
    return moment.astimezone(LONDON).date().replace(day=1)


@dataclass
class Written:
    """What a writer changed: for each organisation, the tables, and the months whose episodes
    were added, changed or removed (``EVERY_MONTH`` when not known)."""

    tables: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    months: dict[int, set[date] | None] = field(default_factory=dict)

    def table(self, organisation_id: int, table: str) -> None:
        self.tables[organisation_id].add(table)

    def episode_month(self, organisation_id: int, started_at: datetime | None) -> None:
        self.table(organisation_id, "missing_episodes")
        if started_at is None:
            self.months[organisation_id] = EVERY_MONTH
        elif self.months.setdefault(organisation_id, set()) is not EVERY_MONTH:
            self.months[organisation_id].add(london_month(started_at))

    def __bool__(self) -> bool:
        return bool(self.tables)


def keep(connection: Connection, written: Written) -> None:
    """Recount the organisations' totals of the months written and renew their tokens, in the
    organisations' order (writers of the same ones then wait for each other, not deadlock)."""
    for organisation_id in sorted(written.tables):
        if organisation_id in written.months:
            recount_hex_months(connection, organisation_id, written.months[organisation_id])
        renew_data_versions(connection, organisation_id, written.tables[organisation_id])


def recount_hex_months(connection: Connection, organisation_id: int, months: Iterable[date] | None = EVERY_MONTH) -> None:
    """Count the organisation's monthly hexagon totals of ``months`` again from its episodes."""
    months = None if months is None else sorted(months)
    connection.execute(select(func.csmap_recount_hex_months(
        organisation_id, bindparam("months", months, type_=ARRAY(Date)))))


def renew_data_versions(connection: Connection, organisation_id: int, tables: Iterable[str] = KEPT_TABLES.values()) -> None:
    """New tokens for the organisation's ``tables``: answers kept under the old ones are worked out again."""
    connection.execute(select(func.csmap_renew_data_versions(
        organisation_id, bindparam("tables", sorted(tables), type_=ARRAY(Text)))))


def recount_organisation(connection: Connection, organisation_id: int) -> None:
    """All of an organisation's totals and tokens, after its rows were written outside the app."""
    recount_hex_months(connection, organisation_id, EVERY_MONTH)
    renew_data_versions(connection, organisation_id)


def _written_by_flush(session: Session) -> Written:
    written = Written()
    changed = [(row, "deleted") for row in session.deleted] + [(row, "new") for row in session.new]
    changed += [(row, "dirty") for row in session.dirty if session.is_modified(row, include_collections=False)]
    for row, how in changed:
        table = KEPT_TABLES.get(type(row))
        if table is None:
            continue
        written.table(row.organisation_id, table)
        if table != "missing_episodes":
            continue
        if how != "dirty":
            written.episode_month(row.organisation_id, row.started_at)
            continue
        state = inspect(row)
        histories = [state.attrs[column].history for column in COUNTED_COLUMNS]
        if any(history.has_changes() for history in histories):
            for started_at in {row.started_at, *state.attrs.started_at.history.deleted}:
                written.episode_month(row.organisation_id, started_at)
    return written


@event.listens_for(Session, "after_flush")
def _keep_after_flush(session: Session, _flush_context) -> None:
    # After a flush the session still lists what it was asked to write, with each change's history.
    written = _written_by_flush(session)
    if written:
        keep(session.connection(), written)


@event.listens_for(Session, "do_orm_execute")
def _statements_say_what_they_write(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement on the kept tables cannot be read for what it
    changes: its caller must keep the totals and tokens itself, and say so."""
    if ((state.is_insert or state.is_update or state.is_delete) and state.bind_mapper is not None
            and state.bind_mapper.class_ in KEPT_TABLES and not state.execution_options.get("upkeep_by_caller")):
        raise RuntimeError(f"a statement writing {KEPT_TABLES[state.bind_mapper.class_]} through a session must "
                           "call models.upkeep.keep and pass execution_options(upkeep_by_caller=True)")
