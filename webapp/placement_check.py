"""Placement checks for commissioners: how each candidate placement sits against a child's home
area, the places she was harmed, the hotspots, the young people linked to her and where she has
recently gone missing. Shared by the check page and ``POST /api/v1/placement-checks``.

Distances are the DfE's: between postcodes, the directory's grid references (models.distances);
for a point that is not a postcode, the straight line on the British grid to that point.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import h3
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.grid import grid_to_latlng, miles_between
from geo.hexes import cell_centre, cell_of
from geo.hotspots import gi_star
from geo.locations import LocationError
from models.distances import PostcodePlace, distance, inside_boundary, place_of
from models.locations import resolve_location
from models.peers import shared_context_pairs
from models.queries import EpisodeSelection, episode_hex_counts, nearest_postcodes
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson
from models.validation import FieldError, InvalidInput

HOTSPOT_RESOLUTION = 8  # hexagons of about 530 m, as the panel's map
HOTSPOT_RINGS = 10  # the area Gi* is computed over: about 10 km around the candidate
RECENT = timedelta(days=365)
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
        "lat": round(candidate.point.lat, 6),
        "lng": round(candidate.point.lng, 6),
        "miles": result.miles,
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
    point: LatLng


@dataclass(frozen=True)
class Candidate:
    label: str
    point: LatLng
    place: PostcodePlace | None  # when it has a postcode
    context_id: int | None = None


@dataclass
class Result:
    candidate: Candidate
    miles: float
    inside_boundary: bool | None
    method: str
    local_authority: str | None
    flags: list[Flag]


def _point_of(place: PostcodePlace) -> LatLng:
    return grid_to_latlng(place.easting, place.northing, place.grid_srid)


def home_of(session: Session, reference: str | None, postcode: str | None) -> Home:
    """The child (by reference, whose home postcode is used) or just a home postcode."""
    if reference and reference.strip():
        person = session.scalar(select(YoungPerson).where(YoungPerson.reference == reference.strip().upper()))
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
        if context.postcode:
            place = place_of(session, context.postcode, field_name)
            return Candidate(context.name, _point_of(place), place, context.id)
        point = LatLng.from_lnglat(to_shape(context.geometry).representative_point().coords[0])
        return Candidate(context.name, point, None, context.id)
    try:
        resolved = resolve_location(session, typed or "")
    except LocationError as error:
        raise InvalidInput([FieldError(field_name, typed, error.reason)]) from None
    if resolved.postcode:
        place = place_of(session, resolved.postcode, field_name)
        return Candidate(resolved.postcode, _point_of(place), place)
    return Candidate((typed or "").strip(), resolved.point, None)


def check(session: Session, home: Home, candidates: list[Candidate], settings: CheckSettings,
          now: datetime | None = None) -> list[Result]:
    """Every candidate with its distance, boundary and flags; fewest flags first, then nearest
    to home (the nearest placement that raises nothing keeps school and family within reach)."""
    now = now or datetime.now(timezone.utc)
    around = _child_places(session, home, now) if home.person else {}
    results = [_check_one(session, home, candidate, settings, around, now) for candidate in candidates]
    return sorted(results, key=lambda result: (len(result.flags), result.miles))


def _check_one(session, home: Home, candidate: Candidate, settings: CheckSettings, around: dict, now) -> Result:
    if candidate.place is not None:
        measured = distance(home.place, candidate.place)
        miles, inside, method = measured.miles, measured.inside_boundary, measured.method
        authority = candidate.place.local_authority
    else:
        nearest = session.execute(nearest_postcodes([(0, candidate.point.lat, candidate.point.lng)])).one().postcode
        near_place = place_of(session, nearest, "candidate")
        miles, inside, method = round(miles_between(home.point, candidate.point), 1), inside_boundary(home.place, near_place), "coordinates"
        authority = near_place.local_authority
    flags = []
    if miles <= settings.easy_reach_miles:
        flags.append(Flag("home", f"Within easy reach of the home postcode {home.place.postcode}: {miles} miles "
                                  f"(the threshold is {settings.easy_reach_miles:g})",
                          [Place(f"Home ({home.place.postcode})", home.point, miles)]))
    reference = home.person.reference if home.person else None
    for kind, intro in (("linked_context", f"Near contexts {reference} is linked to"),
                        ("peers", f"Near the homes or placements of young people linked to {reference} through shared contexts"),
                        ("missing", f"Near places {reference} was last seen or found while missing in the last 12 months")):
        near = _within(around.get(kind, []), candidate.point, settings.near_miles)
        if near:
            listed = ", ".join(f"{place.label} ({place.miles:.1f} mi)" for place in near[:5])
            more = f" and {len(near) - 5} more" if len(near) > 5 else ""
            flags.append(Flag(kind, f"{intro}: {listed}{more}", near))
    hotspot = _hotspot_near(session, candidate.point, now)
    if hotspot is not None:
        flags.append(hotspot)
    return Result(candidate, miles, inside, method, authority.name or authority.code, flags)


def _within(places: list[tuple[str, LatLng]], point: LatLng, limit: float) -> list[Place]:
    near = [Place(label, where, miles_between(point, where)) for label, where in places]
    return sorted((place for place in near if place.miles <= limit), key=lambda place: place.miles)


def _child_places(session, home: Home, now) -> dict[str, list[tuple[str, LatLng]]]:
    """The child's linked contexts, the homes and current placements of the young people who share
    a context with her, and where her recent episodes began and ended."""
    person = home.person
    marker = func.ST_PointOnSurface(Context.geometry)
    contexts = session.execute(
        select(Context.name, func.ST_Y(marker), func.ST_X(marker))
        .join(ContextLink, ContextLink.context_id == Context.id)
        .where(ContextLink.young_person_id == person.id, Context.geometry.is_not(None))
        .distinct()
    ).all()
    peer_ids = sorted({row.peer for row in session.execute(shared_context_pairs([person.id]))})
    peers = []
    if peer_ids:
        for peer in session.scalars(select(YoungPerson).where(YoungPerson.id.in_(peer_ids))):
            if peer.home_location is not None:
                peers.append((f"{peer.reference}'s home", LatLng.from_lnglat(to_shape(peer.home_location).coords[0])))
        placed = session.execute(
            select(YoungPerson.reference, Placement.location)
            .join(Placement, Placement.young_person_id == YoungPerson.id)
            .where(YoungPerson.id.in_(peer_ids), Placement.ended_on.is_(None), Placement.location.is_not(None))
        ).all()
        peers += [(f"{row.reference}'s placement", LatLng.from_lnglat(to_shape(row.location).coords[0])) for row in placed]
    episodes = []
    for episode in session.scalars(select(MissingEpisode).where(MissingEpisode.young_person_id == person.id,
                                                                MissingEpisode.started_at >= now - RECENT)):
        for location, what in ((episode.last_seen_location, "last seen"), (episode.found_location, "found")):
            if location is not None:
                episodes.append((f"{what} {episode.started_at:%d %b %Y}", LatLng.from_lnglat(to_shape(location).coords[0])))
    return {
        "linked_context": [(row[0], LatLng(row[1], row[2])) for row in contexts],
        "peers": peers,
        "missing": episodes,
    }


def _hotspot_near(session, point: LatLng, now) -> Flag | None:
    """A flag when the candidate's hexagon or one next to it is a Gi* hotspot of missing episodes
    (last seen) over the last 12 months, in the area about 10 km around it."""
    cell = cell_of(point, HOTSPOT_RESOLUTION)
    area = [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), HOTSPOT_RINGS)]
    corners = [cell_centre(c) for c in area]
    margin = 0.01
    bbox = (min(p.lng for p in corners) - margin, min(p.lat for p in corners) - margin,
            max(p.lng for p in corners) + margin, max(p.lat for p in corners) + margin)
    selection = replace(EpisodeSelection(), started_from=now - RECENT, bbox=bbox)
    counts = {row.cell: row.episodes for row in session.execute(episode_hex_counts(HOTSPOT_RESOLUTION, selection))}
    scores = gi_star({c: counts.get(c, 0) for c in area}, area)
    nearby = [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), 1)]
    def enough(c: int) -> bool:
        return sum(counts.get(n, 0) for n in (h3.str_to_int(x) for x in h3.grid_disk(h3.int_to_str(c), 1))) >= MIN_HOTSPOT_EPISODES

    hot = [c for c in nearby if scores[c].hotspot and enough(c)]
    if not hot:
        return None
    strongest = max(hot, key=lambda c: scores[c].z)
    centre = cell_centre(strongest)
    where = "Inside" if cell in hot else "Next to"
    return Flag("hotspot", f"{where} a hotspot of missing episodes in the last 12 months "
                           f"({counts.get(strongest, 0)} episodes in the hexagon, Gi* z = {scores[strongest].z:.1f})",
                [Place("Hotspot", centre, miles_between(point, centre))])
