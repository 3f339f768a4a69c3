"""Monthly hexagon totals of missing episodes, kept by the database itself.

Counting distinct young people per hexagon over a year of a million episodes took 400 ms as a
``count(DISTINCT ...)``. Here each (layer, resolution, cell, London month, organisation) row keeps
the sorted ids of the young people of its episodes, one entry per episode: the episodes are the
array's length, and the distinct young people over several months are the size of the arrays'
union, which ``intarray`` merges in C (the ``distinct_union`` aggregate). Whole months of a window
come from here and its partial months from the episodes table, so any window is exact.

Every writer of ``missing_episodes`` recounts the months it changed, for the organisation whose
episodes they are, in its own transaction (models.upkeep; migration ``1a3c5e7b9d2f``, where
triggers did it before); the app's role cannot write them itself. Only the resolutions that are
drawn over whole areas are kept: at 10 a month's row is about one episode.
"""

import uuid
from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

AGGREGATED_RESOLUTIONS = range(6, 10)


class EpisodeHexMonth(Base):
    __tablename__ = "episode_hex_months"

    layer: Mapped[str] = mapped_column(String(9), primary_key=True)  # an EpisodeLayer value
    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of a London month
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Whose young people: read under the same row-level security as they are (migration a4c8e2f61b93).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    young_people: Mapped[list[int]] = mapped_column(ARRAY(Integer))  # sorted, one id per episode


class EpisodeDataVersion(Base):
    """The contexts' token, renewed in every transaction that writes contexts by the sessions and
    bulk loads doing it (models.contexts.renew_contexts_version, migration ``e6a8c0e2b4d7``); the
    organisations' records have theirs in OrganisationDataVersion. Results kept under the tokens
    (webapp.data_cache) are current while they are."""

    __tablename__ = "episode_data_versions"
    __table_args__ = (CheckConstraint("id = 2", name="contexts_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class OrganisationDataVersion(Base):
    """A token per organisation and table (young people, context links, missing episodes), renewed
    by every writer of the organisation's rows in its own transaction (models.upkeep): one
    authority's import leaves the others' kept results current, and on Citus the tokens live in
    the organisation's shard."""

    __tablename__ = "organisation_data_versions"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
