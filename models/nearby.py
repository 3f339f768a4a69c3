"""What lies near a candidate placement for one child: her contexts, the homes and current
placements of young people who share a context with her, and where her recent missing episodes
began and ended. Her own contexts and episodes are few, so those searches start from her; the
peers' search starts from the place (spatial indexes), because one popular context can tie a
child to thousands of others.

Every builder returns rows of (label, lat, lng). Her own rows are found by her organisation as
well as her id, the peers' among the organisations the reader may see, as constants: on Citus
(models.distribution) each search goes only to the shards that can hold what it finds.
"""

from datetime import datetime

from sqlalchemy import Select, func, literal, select, tuple_, union_all

from geo.coords import LatLng
from models.codes import LinkRole
from models.queries import hers, in_list, same_child
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson
from models.times import LONDON


def _point(point: LatLng):
    return func.ST_SetSRID(func.ST_MakePoint(point.lng, point.lat), 4326)


def _lat_lng(geometry):
    marker = func.ST_PointOnSurface(geometry)
    return func.ST_Y(marker).label("lat"), func.ST_X(marker).label("lng")


def _near(location, point: LatLng, metres: float):
    """``location`` within ``metres`` of ``point``, searched through its spatial index with a box
    fitted to the point's latitude (a degree of longitude is 0.62 of a degree of latitude in London)."""
    south_west, north_east = point.moved(-metres, -metres), point.moved(metres, metres)
    box = func.ST_MakeEnvelope(south_west.lng, south_west.lat, north_east.lng, north_east.lat, 4326)
    return location.op("&&")(box) & _within(location, point, metres)


def _within(location, point: LatLng, metres: float):
    # No box test here: her own rows are few, and the spatial index would start from everyone's.
    return func.ST_DWithin(func.geography(location), func.geography(_point(point)), metres)


def her_contexts_near(person: YoungPerson, point: LatLng, metres: float) -> Select:
    """The contexts she is linked to near ``point``; where she lives or is placed is not one."""
    return (
        select(Context.name.label("label"), *_lat_lng(Context.geometry))
        .join(ContextLink, ContextLink.context_id == Context.id)
        .where(hers(ContextLink, person), ContextLink.role != LinkRole.LIVES_OR_PLACED_THERE,
               _within(Context.geometry, point, metres))
        .distinct()
    )


def peers_near(person: YoungPerson, her_contexts: list[int], point: LatLng, metres: float,
               organisations: tuple[int, ...]) -> Select:
    """Homes and current placements near ``point`` of young people of ``organisations`` sharing one
    of ``her_contexts`` (her_context_ids) with her."""
    # The places near the point first, materialised, then each person's own few links checked
    # against her contexts. Left to itself the planner started from everyone linked to her
    # contexts (18,000 people for a child linked to a popular context) and took most of the time.
    homes = (
        select(YoungPerson.organisation_id, YoungPerson.id.label("young_person_id"),
               (YoungPerson.reference + literal("'s home")).label("label"), *_lat_lng(YoungPerson.home_location))
        .where(YoungPerson.organisation_id.in_(organisations), YoungPerson.id != person.id,
               _near(YoungPerson.home_location, point, metres))
    )
    placements = (
        select(YoungPerson.organisation_id, YoungPerson.id.label("young_person_id"),
               (YoungPerson.reference + literal("'s placement")).label("label"), *_lat_lng(Placement.location))
        .join(YoungPerson, same_child(YoungPerson, Placement))
        .where(Placement.organisation_id.in_(organisations), Placement.young_person_id != person.id,
               Placement.ended_on.is_(None), _near(Placement.location, point, metres))
    )
    # Tested with IN rather than a correlated EXISTS, which Citus cannot plan beside a CTE; both are
    # the same semi-join to PostgreSQL.
    nearby = union_all(homes, placements).cte("nearby").prefix_with("MATERIALIZED")
    linked = select(ContextLink.organisation_id, ContextLink.young_person_id).where(
        ContextLink.organisation_id.in_(organisations), in_list(ContextLink.context_id, her_contexts))
    return select(nearby.c.label, nearby.c.lat, nearby.c.lng).where(
        tuple_(nearby.c.organisation_id, nearby.c.young_person_id).in_(linked))


def her_episodes_near(person: YoungPerson, since: datetime, point: LatLng, metres: float) -> Select:
    """Where her episodes started since ``since`` began (last seen) or ended (found), near ``point``."""

    def end(location, what: str):
        return (
            select((literal(what + " ") + func.to_char(func.timezone(LONDON.key, MissingEpisode.started_at), "DD Mon YYYY")).label("label"),
                   *_lat_lng(location))
            .where(hers(MissingEpisode, person), MissingEpisode.started_at >= since,
                   _within(location, point, metres))
        )

    return union_all(end(MissingEpisode.last_seen_location, "last seen"), end(MissingEpisode.found_location, "found"))
