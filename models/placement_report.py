"""Queries behind the placements report: every current placement of an authority with both
postcodes' directory records, and, set by set, the placements near what the placement check flags:
her contexts and where she was last seen or found while missing (placement ids, decided in
British-grid metres as the check decides), and the homes and placements of everyone with the
contexts they are linked to, for the peers flag.
"""

from datetime import date, datetime

from sqlalchemy import Select, and_, func, literal, or_, select, union, union_all
from sqlalchemy.orm import aliased

from geo.grid import BRITISH_NATIONAL_GRID
from models.codes import SHORT_BREAKS, LinkRole
from models.geography import LocalAuthority, Postcode
from models.queries import cell_at, same_child
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson

HomePostcode, PlacementPostcode = aliased(Postcode), aliased(Postcode)
HomeAuthority, PlacementAuthority = aliased(LocalAuthority), aliased(LocalAuthority)


def _current(organisation_id: int):
    """Open placements, short breaks left out as the DfE leaves them out: a child on short breaks
    lives at home."""
    return (Placement.ended_on.is_(None), Placement.organisation_id == organisation_id,
            YoungPerson.organisation_id == organisation_id, _not_short_breaks())


def _not_short_breaks():
    return or_(Placement.legal_status.is_(None), Placement.legal_status.not_in(sorted(SHORT_BREAKS)))



def _postcode_columns(postcode, authority, prefix: str) -> tuple:
    return (postcode.postcode.label(f"{prefix}_postcode"), postcode.easting.label(f"{prefix}_easting"),
            postcode.northing.label(f"{prefix}_northing"), postcode.grid_srid.label(f"{prefix}_grid_srid"),
            postcode.local_authority_code.label(f"{prefix}_la_code"), authority.name.label(f"{prefix}_la_name"),
            authority.upper_tier_code.label(f"{prefix}_upper_code"),
            authority.upper_tier_name.label(f"{prefix}_upper_name"))


def _with_postcodes(query: Select, home_postcode) -> Select:
    """``query`` with the directory's record of ``home_postcode`` and of the placement's postcode
    (outer joins: either may be missing or unknown)."""
    return (query
            .outerjoin(HomePostcode, HomePostcode.postcode == home_postcode)
            .outerjoin(HomeAuthority, HomeAuthority.code == HomePostcode.local_authority_code)
            .outerjoin(PlacementPostcode, PlacementPostcode.postcode == Placement.postcode)
            .outerjoin(PlacementAuthority, PlacementAuthority.code == PlacementPostcode.local_authority_code))


def current_placements(organisation_id: int, resolution: int) -> Select:
    """Every current placement of the organisation's young people, with the directory's record of
    the home and placement postcodes, and the placement's hexagon at ``resolution``."""
    query = (
        select(Placement.id, Placement.young_person_id, YoungPerson.reference, YoungPerson.responsible_authority_code,
               Placement.place_code, Placement.started_on, Placement.postcode.label("typed_placement_postcode"),
               YoungPerson.home_postcode.label("typed_home_postcode"),
               func.ST_Y(Placement.location).label("lat"), func.ST_X(Placement.location).label("lng"),
               cell_at(Placement.cells, resolution).label("cell"),
               *_postcode_columns(HomePostcode, HomeAuthority, "home"),
               *_postcode_columns(PlacementPostcode, PlacementAuthority, "placement"))
        .join(YoungPerson, same_child(YoungPerson, Placement))
    )
    return (_with_postcodes(query, YoungPerson.home_postcode).where(*_current(organisation_id))
            .order_by(YoungPerson.reference, Placement.started_on))


def placements_on(organisation_id: int, day: date) -> Select:
    """The organisation's placements open at the end of ``day`` (31 March, for the DfE), short
    breaks left out, with the directory's record of each placement's own home postcode (its
    episode's HOME_POST, which the DfE measures from; for a placement recorded without one, the
    child's) and of its postcode."""
    home_postcode = func.coalesce(Placement.home_postcode, YoungPerson.home_postcode)
    query = (
        select(Placement.id, Placement.young_person_id, YoungPerson.reference, YoungPerson.responsible_authority_code,
               YoungPerson.asylum_seeking, Placement.place_code, Placement.started_on, Placement.return_distance_miles,
               Placement.postcode.label("typed_placement_postcode"),
               home_postcode.label("typed_home_postcode"),
               *_postcode_columns(HomePostcode, HomeAuthority, "home"),
               *_postcode_columns(PlacementPostcode, PlacementAuthority, "placement"))
        .join(YoungPerson, same_child(YoungPerson, Placement))
    )
    return (_with_postcodes(query, home_postcode)
            .where(Placement.organisation_id == organisation_id, YoungPerson.organisation_id == organisation_id,
                   Placement.started_on <= day, or_(Placement.ended_on.is_(None), Placement.ended_on > day),
                   _not_short_breaks())
            .order_by(YoungPerson.reference, Placement.started_on))


def _current_cte(organisation_id: int):
    """The organisation's current placements with a location, read once: each flag query then
    starts from them and reaches the child's own rows through their young_person_id indexes."""
    return (
        select(Placement.id, Placement.organisation_id, Placement.young_person_id, Placement.location)
        .join(YoungPerson, same_child(YoungPerson, Placement))
        .where(*_current(organisation_id), Placement.location.is_not(None))
        .cte("current_placements").prefix_with("MATERIALIZED")
    )


def _within_on_grid(location, placement_location, metres: float):
    """Straight-line metres on the British grid, as the check decides, after a cheap test of
    degrees that spares most rows the two projections. No spatial index: these are the child's own
    rows, reached by her id. (A degree of longitude is at least 0.55 of one of latitude up to
    Shetland, hence the 2; 1.01 covers the difference between the spheroid and the grid.)"""
    reach = metres * 1.01 / 111_000
    return and_(
        func.abs(func.ST_Y(location) - func.ST_Y(placement_location)) <= reach,
        func.abs(func.ST_X(location) - func.ST_X(placement_location)) <= 2 * reach,
        func.ST_DWithin(func.ST_Transform(location, BRITISH_NATIONAL_GRID),
                        func.ST_Transform(placement_location, BRITISH_NATIONAL_GRID), metres),
    )


def _near_her_contexts(current, metres: float) -> Select:
    """Placements near a context the child is linked to, measured to a point on its surface as the
    check's map shows it (where she lives or is placed is not one of "her contexts")."""
    return (
        select(current.c.id)
        .join(ContextLink, same_child(ContextLink, current.c))
        .join(Context, Context.id == ContextLink.context_id)
        .where(ContextLink.role != LinkRole.LIVES_OR_PLACED_THERE,
               _within_on_grid(func.ST_PointOnSurface(Context.geometry), current.c.location, metres))
        .distinct()
    )


def _near_her_episodes(current, since: datetime, metres: float) -> Select:
    """Placements near where the child was last seen or found in a missing episode since ``since``."""
    return (
        select(current.c.id)
        .join(MissingEpisode, same_child(MissingEpisode, current.c))
        .where(MissingEpisode.started_at >= since,
               or_(_within_on_grid(MissingEpisode.last_seen_location, current.c.location, metres),
                   _within_on_grid(MissingEpisode.found_location, current.c.location, metres)))
        .distinct()
    )


def flagged_near(organisation_id: int, since: datetime, metres: float) -> Select:
    """(placement id, flag kind) for placements near her contexts or her recent episodes."""
    current = _current_cte(organisation_id)
    return union(
        *(select(query.subquery().c.id, literal(kind).label("kind"))
          for kind, query in (("linked_context", _near_her_contexts(current, metres)),
                              ("missing", _near_her_episodes(current, since, metres))))
    )


def homes_and_current_placements(organisations: tuple[int, ...]) -> Select:
    """(person, lat, lng) of the home and current placement of every young person of
    ``organisations`` (those the reader may see): the places the peers flag looks for
    (webapp.placement_report joins them in Python, geo.proximity)."""
    homes = select(YoungPerson.id.label("person"), func.ST_Y(YoungPerson.home_location).label("lat"),
                   func.ST_X(YoungPerson.home_location).label("lng")).where(
        YoungPerson.organisation_id.in_(organisations), YoungPerson.home_location.is_not(None))
    placements = select(Placement.young_person_id, func.ST_Y(Placement.location), func.ST_X(Placement.location)).where(
        Placement.organisation_id.in_(organisations), Placement.ended_on.is_(None), Placement.location.is_not(None))
    return union_all(homes, placements)


def context_ids_by_person(organisations: tuple[int, ...]) -> Select:
    """(person, context ids) of everyone of ``organisations`` linked to a context: who shares a
    context with whom."""
    return (select(ContextLink.young_person_id, func.array_agg(ContextLink.context_id))
            .where(ContextLink.organisation_id.in_(organisations)).group_by(ContextLink.young_person_id))
