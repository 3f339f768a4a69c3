"""Placement checks for commissioners: how each candidate placement sits against a child's home
area, the places she was harmed, the hotspots, the young people linked to her and where she has
recently gone missing. Shared by the check page and ``POST /api/v1/placement-checks``.

Distances are the DfE's: between postcodes, the directory's grid references (models.distances);
for a point that is not a postcode, the straight line on the British grid to that point.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.grid import METRES_PER_MILE, grid_to_latlng, miles_between, miles_from
from geo.hexes import cell_centre, cell_of
from geo.hotspots import LocalGiStar, surrounding_cells
from geo.locations import LocationError
from geo.postcodes import normalise_postcode
from models.distances import PostcodePlace, distance, inside_boundary, not_measured_because, place_of
from models.geography import Postcode
from models.locations import resolve_location
from models.nearby import her_contexts_near, her_episodes_near, peers_near
from models.queries import EpisodeSelection, episode_hex_counts, her_context_ids, nearest_postcodes
from models.safeguarding import Context, YoungPerson
from models.times import last_months_start
from models.validation import FieldError, InvalidInput
from webapp.data_cache import RESULTS
from webapp.db import visible_organisations

HOTSPOT_RESOLUTION = 8  # hexagons of about 530 m, as the panel's map
HOTSPOT_RINGS = 10  # the area Gi* is computed over: about 10 km around the candidate
RECENT_MONTHS = 12  # "recent" is the last 12 calendar months, as on the dashboard
# Gi* calls a lone episode in a quiet area significant; a hotspot worth flagging holds at least
# this many episodes in the hexagon and the six around it.
MIN_HOTSPOT_EPISODES = 5


@dataclass(frozen=True)
class CheckSettings:
    easy_reach_miles: float
    near_miles: float

    @classmethod
    def from_config(cls, config) -> "CheckSettings":
        return cls(config["PLACEMENT_EASY_REACH_MILES"], config["PLACEMENT_NEAR_MILES"])


MAX_CANDIDATES = 10


def result_json(rank: int, result: "Result") -> dict:
    candidate = result.candidate
    return {
        "rank": rank,
        "label": candidate.label,
        "postcode": candidate.place.postcode if candidate.place else None,
        "context_id": candidate.context_id,
        "lat": round(candidate.point.lat, 6) if candidate.point else None,
        "lng": round(candidate.point.lng, 6) if candidate.point else None,
        "miles": result.miles,
        **({"not_measured_because": result.not_measured_because} if result.not_measured_because else {}),
        "inside_boundary": result.inside_boundary,
        "method": result.method,
        "local_authority": result.local_authority,
        "flags": [
            {"kind": flag.kind, "reason": flag.reason,
             "places": [{"label": p.label, "lat": round(p.point.lat, 6), "lng": round(p.point.lng, 6),
                         "miles": round(p.miles, 1)} for p in flag.places]}
            for flag in result.flags
        ],
    }


@dataclass
class Place:
    """A place a flag points at, for the map and the reasons."""

    label: str
    point: LatLng
    miles: float


@dataclass
class Flag:
    kind: str  # home, linked_context, hotspot, peers, missing
    reason: str
    places: list[Place] = field(default_factory=list)


@dataclass(frozen=True)
class Home:
    person: YoungPerson | None
    place: PostcodePlace
    point: LatLng | None  # None: a postcode with no grid reference


@dataclass(frozen=True)
class Candidate:
    label: str
    point: LatLng | None  # None: a postcode with no grid reference
    place: PostcodePlace | None  # when it has a postcode
    context_id: int | None = None


@dataclass
class Result:
    candidate: Candidate
    miles: float | None
    inside_boundary: bool | None
    method: str | None
    local_authority: str | None
    flags: list[Flag]
    not_measured_because: str = ""  # why ``miles`` is None, in words


def _point_of(place: PostcodePlace) -> LatLng | None:
    return grid_to_latlng(place.easting, place.northing, place.grid_srid) if place.on_grid else None


def home_of(session: Session, reference: str | None, postcode: str | None, organisation_id: int) -> Home:
    """The organisation's child (by reference, whose home postcode is used) or just a home postcode."""
    if reference and reference.strip():
        person = session.scalar(select(YoungPerson).where(YoungPerson.reference == reference.strip().upper(),
                                                      YoungPerson.organisation_id == organisation_id))
        if person is None:
            raise InvalidInput([FieldError("young_person", reference, "is not the reference of a young person")])
        if not person.home_postcode:
            raise InvalidInput([FieldError("young_person", reference, "has no home postcode recorded: type one")])
        place = place_of(session, person.home_postcode, "young_person")
        return Home(person, place, _point_of(place))
    if not (postcode or "").strip():
        raise InvalidInput([FieldError("home_postcode", postcode or "", "is missing: give a young person or a home postcode")])
    place = place_of(session, postcode, "home_postcode")
    return Home(None, place, _point_of(place))


def candidate_of(session: Session, field_name: str, typed: str | None = None, context_id: int | None = None) -> Candidate:
    """A candidate from a typed location (postcode, latitude and longitude, or grid reference) or
    a placement provider recorded as a context."""
    if context_id is not None:
        context = session.get(Context, context_id) if 0 < context_id <= 2**31 - 1 else None
        if context is None or context.geometry is None:
            raise InvalidInput([FieldError(field_name, context_id, "is not a context with a location")])
        place = place_of(session, context.postcode, field_name) if context.postcode else None
        if place is not None and place.on_grid:
            return Candidate(context.name, _point_of(place), place, context.id)
        point = LatLng.from_lnglat(to_shape(context.geometry).representative_point().coords[0])
        return Candidate(context.name, point, None, context.id)  # measured from its drawn location
    off_grid = _off_grid_postcode(session, typed, field_name)
    if off_grid is not None:  # a valid postcode that cannot be placed: checked as far as it can be
        return Candidate(off_grid.postcode, None, off_grid)
    try:
        resolved = resolve_location(session, typed or "")
    except LocationError as error:
        raise InvalidInput([FieldError(field_name, typed, error.reason)]) from None
    if resolved.postcode:
        place = place_of(session, resolved.postcode, field_name)
        return Candidate(resolved.postcode, _point_of(place), place)
    return Candidate((typed or "").strip(), resolved.point, None)


def _off_grid_postcode(session: Session, typed: str | None, field_name: str) -> PostcodePlace | None:
    """The directory's record of ``typed`` when it is a postcode listed with no grid reference."""
    postcode = normalise_postcode(typed or "")
    row = session.get(Postcode, postcode) if postcode else None
    return place_of(session, postcode, field_name) if row is not None and row.easting is None else None


def check(session: Session, home: Home, candidates: list[Candidate], settings: CheckSettings,
          since: datetime | None = None) -> list[Result]:
    """Every candidate with its distance, boundary and flags; fewest flags first, then nearest
    to home (the nearest placement that raises nothing keeps school and family within reach)."""
    since = since or last_months_start(RECENT_MONTHS)
    results = [_check_one(session, home, candidate, settings, since) for candidate in candidates]
    return sorted(results, key=lambda result: (result.candidate.point is None, len(result.flags),
                                               result.miles is None, result.miles or 0))


def _check_one(session, home: Home, candidate: Candidate, settings: CheckSettings, since: datetime) -> Result:
    if candidate.point is None:  # nothing can be measured from it, nor found near it
        return Result(candidate, None, inside_boundary(home.place, candidate.place), None,
                      _authority_name(candidate.place), [],
                      candidate.place.off_grid_because("candidate") + ", nor anything near it checked")
    if candidate.place is not None:
        authority = _authority_name(candidate.place)
        because = not_measured_because(home.place, candidate.place)
        measured = None if because else distance(home.place, candidate.place)
        miles, method = (measured.miles, measured.method) if measured else (None, None)
        inside = measured.inside_boundary if measured else inside_boundary(home.place, candidate.place)
    else:
        nearest = session.execute(nearest_postcodes([(0, candidate.point.lat, candidate.point.lng)])).one().postcode
        near_place = place_of(session, nearest, "candidate")
        because = "" if home.point else home.place.off_grid_because("home")
        miles = round(miles_between(home.point, candidate.point), 1) if home.point else None
        inside, method = inside_boundary(home.place, near_place), "coordinates" if home.point else None
        authority = _authority_name(near_place)
    flags = []
    if miles is not None and miles <= settings.easy_reach_miles:
        flags.append(Flag("home", f"Within easy reach of the home postcode {home.place.postcode}: {miles} miles "
                                  f"(the threshold is {settings.easy_reach_miles:g})",
                          [Place(f"Home ({home.place.postcode})", home.point, miles)]))
    if home.person is not None:
        flags += _near_flags(session, home.person, candidate.point, settings.near_miles, since)
    hotspot = _hotspot_near(session, candidate.point, since)
    if hotspot is not None:
        flags.append(hotspot)
    return Result(candidate, miles, inside, method, authority, flags, because)


def _authority_name(place: PostcodePlace) -> str | None:
    authority = place.local_authority
    return authority.name or authority.code if authority else None


def _near_flags(session, person: YoungPerson, point: LatLng, near_miles: float, since: datetime) -> list[Flag]:
    """Her contexts, her peers' homes and placements, and her recent episodes near ``point``."""
    # The database searches a little wider on the spheroid; the British-grid miles decide, as shown.
    metres = near_miles * METRES_PER_MILE * 1.01
    her_contexts = session.scalars(her_context_ids(person)).all()
    searches = (
        ("linked_context", f"Near contexts {person.reference} is linked to", her_contexts_near(person, point, metres)),
        ("peers", f"Near the homes or placements of young people linked to {person.reference} through shared contexts",
         peers_near(person, her_contexts, point, metres, visible_organisations())),
        ("missing", f"Near places {person.reference} was last seen or found while missing in the last 12 months",
         her_episodes_near(person, since, point, metres)),
    )
    flags = []
    for kind, intro, query in searches:
        rows = session.execute(query).all()
        miles = miles_from(point, [row.lat for row in rows], [row.lng for row in rows]).tolist()
        found = [Place(row.label, LatLng(row.lat, row.lng), far) for row, far in zip(rows, miles)]
        near = sorted((place for place in found if place.miles <= near_miles), key=lambda place: place.miles)
        if near:
            listed = ", ".join(f"{place.label} ({place.miles:.1f} mi)" for place in near[:5])
            more = f" and {len(near) - 5} more" if len(near) > 5 else ""
            flags.append(Flag(kind, f"{intro}: {listed}{more}", near))
    return flags


def _hotspot_near(session, point: LatLng, since: datetime) -> Flag | None:
    """The hotspot flag of a candidate, from the episode counts around it."""
    return hotspot_flag(point, hotspot_field(session, since, visible_organisations()))


def hotspot_field(session, since: datetime, organisations: tuple[int, ...] | None = None) -> LocalGiStar:
    """The counts of missing episodes (last seen) per hexagon since ``since``, everywhere, ready
    for Gi*; kept while the data is unchanged (webapp.data_cache): reading the counts is most of a
    check's time. Whole calendar months: the counts come from the monthly totals alone.
    ``organisations``, those the reader may see, are named to the query as constants for routing
    (EpisodeSelection.organisations); without them the policies alone decide."""
    def compute():
        selection = replace(EpisodeSelection(), started_from=since, organisations=organisations or ())
        return LocalGiStar({row.cell: row.episodes
                            for row in session.execute(episode_hex_counts(HOTSPOT_RESOLUTION, selection))})
    return RESULTS.get(session, ("hotspot field", since), compute, organisations)


def hotspot_flag(point: LatLng, field: LocalGiStar) -> Flag | None:
    """A flag when the point's hexagon or one next to it is a Gi* hotspot of missing episodes
    (the ``field`` of their counts), computed over the area about 10 km around the point."""
    cell, counts = cell_of(point, HOTSPOT_RESOLUTION), field.counts
    nearby = [c for c in surrounding_cells([cell], 1) if field.with_neighbours(c) >= MIN_HOTSPOT_EPISODES]
    if not nearby:  # no hexagon here could be flagged, whatever its Gi*
        return None
    scores = field.around(cell, HOTSPOT_RINGS, only=nearby)
    hot = [c for c in nearby if scores[c].hotspot]
    if not hot:
        return None
    strongest = max(hot, key=lambda c: scores[c].z)
    centre = cell_centre(strongest)
    where = "Inside" if cell in hot else "Next to"
    own, around = counts.get(strongest, 0), field.with_neighbours(strongest)
    # Gi* scores a hexagon with its six neighbours: a quiet hexagon amid busy ones is hot too.
    why = (f"{own} episode{'s' if own != 1 else ''} in the hexagon and {int(around)} with the six around it"
           + (": it is hot because its neighbours are busy" if own * 7 < around else ""))
    return Flag("hotspot", f"{where} a hotspot of missing episodes in the last 12 months "
                           f"({why}; Gi* z = {scores[strongest].z:.1f})",
                [Place("Hotspot", centre, miles_between(point, centre))])
