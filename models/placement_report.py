"""Queries behind the placements report: every current placement of an authority with both
postcodes' directory records, and, set by set, the placements near what the placement check flags
(her contexts, the homes and placements of young people who share a context with her, and where
she was last seen or found while missing). Each flag query returns placement ids; its distance
test is the check's (models.nearby): found on the spheroid, decided by British-grid metres.
"""

from datetime import datetime

from sqlalchemy import Select, and_, exists, func, literal, or_, select, union
from sqlalchemy.orm import aliased

from geo.grid import BRITISH_NATIONAL_GRID
from models.codes import LinkRole
from models.geography import LocalAuthority, Postcode
from models.queries import cell_at, within_metres
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson

HomePostcode, PlacementPostcode = aliased(Postcode), aliased(Postcode)
HomeAuthority, PlacementAuthority = aliased(LocalAuthority), aliased(LocalAuthority)


def _current(organisation_id: int):
    return (Placement.ended_on.is_(None), YoungPerson.organisation_id == organisation_id)


def current_placements(organisation_id: int, resolution: int) -> Select:
    """Every current placement of the organisation's young people, with the directory's record of
    the home and placement postcodes (outer joins: either may be missing or unknown), and the
    placement's hexagon at ``resolution``."""
    def postcode_columns(postcode, authority, prefix: str):
        return (postcode.postcode.label(f"{prefix}_postcode"), postcode.easting.label(f"{prefix}_easting"),
                postcode.northing.label(f"{prefix}_northing"), postcode.grid_srid.label(f"{prefix}_grid_srid"),
                postcode.local_authority_code.label(f"{prefix}_la_code"), authority.name.label(f"{prefix}_la_name"),
                authority.upper_tier_code.label(f"{prefix}_upper_code"),
                authority.upper_tier_name.label(f"{prefix}_upper_name"))

    return (
        select(Placement.id, Placement.young_person_id, YoungPerson.reference, YoungPerson.responsible_authority_code,
               Placement.place_code, Placement.started_on, Placement.postcode.label("typed_placement_postcode"),
               YoungPerson.home_postcode.label("typed_home_postcode"),
               func.ST_Y(Placement.location).label("lat"), func.ST_X(Placement.location).label("lng"),
               cell_at(Placement.cells, resolution).label("cell"),
               *postcode_columns(HomePostcode, HomeAuthority, "home"),
               *postcode_columns(PlacementPostcode, PlacementAuthority, "placement"))
        .join(YoungPerson, YoungPerson.id == Placement.young_person_id)
        .outerjoin(HomePostcode, HomePostcode.postcode == YoungPerson.home_postcode)
        .outerjoin(HomeAuthority, HomeAuthority.code == HomePostcode.local_authority_code)
        .outerjoin(PlacementPostcode, PlacementPostcode.postcode == Placement.postcode)
        .outerjoin(PlacementAuthority, PlacementAuthority.code == PlacementPostcode.local_authority_code)
        .where(*_current(organisation_id))
        .order_by(YoungPerson.reference, Placement.started_on)
    )


def _near(location, placement_location, metres: float):
    """``location`` within ``metres`` of the placement: on the spheroid a little wider (through
    the spatial index), then on the British grid, as the check measures."""
    on_grid = func.ST_DWithin(func.ST_Transform(location, BRITISH_NATIONAL_GRID),
                              func.ST_Transform(placement_location, BRITISH_NATIONAL_GRID), metres)
    return and_(within_metres(location, placement_location, metres * 1.01), on_grid)


def near_her_contexts(organisation_id: int, metres: float) -> Select:
    """Placements near a context the child is linked to (other than where she lives or is placed)."""
    return (
        select(Placement.id)
        .join(YoungPerson, YoungPerson.id == Placement.young_person_id)
        .join(ContextLink, ContextLink.young_person_id == Placement.young_person_id)
        .join(Context, Context.id == ContextLink.context_id)
        .where(*_current(organisation_id), ContextLink.role != LinkRole.LIVES_OR_PLACED_THERE,
               _near(Context.geometry, Placement.location, metres))
        .distinct()
    )


def near_her_episodes(organisation_id: int, since: datetime, metres: float) -> Select:
    """Placements near where the child was last seen or found in a missing episode since ``since``."""
    return (
        select(Placement.id)
        .join(YoungPerson, YoungPerson.id == Placement.young_person_id)
        .join(MissingEpisode, MissingEpisode.young_person_id == Placement.young_person_id)
        .where(*_current(organisation_id), MissingEpisode.started_at >= since,
               or_(_near(MissingEpisode.last_seen_location, Placement.location, metres),
                   _near(MissingEpisode.found_location, Placement.location, metres)))
        .distinct()
    )


def near_her_peers(organisation_id: int, metres: float) -> Select:
    """Placements near the home or current placement of another young person who shares a context
    with the child. Each search stops at the first such place."""
    mine, theirs = aliased(ContextLink), aliased(ContextLink)
    Other, OtherPlacement = aliased(YoungPerson), aliased(Placement)

    def shares_a_context(person_id):
        return exists().where(theirs.young_person_id == person_id, mine.context_id == theirs.context_id,
                              mine.young_person_id == Placement.young_person_id)

    home_near = exists().where(Other.id != Placement.young_person_id,
                               _near(Other.home_location, Placement.location, metres), shares_a_context(Other.id))
    placement_near = exists().where(OtherPlacement.young_person_id != Placement.young_person_id,
                                    OtherPlacement.ended_on.is_(None),
                                    _near(OtherPlacement.location, Placement.location, metres),
                                    shares_a_context(OtherPlacement.young_person_id))
    return (
        select(Placement.id)
        .join(YoungPerson, YoungPerson.id == Placement.young_person_id)
        .where(*_current(organisation_id), Placement.location.is_not(None), or_(home_near, placement_near))
    )


def flagged_near(organisation_id: int, since: datetime, metres: float) -> Select:
    """(placement id, flag kind) for every placement near what the check flags, in one query."""
    return union(
        *(select(query.subquery().c.id, literal(kind).label("kind"))
          for kind, query in (("linked_context", near_her_contexts(organisation_id, metres)),
                              ("peers", near_her_peers(organisation_id, metres)),
                              ("missing", near_her_episodes(organisation_id, since, metres))))
    )
