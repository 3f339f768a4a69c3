"""Results computed from the records, kept in this process while the records they come from are
unchanged: the database's data version tokens change with every statement that writes contexts
(models.aggregates.EpisodeDataVersion) or an organisation's missing episodes, young people or
links (OrganisationDataVersion), so a result kept under the tokens of the organisations whose rows
the user may see is current while they are. Keys include those organisations (row-level
security), so one organisation's figures never answer another's request.

Panels open the same default views (the last 12 months at the county's resolution): under load,
each process works each one out once per change of the data instead of once per request.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import TypeVar

from sqlalchemy import Integer, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

from models.aggregates import EpisodeDataVersion, OrganisationDataVersion

T = TypeVar("T")
KEPT = 32  # results per process: a county's resolution-9 hexagons are a few MB


class DataCache:
    """A small least-recently-used store of results, shared by a process's threads."""

    def __init__(self, kept: int = KEPT):
        self._kept = kept
        self._results: OrderedDict[tuple, object] = OrderedDict()
        self._lock = Lock()

    def get(self, session: Session, key: Hashable, compute: Callable[[], T],
            organisations: tuple[int, ...] | None = None) -> T:
        """The result for ``key`` under the current data, computed by ``compute`` if not kept.
        Callers must not change what they are given: later requests receive the same object.
        ``organisations`` are those the transaction may read (webapp.db.visible_organisations),
        named as constants so that on Citus the tokens are read from their shards only; without
        them, as the policies name them."""
        visible = (func.csmap_visible_organisations() if organisations is None
                   else literal(list(organisations), ARRAY(Integer)))
        theirs = (select(func.array_agg(aggregate_order_by(
            OrganisationDataVersion.token, OrganisationDataVersion.organisation_id, OrganisationDataVersion.table_name)))
            .where(OrganisationDataVersion.organisation_id == func.any(visible)))
        contexts = select(EpisodeDataVersion.token)
        organisations, contexts_version, version = session.execute(
            select(visible, contexts.scalar_subquery(), theirs.scalar_subquery())).one()
        if contexts_version is None:  # a database built without the migrations' rows: nothing can be kept
            return compute()
        full_key = (str(session.get_bind().engine.url), tuple(organisations), contexts_version, tuple(version or ()), key)
        with self._lock:
            if full_key in self._results:
                self._results.move_to_end(full_key)
                return self._results[full_key]
        result = compute()  # outside the lock: two threads may both compute the same result once
        with self._lock:
            self._results[full_key] = result
            while len(self._results) > self._kept:
                self._results.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


RESULTS = DataCache()
