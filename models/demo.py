"""A deterministic, seeded generator of synthetic demo data on real postcodes.

Everything it writes is invented: references, names and events. It reproduces the patterns
practitioners describe: missing episodes clustered around a few contexts, late-night starts,
returns in the early hours ("brought back by friends"), and children placed over 20 miles away
who go missing back towards home.

Rows are produced by generators and streamed into ``COPY``, so the same code writes the demo's
3,000 missing episodes or a benchmark's 1,000,000 without holding them in memory.
"""

import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate

from shapely.geometry import Polygon
from sqlalchemy import Connection, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.grid import miles_between
from geo.hexes import cells_of
from models.base import copy_rows
from models.cases import add_case_note, add_case_record
from models.codes import ContextKind, LinkRole, MissingType, OrganisationKind, Reliability, ReturnedBy
from models.contexts import renew_contexts_version
from models.people import Organisation, OrganisationSharing, User
from models.safeguarding import CaseRecord, Context, ContextLink, YoungPerson
from models.times import LONDON, london_midnight, london_today, months_before

# Kensington and Chelsea, which contains Earl's Court, and its neighbours.
DEMO_AUTHORITY = "E09000020"
EARLS_COURT = LatLng(51.4920, -0.1935)
# The featured case: the girl placed far from home in the README's walkthrough.
FEATURED_REFERENCE = "YP-PLACED"
NEIGHBOURING_AUTHORITIES = ("E09000013", "E09000033")  # Hammersmith and Fulham, Westminster
# Authorities 20 to 100 miles away, for out-of-area placements: Medway, Basildon, Luton,
# Milton Keynes, Birmingham.
DISTANT_AUTHORITIES = ("E06000035", "E07000066", "E06000032", "E06000042", "E08000025")
# Near but outside the boundary: Hillingdon, Bexley.
NEARBY_OUTSIDE_AUTHORITIES = ("E09000017", "E09000004")

CONTEXT_MIX = {
    ContextKind.TAKEAWAY: 25,
    ContextKind.PARK: 15,
    ContextKind.SHOP: 15,
    ContextKind.PLACEMENT_PROVIDER: 15,
    ContextKind.TRANSPORT_HUB: 12,
    ContextKind.SCHOOL: 12,
    ContextKind.HOUSING_ESTATE: 12,
    ContextKind.ONLINE_SPACE: 12,
    ContextKind.PEER_GROUP: 12,
    ContextKind.HOTEL: 8,
    ContextKind.OTHER: 12,
}
AREA_KINDS = (ContextKind.PARK, ContextKind.HOUSING_ESTATE)
HOT_KINDS = (
    ContextKind.TAKEAWAY,
    ContextKind.TRANSPORT_HUB,
    ContextKind.PARK,
    ContextKind.HOTEL,
    ContextKind.HOUSING_ESTATE,
    ContextKind.SHOP,
)

_NAME_STEMS = (
    "Ash", "Beech", "Cedar", "Elm", "Hazel", "Larch", "Maple", "Oak", "Rowan", "Willow",
    "Alder", "Birch", "Holly", "Linden", "Poplar", "Yew", "Juniper", "Laurel",
)
_NAME_PATTERNS = {
    ContextKind.TAKEAWAY: ("{stem} Fried Chicken", "{stem} Kebab House", "{stem} Pizza & Grill"),
    ContextKind.PARK: ("{stem} Gardens", "{stem} Green", "{stem} Recreation Ground"),
    ContextKind.SHOP: ("{stem} Parade shops", "{stem} Mini Market", "{stem} Shopping Arcade"),
    ContextKind.PLACEMENT_PROVIDER: ("{stem} House children's home", "{stem} Lodge supported living"),
    ContextKind.TRANSPORT_HUB: ("{stem} Road bus station", "{stem} Street station forecourt"),
    ContextKind.SCHOOL: ("{stem} Academy", "{stem} High School", "{stem} Pupil Referral Unit"),
    ContextKind.HOUSING_ESTATE: ("{stem} Estate", "{stem} Court flats"),
    ContextKind.ONLINE_SPACE: ("{stem} group chat", "{stem} gaming server", "{stem} video channel"),
    ContextKind.PEER_GROUP: ("{stem} Road group", "{stem} older boys", "{stem} friendship group"),
    ContextKind.HOTEL: ("{stem} Lodge Hotel", "{stem} Budget Inn"),
    ContextKind.OTHER: ("{stem} car park", "{stem} stairwell", "{stem} garages"),
}

CONCERNS_BY_KIND = {
    ContextKind.TAKEAWAY: ("11A", "24A", "10A"),
    ContextKind.TRANSPORT_HUB: ("24A", "10A", "13A"),
    ContextKind.PARK: ("13A", "18B", "2A", "24A"),
    ContextKind.HOTEL: ("11A", "12A", "19C"),
    ContextKind.HOUSING_ESTATE: ("13A", "24A", "18B"),
    ContextKind.SHOP: ("14A", "24A"),
    ContextKind.SCHOOL: ("18B", "19B", "14A"),
    ContextKind.PLACEMENT_PROVIDER: ("10A", "11A", "24A"),
    ContextKind.ONLINE_SPACE: ("11A", "19B"),
    ContextKind.PEER_GROUP: ("13A", "24A", "18B"),
    ContextKind.OTHER: ("2A", "24A", "14A"),
}

PLACEMENT_MIX = (  # (PLACE codes, weight, share placed out of area)
    (("U4", "U5", "U6"), 45, 0.25),
    (("K2",), 25, 0.45),
    (("U1", "U2", "U3"), 12, 0.15),
    (("K3",), 10, 0.30),
    (("P1",), 5, 0.0),
    (("R1",), 3, 0.5),
)

DEMO_SCHOOL = "Ashgrove Academy"
DEMO_ORGANISATIONS = (
    ("Royal Borough of Kensington and Chelsea (demo)", OrganisationKind.LOCAL_AUTHORITY, DEMO_AUTHORITY),
    ("Metropolitan Police, Central West BCU (demo)", OrganisationKind.POLICE, None),
    (f"{DEMO_SCHOOL} (demo)", OrganisationKind.SCHOOL, None),
    ("West London Community Health (demo)", OrganisationKind.HEALTH, None),
    ("Youth Outreach Trust (demo)", OrganisationKind.COMMUNITY, None),
    ("Westway Housing Association (demo)", OrganisationKind.HOUSING, None),
    ("Oakfield Care (demo)", OrganisationKind.CARE_PROVIDER, None),
)
# The first context of these kinds in the borough is run by that demo organisation, which sees it
# once it is referred (models.inbox); the school takes its organisation's name.
RUN_BY = {ContextKind.SCHOOL: OrganisationKind.SCHOOL, ContextKind.HOUSING_ESTATE: OrganisationKind.HOUSING,
          ContextKind.PLACEMENT_PROVIDER: OrganisationKind.CARE_PROVIDER}


@dataclass(frozen=True)
class DemoSize:
    young_people: int = 400
    contexts: int = 150
    missing_episodes: int = 3000
    months: int = 24


@dataclass
class _Place:
    postcode: str
    point: LatLng


@dataclass
class _Context:
    id: int
    kind: ContextKind
    place: _Place | None
    hot: bool


@dataclass
class _Person:
    id: int
    home: _Place
    weight: float
    contexts: list[_Context] = field(default_factory=list)
    # (start, end or None, location, out of area?) of each placement, oldest first
    placements: list[tuple[date, date | None, LatLng, bool]] = field(default_factory=list)


class DemoGenerator:
    """Builds demo rows for one area from a seed. Same seed, size and end date: same data."""

    def __init__(self, connection: Connection, seed: int = 2026, size: DemoSize = DemoSize(),
                 end: date | None = None, area: tuple[str, ...] = (DEMO_AUTHORITY,)):
        self.connection = connection
        self.rng = random.Random(seed)
        self.size = size
        # Times are computed as UTC instants: London wall-clock arithmetic skips or repeats an hour
        # at the clock changes.
        self.end = end or london_today().replace(day=1)
        self.start = months_before(self.end, size.months)
        self.area = area
        self.area_places = self._places(area, limit=None)
        self.neighbour_places = self._places(NEIGHBOURING_AUTHORITIES, limit=400)
        self.distant_places = self._places(DISTANT_AUTHORITIES, limit=400)
        self.nearby_outside_places = self._places(NEARBY_OUTSIDE_AUTHORITIES, limit=200)
        if not self.area_places:
            raise RuntimeError(f"no postcodes with a location in {area}: load the postcodes first")
        self.area_postcodes = {place.postcode for place in self.area_places}

    def _places(self, authorities, limit: int | None) -> list[_Place]:
        # Skips grid references shared by many postcodes (delivery offices, large users), which
        # would pile unrelated places onto one spot; md5 order gives a spread sample that does not
        # depend on the load order.
        rows = self.connection.execute(
            text(
                "SELECT postcode, ST_Y(location), ST_X(location) FROM ("
                "  SELECT postcode, location, count(*) OVER (PARTITION BY easting, northing) AS sharing"
                "  FROM postcodes WHERE local_authority_code = ANY(:codes) AND location IS NOT NULL"
                ") AS candidates WHERE sharing <= 2 ORDER BY md5(postcode) LIMIT :limit"
            ),
            {"codes": list(authorities), "limit": limit},
        )
        return [_Place(postcode, LatLng(lat, lng)) for postcode, lat, lng in rows]

    # ---- organisations -------------------------------------------------------------------------

    def organisations(self) -> dict[OrganisationKind, int]:
        ids = {}
        for name, kind, authority in DEMO_ORGANISATIONS:
            organisation = self.connection.scalar(select(Organisation.id).where(Organisation.name == name))
            if organisation is None:
                organisation = self.connection.scalar(
                    Organisation.__table__.insert()
                    .values(name=name, kind=kind.value, local_authority_code=authority)
                    .returning(Organisation.id)
                )
            ids[kind] = organisation
        share_with_partners(self.connection)
        return ids

    # ---- contexts ------------------------------------------------------------------------------

    def _context_kinds(self) -> list[ContextKind]:
        total = sum(CONTEXT_MIX.values())
        kinds = []
        for kind, weight in CONTEXT_MIX.items():
            kinds += [kind] * max(1, round(weight * self.size.contexts / total))
        return kinds[: self.size.contexts]

    def _area_polygon(self, centre: LatLng) -> Polygon:
        radius = self.rng.uniform(60, 180)
        ring = []
        for corner in range(10):
            angle = 2 * math.pi * corner / 10
            reach = radius * self.rng.uniform(0.7, 1.0)
            ring.append(centre.moved(reach * math.cos(angle), reach * math.sin(angle)).lnglat)
        return Polygon(ring)

    def _unique_name(self, kind: ContextKind, taken: set[str]) -> str:
        name = self.rng.choice(_NAME_PATTERNS[kind]).format(stem=self.rng.choice(_NAME_STEMS))
        candidate, number = name, 1
        while candidate in taken:
            number += 1
            candidate = f"{name} {number}"
        taken.add(candidate)
        return candidate

    def contexts(self, organisations: dict[OrganisationKind, int]) -> tuple[list[_Context], Iterator[tuple]]:
        kinds = self._context_kinds()
        run_by = dict(RUN_BY)
        contexts: list[_Context] = []
        rows = []
        hot_left = {kind: 1 for kind in HOT_KINDS}
        names: set[str] = set()
        for number, kind in enumerate(kinds, start=1):
            hot = hot_left.get(kind, 0) > 0
            if hot:
                hot_left[kind] -= 1
            place = None
            if kind.has_location:
                pool = self.area_places
                if kind == ContextKind.PLACEMENT_PROVIDER and self.rng.random() < 0.6:
                    pool = self.distant_places + self.nearby_outside_places
                place = self.rng.choice(pool)
            contexts.append(_Context(number, kind, place, hot))
            name = self._unique_name(kind, names)
            responsible = None
            if kind in run_by and place in self.area_places:
                responsible = organisations[run_by.pop(kind)]
                if kind == ContextKind.SCHOOL:
                    name = DEMO_SCHOOL
                    names.add(name)
            geometry = cells = None
            if place:
                geometry = (
                    "SRID=4326;" + self._area_polygon(place.point).wkt if kind in AREA_KINDS else place.point.wkt
                )
                cells = cells_of(place.point)
            rows.append(
                (number, name, kind.value, geometry, cells, None, place.postcode if place else None,
                 organisations[OrganisationKind.LOCAL_AUTHORITY], "open", datetime.now(timezone.utc), responsible)
            )
        return contexts, iter(rows)

    # ---- young people --------------------------------------------------------------------------

    def young_people(self, organisation_id: int) -> tuple[list[_Person], Iterator[tuple]]:
        people = []
        rows = []
        references = set()
        for number in range(1, self.size.young_people + 1):
            home = self.rng.choice(self.area_places if self.rng.random() < 0.8 else self.neighbour_places)
            # Few children account for most episodes: a heavy-tailed weight per child.
            weight = self.rng.paretovariate(1.3)
            people.append(_Person(number, home, weight))
            while (reference := "YP-" + "".join(self.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6))) in references:
                pass
            references.add(reference)
            age_months = self.rng.randint(11 * 12, 17 * 12 + 11)
            birth = self.end - timedelta(days=age_months * 30.44)
            sex = 2 if self.rng.random() < 0.55 else 1
            rows.append(
                (number, reference, birth.replace(day=1), sex, home.postcode, home.point.wkt,
                 cells_of(home.point), DEMO_AUTHORITY, organisation_id, datetime.now(timezone.utc))
            )
        return people, iter(rows)

    # ---- links ---------------------------------------------------------------------------------

    def links(self, people: list[_Person], contexts: list[_Context], recorders: list[int]) -> Iterator[tuple]:
        hot = [c for c in contexts if c.hot]
        ordinary = [c for c in contexts if not c.hot and c.kind != ContextKind.PLACEMENT_PROVIDER]
        link_id = 0
        linkable = len({c.id for c in hot + ordinary})
        for person in people:
            count = min(linkable, 1 + int(self.rng.random() * 3 + person.weight / 3))
            chosen: dict[int, _Context] = {}
            while len(chosen) < count:
                pool = hot if hot and (self.rng.random() < 0.55 or not ordinary) else ordinary
                context = self.rng.choice(pool)
                chosen[context.id] = context
            person.contexts = list(chosen.values())
            for context in person.contexts:
                link_id += 1
                role = self._link_role(context.kind)
                concerns = sorted(set(self.rng.sample(CONCERNS_BY_KIND[context.kind], k=self.rng.randint(1, 2))))
                first = self.start + timedelta(days=self.rng.randint(0, (self.end - self.start).days - 30))
                last = first + timedelta(days=self.rng.randint(0, (self.end - first).days))
                yield (link_id, person.id, context.id, role.value, concerns, first, last,
                       self.rng.choice(recorders), self.rng.choice(list(Reliability)).value,
                       datetime.now(timezone.utc))

    def _link_role(self, kind: ContextKind) -> LinkRole:
        if kind == ContextKind.SCHOOL:
            return LinkRole.ATTENDS
        if kind in (ContextKind.PEER_GROUP, ContextKind.ONLINE_SPACE):
            return LinkRole.MEMBER
        return self.rng.choice((LinkRole.HARMED_THERE, LinkRole.AT_RISK_THERE, LinkRole.FREQUENTS,
                                LinkRole.FREQUENTS, LinkRole.FOUND_THERE))

    # ---- placements ----------------------------------------------------------------------------

    def placements(self, people: list[_Person], contexts: list[_Context]) -> Iterator[tuple]:
        homes = [c for c in contexts if c.kind == ContextKind.PLACEMENT_PROVIDER]
        placement_id = 0
        # Children with more episodes are more often looked after, as in practice.
        for person in sorted(people, key=lambda p: -p.weight)[: int(len(people) * 0.45)]:
            codes, _, out_share = self.rng.choices(PLACEMENT_MIX, weights=[m[1] for m in PLACEMENT_MIX])[0]
            code = self.rng.choice(codes)
            out_of_area = self.rng.random() < out_share
            provider = None
            if code == "K2" and homes:
                provider = self.rng.choice(homes)
                place = provider.place
                out_of_area = place.postcode not in self.area_postcodes
            elif code == "P1":
                place = person.home
            else:
                place = self.rng.choice(self.distant_places if out_of_area else self.area_places)
            started = self.start + timedelta(days=self.rng.randint(-365, (self.end - self.start).days // 3))
            # A previous, local placement for some, so histories have more than one row.
            if self.rng.random() < 0.3:
                placement_id += 1
                earlier = self.rng.choice(self.area_places)
                previous_start = started - timedelta(days=self.rng.randint(90, 400))
                person.placements.append((previous_start, started, earlier.point, False))
                yield (placement_id, person.id, "U5", previous_start, started, earlier.postcode,
                       earlier.point.wkt, cells_of(earlier.point), None, None)
            placement_id += 1
            person.placements.append((started, None, place.point, out_of_area))
            urn = f"SC{self.rng.randint(100000, 999999)}" if code in ("K2", "K1", "R1") else None
            yield (placement_id, person.id, code, started, None, place.postcode, place.point.wkt,
                   cells_of(place.point), urn, provider.id if provider else None)

    # ---- missing episodes ----------------------------------------------------------------------

    def _start_time(self, day: date) -> datetime:
        # Mostly evenings and late nights, peaking 21:00-23:00; some during the school day.
        if self.rng.random() < 0.75:
            minutes = int(self.rng.triangular(17 * 60, 26 * 60, 22 * 60))
        else:
            minutes = self.rng.randint(9 * 60, 17 * 60)
        return london_midnight(day) + timedelta(minutes=minutes)

    def _end_time(self, started: datetime) -> tuple[datetime, ReturnedBy]:
        roll = self.rng.random()
        if roll < 0.5:
            # Back in the early hours of the next morning, often brought back by "friends" in cars.
            local = started.astimezone(LONDON)
            day = local.date() + timedelta(days=1 if local.hour >= 12 else 0)
            ended = london_midnight(day) + timedelta(minutes=self.rng.randint(60, 6 * 60))
            returned_by = self.rng.choices(
                (ReturnedBy.FRIENDS, ReturnedBy.SELF, ReturnedBy.POLICE, ReturnedBy.UNKNOWN), (45, 25, 20, 10)
            )[0]
        elif roll < 0.9:
            ended = started + timedelta(hours=self.rng.uniform(2, 30))
            returned_by = self.rng.choices(
                (ReturnedBy.SELF, ReturnedBy.POLICE, ReturnedBy.CARER, ReturnedBy.FAMILY, ReturnedBy.OTHER),
                (35, 30, 15, 15, 5),
            )[0]
        else:
            ended = started + timedelta(hours=self.rng.uniform(30, 120))
            returned_by = self.rng.choice((ReturnedBy.POLICE, ReturnedBy.FAMILY))
        return max(ended, started + timedelta(minutes=30)), returned_by

    def _near(self, point: LatLng, metres: float) -> LatLng:
        angle = self.rng.uniform(0, 2 * math.pi)
        reach = metres * math.sqrt(self.rng.random())
        return point.moved(reach * math.cos(angle), reach * math.sin(angle))

    def _placement_on(self, person: _Person, day: date):
        for started, ended, point, out_of_area in reversed(person.placements):
            if started <= day and (ended is None or day < ended):
                return point, out_of_area
        return None

    def _episode_counts(self, people: list[_Person], most: int) -> list[int]:
        """Share the episodes by each child's weight, at most ``most`` each (one a day)."""
        weights = [p.weight for p in people]
        total_weight = sum(weights)
        counts = [min(most, int(self.size.missing_episodes * w / total_weight)) for w in weights]
        shortfall = min(self.size.missing_episodes, most * len(people)) - sum(counts)
        while shortfall > 0:
            room = [i for i, count in enumerate(counts) if count < most]
            for index in self.rng.choices(room, weights=[weights[i] for i in room], k=shortfall):
                if counts[index] < most and shortfall > 0:
                    counts[index] += 1
                    shortfall -= 1
        return counts

    def missing_episodes(self, people: list[_Person]) -> Iterator[tuple]:
        # Starts run up to 02:00 after their day, so the last day's episodes end after the window.
        last_moment = london_midnight(self.end + timedelta(days=1))
        recent = last_moment - timedelta(days=14)
        candidates = [self.start + timedelta(days=d) for d in range((self.end - self.start).days)]
        # Friday and Saturday nights are busier.
        cumulative = list(accumulate(1.6 if day.weekday() in (4, 5) else 1.0 for day in candidates))
        episode_id = 0
        for person, count in zip(people, self._episode_counts(people, most=len(candidates))):
            if count == 0:
                continue
            chosen: set[date] = set()
            while len(chosen) < count:
                chosen.update(self.rng.choices(candidates, cum_weights=cumulative, k=count - len(chosen)))
            chosen_days = sorted(chosen)
            starts = [self._start_time(day) for day in chosen_days]
            for index, started in enumerate(starts):
                next_start = starts[index + 1] if index + 1 < len(starts) else last_moment
                ended, returned_by = self._end_time(started)
                if ended >= next_start:
                    ended = started + (next_start - started) / 2
                # A few children are still missing: their latest episode, if recent, is open.
                is_open = index == len(starts) - 1 and started > recent and self.rng.random() < 0.3
                episode_id += 1
                yield self._episode_row(episode_id, person, started, None if is_open else ended, returned_by)

    def _episode_row(self, episode_id: int, person: _Person, started: datetime, ended: datetime | None,
                     returned_by: ReturnedBy) -> tuple:
        placement = self._placement_on(person, started.astimezone(LONDON).date())
        hot_links = [c for c in person.contexts if c.place and c.hot] or [c for c in person.contexts if c.place]
        last_seen_context = found_context = None
        # Last seen: around the placement, or at one of the child's contexts, or anywhere in the area.
        roll = self.rng.random()
        if placement and roll < 0.45:
            last_seen = self._near(placement[0], 150)
        elif hot_links and roll < 0.85:
            last_seen_context = self.rng.choice(hot_links)
            last_seen = self._near(last_seen_context.place.point, 120)
        else:
            last_seen = self._near(self.rng.choice(self.area_places).point, 100)
        # Found: children placed far away are often found back near home.
        roll = self.rng.random()
        if ended is None:
            found = None
        elif placement and placement[1] and roll < 0.7:
            found = self._near(person.home.point, 400)
        elif hot_links and roll < 0.6:
            found_context = self.rng.choice(hot_links)
            found = self._near(found_context.place.point, 120)
        else:
            found = self._near(self.rng.choice(self.area_places).point, 150)
        missing_type = MissingType.MISSING if self.rng.random() < 0.6 else MissingType.AWAY
        offered = accepted = None
        if ended is not None:
            offered = self.rng.random() < 0.85
            accepted = (self.rng.random() < 0.6) if offered else None
        return (
            episode_id, person.id, missing_type.value, started, ended,
            last_seen.wkt, cells_of(last_seen), last_seen_context.id if last_seen_context else None,
            found.wkt if found else None, cells_of(found) if found else None,
            found_context.id if found_context else None,
            returned_by.value if ended else None, offered, accepted,
        )

    # ---- the featured case ---------------------------------------------------------------------

    def featured_case(self, organisation_id: int, contexts: list[_Context], people: list[_Person]) -> dict[str, int]:
        """The girl of the README's walkthrough (FEATURED_REFERENCE): her grandmother's home by
        Earl's Court, harmed at the two busiest contexts nearest it, placed in a children's home
        25 to 35 miles away, and going missing from there every few weeks, to be found back near
        home in the early hours."""
        home = min(self.area_places, key=lambda place: miles_between(place.point, EARLS_COURT))
        distant = [p for p in self.distant_places if 25 <= miles_between(p.point, home.point) <= 35]
        placement = min(distant, key=lambda p: abs(miles_between(p.point, home.point) - 29))
        person = _Person(len(people) + 1, home, weight=1.0)
        hot = sorted((c for c in contexts if c.hot and c.place), key=lambda c: miles_between(c.place.point, home.point))
        person.contexts = hot[:2]
        copy_rows(self.connection, "young_people", YOUNG_PERSON_COLUMNS, iter([
            (person.id, FEATURED_REFERENCE, (self.end - timedelta(days=15 * 365)).replace(day=1), 2, home.postcode,
             home.point.wkt, cells_of(home.point), DEMO_AUTHORITY, organisation_id, datetime.now(timezone.utc))]))
        next_id = {table: self.connection.scalar(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))
                   for table in ("context_links", "placements", "missing_episodes")}
        copy_rows(self.connection, "context_links", LINK_COLUMNS, owned_by(organisation_id, (
            (next_id["context_links"] + n, person.id, context.id, LinkRole.HARMED_THERE.value,
             sorted(CONCERNS_BY_KIND[context.kind][:2]), self.end - timedelta(days=400), self.end - timedelta(days=20),
             organisation_id, Reliability.CORROBORATED.value, datetime.now(timezone.utc))
            for n, context in enumerate(person.contexts))))
        placed_on = self.end - timedelta(days=240)
        copy_rows(self.connection, "placements", PLACEMENT_COLUMNS, owned_by(organisation_id, [
            (next_id["placements"], person.id, "K2", placed_on, None, placement.postcode, placement.point.wkt,
             cells_of(placement.point), f"SC{self.rng.randint(100000, 999999)}", None)]))
        rows = []
        for n in range(8):  # every four weeks or so: out at night from the home, back by Earl's Court
            day = self.end - timedelta(days=12 + 27 * n)
            started = london_midnight(day) + timedelta(minutes=self.rng.randint(20 * 60, 23 * 60))
            ended = london_midnight(day + timedelta(days=1)) + timedelta(minutes=self.rng.randint(90, 270))
            last_seen = self._near(placement.point, 150)
            found_context = person.contexts[n % 2] if n % 3 == 0 else None
            found = self._near(found_context.place.point if found_context else home.point, 150)
            rows.append((next_id["missing_episodes"] + n, person.id, MissingType.MISSING.value, started, ended,
                         last_seen.wkt, cells_of(last_seen), None, found.wkt, cells_of(found),
                         found_context.id if found_context else None, ReturnedBy.FRIENDS.value, True, n % 2 == 0))
        copy_rows(self.connection, "missing_episodes", EPISODE_COLUMNS, owned_by(organisation_id, rows))
        return {"young_people": 1, "context_links": len(person.contexts), "placements": 1, "missing_episodes": len(rows)}


CONTEXT_COLUMNS = ("id", "name", "kind", "geometry", "cells", "address", "postcode", "organisation_id",
                   "status", "created_at", "responsible_organisation_id")
YOUNG_PERSON_COLUMNS = ("id", "reference", "birth_month", "sex", "home_postcode", "home_location",
                        "home_cells", "responsible_authority_code", "organisation_id", "created_at")
# A child's records end with her organisation: the generator's rows are given it by owned_by().
LINK_COLUMNS = ("id", "young_person_id", "context_id", "role", "concern_codes", "first_seen_on",
                "last_seen_on", "recorded_by_id", "reliability", "created_at", "organisation_id")
PLACEMENT_COLUMNS = ("id", "young_person_id", "place_code", "started_on", "ended_on", "postcode",
                     "location", "cells", "urn", "provider_context_id", "organisation_id")
EPISODE_COLUMNS = ("id", "young_person_id", "missing_type", "started_at", "ended_at",
                   "last_seen_location", "last_seen_cells", "last_seen_context_id", "found_location",
                   "found_cells", "found_context_id", "returned_by", "return_interview_offered",
                   "return_interview_accepted", "organisation_id")


def owned_by(organisation_id: int, rows: Iterable[tuple]) -> Iterator[tuple]:
    """Each of a child's rows with her organisation added at the end: every demo child is the
    demo authority's."""
    return (row + (organisation_id,) for row in rows)


def demo_loaded(connection: Connection) -> bool:
    """Whether young people or contexts exist: the demo's fixed ids would collide with them."""
    return connection.scalar(select(exists().select_from(YoungPerson) | exists().select_from(Context)))


def share_with_partners(connection: Connection) -> None:
    """The demo borough shares its records with the demo partners, for the shared map's disclosed
    counts (row-level security lets a partner's queries read only what is shared with it)."""
    ids = {kind: connection.scalar(select(Organisation.id).where(Organisation.name == name))
           for name, kind, _ in DEMO_ORGANISATIONS}
    for kind, partner in ids.items():
        if kind != OrganisationKind.LOCAL_AUTHORITY and partner is not None:
            connection.execute(insert(OrganisationSharing).on_conflict_do_nothing().values(
                authority_id=ids[OrganisationKind.LOCAL_AUTHORITY], partner_id=partner))


def write_demo(connection: Connection, seed: int = 2026, size: DemoSize = DemoSize(), end: date | None = None,
               area: tuple[str, ...] = (DEMO_AUTHORITY,)) -> dict[str, int]:
    """Write the demo data set through ``connection`` into a database with no young people yet.

    The caller owns the transaction, so a failure half-way leaves nothing behind.
    """
    # On Citus, reading young people across shards in parallel would leave organisations and
    # contexts (reference tables that others refer to) unwritable in this transaction: one
    # connection per node keeps both (a placeholder setting on plain PostgreSQL).
    connection.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    if demo_loaded(connection):
        raise RuntimeError("the database already holds young people or contexts; the demo is written only once")
    generator = DemoGenerator(connection, seed, size, end, area)
    organisations = generator.organisations()
    authority = organisations[OrganisationKind.LOCAL_AUTHORITY]
    contexts, context_rows = generator.contexts(organisations)
    people, people_rows = generator.young_people(authority)
    counts = {
        "contexts": copy_rows(connection, "contexts", CONTEXT_COLUMNS, context_rows),
        "young_people": copy_rows(connection, "young_people", YOUNG_PERSON_COLUMNS, people_rows),
    }
    counts["context_links"] = copy_rows(
        connection, "context_links", LINK_COLUMNS,
        owned_by(authority, generator.links(people, contexts, list(organisations.values()))))
    counts["placements"] = copy_rows(
        connection, "placements", PLACEMENT_COLUMNS, owned_by(authority, generator.placements(people, contexts)))
    counts["missing_episodes"] = copy_rows(
        connection, "missing_episodes", EPISODE_COLUMNS, owned_by(authority, generator.missing_episodes(people)))
    for table, rows in generator.featured_case(authority, contexts, people).items():
        counts[table] += rows
    renew_contexts_version(connection)  # copied in, past the sessions that renew it
    for table in ("contexts", "young_people", "context_links", "placements", "missing_episodes"):
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1)) FROM {table}")
        )
    return counts


# Level 2 cases on three demo contexts, written through the same rules as the forms, dated back
# from the day they are written, with the agencies involved besides the borough and the police: a
# park with a plan, a transport hub whose review is overdue, and a hotel whose case was closed.
# The takeaways and the school are left for a practitioner to refer.
DEMO_CASES = (
    (ContextKind.PARK, (("referral", 75, 14), ("assessment", 62, 28), ("plan", 35, 56)),
     "Detached youth work on Friday and Saturday evenings; lighting repaired by the council",
     (OrganisationKind.COMMUNITY,)),
    (ContextKind.TRANSPORT_HUB, (("referral", 60, 14), ("assessment", 47, 30)),
     "British Transport Police to share times of incidents; station staff briefed", ()),
    (ContextKind.HOTEL, (("referral", 120, 14), ("assessment", 107, 30), ("closure", 80, None)),
     "Hotel staff trained to spot and report concerns; no further reports since", ()),
)


def write_demo_cases(session: Session, today: date | None = None) -> int:
    """Add the demo's Level 2 cases once (nothing if any case exists); returns how many records.
    Needs the demo users (webapp.cli.ensure_demo_users)."""
    today = today or date.today()
    if session.scalar(select(exists().select_from(CaseRecord))):
        return 0
    panel = session.scalar(select(User).where(User.username == "panel"))
    if panel is None:
        return 0
    demo_names = {name: kind for name, kind, _ in DEMO_ORGANISATIONS}
    organisations = {demo_names[organisation.name]: str(organisation.id) for organisation in session.scalars(
        select(Organisation).where(Organisation.name.in_(demo_names)))}
    written = 0
    for kind, steps, note, also_involved in DEMO_CASES:
        agencies = [organisations[agency] for agency in (OrganisationKind.LOCAL_AUTHORITY, OrganisationKind.POLICE,
                                                         *also_involved)]
        # The context of that kind most young people are linked to.
        context = session.scalar(select(Context).join(ContextLink).where(Context.kind == kind)
                                 .group_by(Context.id).order_by(func.count().desc(), Context.id).limit(1))
        if context is None:
            continue
        for stage, days_ago, review_after in steps:
            held = today - timedelta(days=days_ago)
            review = (held + timedelta(days=review_after)).isoformat() if review_after else ""
            add_case_record(session, context, panel, stage=stage, held_on=held.isoformat(), owner=str(panel.id),
                            agencies=agencies, decision=f"{stage.capitalize()}: {note}", next_review=review,
                            today=today)
            session.flush()
            written += 1
        add_case_note(session, context, panel, note)
    return written


def synthetic_return(connection: Connection, children: int) -> dict[str, tuple[str, bytes]]:
    """A synthetic SSDA903 return, as files to import: ``children`` in the Header, four placement
    episodes each (in the Episodes table: 100,000 rows for 25,000 children) and two missing
    episodes each, with London postcodes. For the benchmark and the tests of a killed import."""
    rng = random.Random(903)
    postcodes = connection.execute(text(
        "SELECT postcode FROM postcodes WHERE local_authority_code LIKE 'E09%' AND location IS NOT NULL "
        "ORDER BY md5(postcode) LIMIT 20000")).scalars().all()
    header, episodes, missing = ["CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"], [
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"], [
        "CHILD,DOB,MISSING,MIS_START,MIS_END"]
    places = ("U4", "U5", "U6", "K2", "K3", "U1", "P1", "R1")
    for number in range(children):
        child, birth = f"BENCH{number:06d}", date(2008, 1, 1) + timedelta(days=rng.randint(0, 2500))
        dob = birth.strftime("%d/%m/%Y")
        header.append(f"{child},{rng.choice('MF')},{dob},WBRI,,,")
        home = rng.choice(postcodes)
        start = date(2022, 1, 1) + timedelta(days=rng.randint(0, 200))
        for episode in range(4):
            end = start + timedelta(days=rng.randint(60, 250))
            ended = "" if episode == 3 else end.strftime("%d/%m/%Y")
            episodes.append(f"{child},{start:%d/%m/%Y},P,C2,N1,{rng.choice(places)},PR1,{ended},,,"
                            f"{home},{rng.choice(postcodes)},")
            start = end
        gone = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
        for _ in range(2):
            back = gone + timedelta(days=rng.randint(0, 3))
            missing.append(f"{child},{dob},{rng.choice('MA')},{gone:%d/%m/%Y},{back:%d/%m/%Y}")
            gone = back + timedelta(days=rng.randint(5, 60))
    return {name: (f"{name.lower()}.csv", ("\n".join(lines) + "\n").encode())
            for name, lines in (("Header", header), ("Episodes", episodes), ("Missing", missing))}
