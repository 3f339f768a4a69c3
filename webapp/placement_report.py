"""The placements report: every current placement of the authority in the Department for
Education's distance categories, inside and outside the boundary, the median distance by placement
type, and the placements whose check raises a flag. Flags are the placement check's
(webapp.placement_check), found set by set rather than one check at a time."""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import median

from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.grid import METRES_PER_MILE, dfe_distance_miles, latlngs_to_british_grid
from geo.proximity import Spot, near_tagged
from models.codes import PLACE_CODES
from models.distances import PostcodePlace, distance, inside_authority, postcode_place
from models.people import Organisation
from models.placement_report import (
    context_ids_by_person,
    current_placements,
    flagged_near,
    homes_and_current_placements,
    placements_on,
)
from models.spreadsheet import spreadsheet_text
from models.times import last_months_start
from webapp.placement_check import HOTSPOT_RESOLUTION, RECENT_MONTHS, CheckSettings, hotspot_field, hotspot_flag

# The DfE's published categories ("Children looked after: a focus on placement location").
DFE_MILES = 20
NEAR, FAR, NOT_KNOWN = "20 miles or less", "Over 20 miles", "Not known or not recorded"
DISTANCE_CATEGORIES = (NEAR, FAR, NOT_KNOWN)
INSIDE, OUTSIDE, BOUNDARY_NOT_KNOWN = "Inside the boundary", "Outside the boundary", "Boundary not known"
BOUNDARY_CATEGORIES = (INSIDE, OUTSIDE, BOUNDARY_NOT_KNOWN)
FLAG_ORDER = ("home", "linked_context", "hotspot", "peers", "missing")
FLAG_LABELS = {"home": "Within easy reach of home", "linked_context": "Near her contexts", "hotspot": "Hotspot",
               "peers": "Near linked young people", "missing": "Near her missing episodes"}
# Flags by what they say: a risk near the placement, or nearness to home, which is a risk for a child
# drawn back to where she was harmed and a strength for one keeping her school and family.
FLAG_KINDS = {"home": "near_home", "linked_context": "risk", "hotspot": "risk", "peers": "risk", "missing": "risk"}
# Sorting the flagged placements: (the column's name, the key of a line), each by a column's header.
SORTS = {
    "flags": ("Flags", lambda line: (-len(line.flags), line.reference)),
    "reference": ("Young person", lambda line: line.reference),
    "type": ("Placement type", lambda line: (line.place_code, line.reference)),
    "miles": ("Miles", lambda line: (line.miles is None, line.miles or 0, line.reference)),
    "boundary": ("Boundary", lambda line: (line.boundary, line.reference)),
}


def found_lines(lines: list["PlacementLine"], text: str) -> list["PlacementLine"]:
    """The lines whose young person's reference or placement postcode holds ``text`` (any case,
    spaces aside), in their order."""
    wanted = text.replace(" ", "").upper()
    return [line for line in lines
            if wanted in line.reference.upper() or wanted in (line.placement_postcode or "").replace(" ", "")]


class _Categorised:
    """The DfE's distance category and boundary of a line with ``miles`` and ``inside``."""

    miles: float | None
    inside: bool | None

    @property
    def category(self) -> str:
        if self.miles is None:
            return NOT_KNOWN
        return NEAR if self.miles <= DFE_MILES else FAR

    @property
    def boundary(self) -> str:
        return {True: INSIDE, False: OUTSIDE, None: BOUNDARY_NOT_KNOWN}[self.inside]


def _category_table(lines: list[_Categorised]) -> dict[str, Counter]:
    """Distance category -> boundary -> lines."""
    table = {category: Counter() for category in DISTANCE_CATEGORIES}
    for line in lines:
        table[line.category][line.boundary] += 1
    return table


def _boundaries_shown(table: dict[str, Counter]) -> tuple[str, ...]:
    """Inside and outside always, as the DfE publishes them; "not known" only when it occurs."""
    unknown = any(table[category][BOUNDARY_NOT_KNOWN] for category in DISTANCE_CATEGORIES)
    return BOUNDARY_CATEGORIES if unknown else (INSIDE, OUTSIDE)


@dataclass
class PlacementLine(_Categorised):
    placement_id: int
    young_person_id: int
    reference: str
    place_code: str
    started_on: date
    home_postcode: str | None
    placement_postcode: str | None
    miles: float | None
    inside: bool | None
    flags: list[str] = field(default_factory=list)
    not_measured_because: str = ""  # why ``miles`` is None, in words


@dataclass
class TypeMedian:
    place_code: str
    label: str
    placements: int
    measured: int
    median_miles: float | None


@dataclass
class Report:
    lines: list[PlacementLine]
    table: dict[str, Counter]  # distance category -> boundary category -> placements
    medians: list[TypeMedian]

    def flagged(self, kind: str | None = None) -> list[PlacementLine]:
        """Placements with any flag, or with flag ``kind``; most flags first."""
        chosen = (line for line in self.lines if (kind in line.flags if kind else line.flags))
        return sorted(chosen, key=lambda line: (-len(line.flags), line.reference))

    @property
    def flag_counts(self) -> dict[str, int]:
        counts = Counter(kind for line in self.lines for kind in line.flags)
        return {kind: counts[kind] for kind in FLAG_ORDER}

    @property
    def boundaries_shown(self) -> tuple[str, ...]:
        return _boundaries_shown(self.table)


def _not_measured_because(row) -> str:
    """Why a placement has no distance, naming each postcode that lacks what the DfE measures from."""
    reasons = []
    for what in ("home", "placement"):
        typed = getattr(row, f"typed_{what}_postcode")
        if typed is None:
            reasons.append(f"no {what} postcode recorded")
        elif getattr(row, f"{what}_postcode") is None:
            reasons.append(f"the {what} postcode {typed} is not in the ONS Postcode Directory")
        elif getattr(row, f"{what}_easting") is None or getattr(row, f"{what}_la_code") is None:
            reasons.append(f"the {what} postcode {typed} has no grid reference in the ONS Postcode Directory (the "
                           "Channel Islands, the Isle of Man and some others have none)")
    return "; ".join(reasons)


def _place(row, prefix: str) -> PostcodePlace | None:
    """The directory's record of the row's home or placement postcode, with its authority; on the
    grid or not (``on_grid``)."""
    values = {name: getattr(row, f"{prefix}_{name}") for name in
              ("postcode", "easting", "northing", "grid_srid", "la_code", "la_name", "upper_code", "upper_name")}
    if values["postcode"] is None or values["la_code"] is None:
        return None
    return postcode_place(values["postcode"], values["easting"], values["northing"], values["grid_srid"],
                          values["la_code"], values["la_name"], values["upper_code"], values["upper_name"])


def placements_report(session: Session, organisation: Organisation, settings: CheckSettings,
                      organisations: tuple[int, ...], since: datetime | None = None) -> Report:
    """The organisation's current placements with their distances and flags. ``organisations``,
    those whose young people it may see, bound the peers and the hotspots as constants (on Citus
    they name the shards to read; models.distribution)."""
    since = since or last_months_start(RECENT_MONTHS)
    metres = settings.near_miles * METRES_PER_MILE
    near: dict[int, set[str]] = defaultdict(set)
    for placement_id, kind in session.execute(flagged_near(organisation.id, since, metres)):
        near[placement_id].add(kind)
    rows = session.execute(current_placements(organisation.id, HOTSPOT_RESOLUTION)).all()
    for placement_id in _near_peers(session, [row for row in rows if row.lat is not None], metres, organisations):
        near[placement_id].add("peers")
    field = hotspot_field(session, since, organisations)
    hot_cells: dict[int, bool] = {}  # many placements share a hexagon, and Gi* costs 10 ms an area
    lines = []
    for row in rows:
        home, placement = _place(row, "home"), _place(row, "placement")
        miles = None if _not_measured_because(row) else distance(home, placement).miles
        inside = inside_authority(placement, row.responsible_authority_code) if placement else None
        flags = set(near.get(row.id, ()))
        if miles is not None and miles <= settings.easy_reach_miles:
            flags.add("home")
        if row.cell is not None:
            if row.cell not in hot_cells:
                hot_cells[row.cell] = hotspot_flag(LatLng(row.lat, row.lng), field) is not None
            if hot_cells[row.cell]:
                flags.add("hotspot")
        lines.append(PlacementLine(row.id, row.young_person_id, row.reference, row.place_code, row.started_on,
                                   row.typed_home_postcode, row.typed_placement_postcode, miles, inside,
                                   [kind for kind in FLAG_ORDER if kind in flags],
                                   _not_measured_because(row) if miles is None else ""))
    by_type: dict[str, list[PlacementLine]] = defaultdict(list)
    for line in lines:
        by_type[line.place_code].append(line)
    medians = []
    for code in sorted(by_type):
        measured = [line.miles for line in by_type[code] if line.miles is not None]
        medians.append(TypeMedian(code, PLACE_CODES.get(code, code), len(by_type[code]), len(measured),
                                  round(median(measured), 1) if measured else None))
    return Report(lines, _category_table(lines), medians)


@dataclass
class DfeLine(_Categorised):
    """A child looked after on the day, as the DfE counts her."""

    reference: str
    place_code: str
    started_on: date
    home_postcode: str | None  # the placement's own (HOME_POST)
    placement_postcode: str | None
    miles: float | None  # as the DfE computes it, Northern Ireland's grid references as published
    miles_on_one_grid: float | None  # where that differs: both postcodes on the British grid
    inside: bool | None
    not_measured_because: str
    miles_in_the_return: Decimal | None = None  # the return's own PL_DISTANCE, where it gave one


@dataclass
class DfeView:
    day: date
    lines: list[DfeLine]
    table: dict[str, Counter]  # distance category -> boundary category -> children

    @property
    def boundaries_shown(self) -> tuple[str, ...]:
        return _boundaries_shown(self.table)


ASYLUM_SEEKING = "an unaccompanied asylum-seeking child, now or before: the DfE records no distance"


def dfe_view(session: Session, organisation: Organisation, day: date) -> DfeView:
    """The children looked after by the organisation at the end of ``day`` as the DfE counts them
    in "Children looked after: a focus on placement location": short breaks left out; each child's
    placement open that day (the latest, should two be); the distance from that placement's own
    home postcode, none for a child who is or was an unaccompanied asylum-seeking child; Northern
    Ireland's Irish Grid references used as published, as the DfE uses them, with the distance on
    one grid beside where it differs."""
    latest = {row.young_person_id: row for row in session.execute(placements_on(organisation.id, day))}
    lines = []
    for row in sorted(latest.values(), key=lambda row: row.reference):
        home, placement = _place(row, "home"), _place(row, "placement")
        inside = inside_authority(placement, row.responsible_authority_code) if placement else None
        miles = one_grid = None
        if row.asylum_seeking:
            because = ASYLUM_SEEKING
        else:
            because = _not_measured_because(row)
            if not because:
                miles = dfe_distance_miles(home.easting, home.northing, placement.easting, placement.northing)
                converted = distance(home, placement).miles
                one_grid = converted if converted != miles else None
        lines.append(DfeLine(row.reference, row.place_code, row.started_on, row.typed_home_postcode,
                             row.typed_placement_postcode, miles, one_grid, inside, because, row.return_distance_miles))
    return DfeView(day, lines, _category_table(lines))


def dfe_csv(view: DfeView) -> str:
    """Every child of the DfE's view, one a line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("young_person", "place_code", "placement_type", "started_on", "home_postcode", "placement_postcode",
                     "miles", "miles_on_one_grid", "miles_in_the_return", "distance_category", "distance_not_known_because",
                     "boundary"))
    for line in view.lines:
        writer.writerow((spreadsheet_text(line.reference), line.place_code, PLACE_CODES.get(line.place_code, ""),
                         line.started_on.isoformat(), line.home_postcode or "", line.placement_postcode or "",
                         "" if line.miles is None else f"{line.miles:.1f}",
                         "" if line.miles_on_one_grid is None else f"{line.miles_on_one_grid:.1f}",
                         "" if line.miles_in_the_return is None else f"{line.miles_in_the_return:.1f}",
                         line.category, line.not_measured_because, line.boundary))
    return out.getvalue()


def _near_peers(session: Session, placements, metres: float, organisations: tuple[int, ...]) -> set[int]:
    """Placements near the home or current placement of a young person who shares a context with
    the child. In Python, by a grid hash join (geo.proximity): in a dense city each placement has
    hundreds of homes within a mile, and the database would check them one pair at a time."""
    contexts = {person: frozenset(ids) for person, ids in session.execute(context_ids_by_person(organisations))}
    places = session.execute(homes_and_current_placements(organisations)).all()
    eastings, northings = latlngs_to_british_grid([p.lat for p in places], [p.lng for p in places])
    spots = [Spot(e, n, contexts.get(place.person, frozenset()), place.person)
             for place, e, n in zip(places, eastings.tolist(), northings.tolist())]
    eastings, northings = latlngs_to_british_grid([p.lat for p in placements], [p.lng for p in placements])
    points = {p.id: Spot(e, n, contexts.get(p.young_person_id, frozenset()), p.young_person_id)
              for p, e, n in zip(placements, eastings.tolist(), northings.tolist())}
    return near_tagged(points, spots, metres)


def report_csv(report: Report) -> str:
    """Every current placement, one a line, with its category, boundary and flags."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("young_person", "place_code", "placement_type", "started_on", "home_postcode",
                     "placement_postcode", "miles", "distance_category", "distance_not_known_because", "boundary",
                     "flags"))
    for line in report.lines:
        writer.writerow((spreadsheet_text(line.reference), line.place_code, PLACE_CODES.get(line.place_code, ""),
                         line.started_on.isoformat(), line.home_postcode or "", line.placement_postcode or "",
                         "" if line.miles is None else f"{line.miles:.1f}", line.category, line.not_measured_because,
                         line.boundary, ";".join(line.flags)))
    return out.getvalue()
