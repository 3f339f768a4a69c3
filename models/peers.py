"""Peer links: young people connected through a shared context, or through missing episodes that
began (or ended) at the same place at nearly the same time, which is how a peer group going
missing together shows in the records.

Each builder returns pairs ``(person, peer, ...)`` with ``person`` one of the given people. With
``among_them`` both must be given people, each pair once (``person < peer``); without it,
``peer`` is anyone else. Both are young people of ``organisations`` (those the reader may see),
named as constants: on Citus (models.distribution) the pairs are then looked for in those
organisations' shards only, though pairing across two of them takes a repartition join.
"""

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import aliased

from models.safeguarding import Context, ContextLink, MissingEpisode

# "The same place at nearly the same time": within 250 m, starts (or ends) within two hours.
SHARED_EPISODE_METRES = 250
SHARED_EPISODE_WITHIN = timedelta(hours=2)


def _pair_condition(mine, theirs, people: Collection[int], among_them: bool, organisations: tuple[int, ...]):
    ids, person, peer = sorted(people), mine.young_person_id, theirs.young_person_id
    visible = and_(mine.organisation_id.in_(organisations), theirs.organisation_id.in_(organisations))
    if among_them:
        return and_(visible, person.in_(ids), peer.in_(ids), person < peer)
    return and_(visible, person.in_(ids), peer != person)


def shared_context_pairs(people: Collection[int], organisations: tuple[int, ...], among_them: bool = False) -> Select:
    """(person, peer, context id, context name) for every context both are linked to."""
    mine, theirs = aliased(ContextLink), aliased(ContextLink)
    return (
        select(mine.young_person_id.label("person"), theirs.young_person_id.label("peer"),
               Context.id.label("context_id"), Context.name.label("context_name"))
        .join(theirs, theirs.context_id == mine.context_id)
        .join(Context, Context.id == mine.context_id)
        .where(_pair_condition(mine, theirs, people, among_them, organisations))
        .distinct()
        .order_by("person", "peer", "context_name")
    )


def shared_episode_pairs(people: Collection[int], organisations: tuple[int, ...], among_them: bool = False) -> Select:
    """(person, peer, episodes): how many of the person's episodes began near one of the peer's,
    within :data:`SHARED_EPISODE_METRES` and :data:`SHARED_EPISODE_WITHIN`, or ended so."""
    ids = sorted(people)

    def matches(location, time):
        # Each of the person's episodes with its time window worked out first, in a materialised
        # CTE: under row-level security PostgreSQL will not search an index with a join condition
        # holding interval arithmetic (not leakproof), and compared every episode with every other.
        own = (
            select(MissingEpisode.id, MissingEpisode.young_person_id.label("person"),
                   getattr(MissingEpisode, location).label("location"),
                   (getattr(MissingEpisode, time) - SHARED_EPISODE_WITHIN).label("since"),
                   (getattr(MissingEpisode, time) + SHARED_EPISODE_WITHIN).label("until"))
            .where(MissingEpisode.organisation_id.in_(organisations), MissingEpisode.young_person_id.in_(ids))
            .cte(f"own_by_{time}").prefix_with("MATERIALIZED")
        )
        theirs = aliased(MissingEpisode)
        peer = theirs.young_person_id
        return (
            select(own.c.id.label("episode"), own.c.person, peer.label("peer"))
            .join(theirs, getattr(theirs, time).between(own.c.since, own.c.until))
            .where(theirs.organisation_id.in_(organisations),
                   and_(peer.in_(ids), own.c.person < peer) if among_them else peer != own.c.person,
                   func.ST_DWithin(func.geography(own.c.location), func.geography(getattr(theirs, location)),
                                   SHARED_EPISODE_METRES))
        )

    both = union_all(matches("last_seen_location", "started_at"), matches("found_location", "ended_at")).subquery()
    return (
        select(both.c.person, both.c.peer, func.count(both.c.episode.distinct()).label("episodes"))
        .group_by(both.c.person, both.c.peer)
        .order_by(both.c.person, both.c.peer)
    )
