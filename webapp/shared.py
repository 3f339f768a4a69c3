"""The shared partner map: where young people went missing from, or were found, as hexagons of
distinct young people with disclosure control applied here on the server (geo.disclosure). Every
role may see it, police and community partners included; it names no child and no exact place,
and shows contexts only as counts by kind. The same figures go to partners' GIS tools as GeoJSON
from ``/api/v1/shared/hexes``."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest

from geo.disclosure import CellKeyRule, SharedArea, disclose
from geo.hexes import (
    MAP_RESOLUTIONS,
    cell_centre,
    cell_resolution,
    cell_ring_lnglat,
    cell_to_string,
    cells_covering_box,
    hexagon_less,
)
from models.codes import CONTEXT_KIND_LABELS, ContextKind
from models.queries import (
    EpisodeSelection,
    MapLayer,
    context_kinds_in_cells,
    nearest_postcodes,
    young_people_by_ancestor,
)
from webapp import maps, params
from webapp.access import Access, declare
from webapp.db import get_session

bp = Blueprint("shared", __name__)
declare(bp, Access.SIGNED_IN)

# Cells climb to this resolution at most (about 36 km2); a cell still too small there is suppressed.
COARSEST = MAP_RESOLUTIONS.start
SHARED_LAYERS = (MapLayer.LAST_SEEN, MapLayer.FOUND)
# Parameters of /api/v1/hexes that would publish figures the disclosure control has not seen.
NOT_SHARED = {
    "gi": "is not available on the shared map: Gi* scores are computed from exact counts",
    "gi_empty": "is not available on the shared map: Gi* scores are computed from exact counts",
    "compare": "is not available on the shared map: the previous period's exact counts would be shown",
    "contexts": "is not available on the shared map: contexts are shared only as counts by kind",
}
# The narrowest selection the shared map answers: a partner choosing period, ages, hours and days
# freely could narrow a selection to one child's episode; the same limits hold for every role.
MINIMUM_DAYS = 28
MINIMUM_AGE_YEARS = 3
MINIMUM_HOURS = 6
MINIMUM_WEEKDAYS = 2
SHARED_FILTERS = (
    ("layer", "Place young people by", [("last_seen", "Where last seen while missing"), ("found", "Where found")]),
    ("type", "Episode type", [("", "Missing or away"), ("M", "Missing (whereabouts unknown)"), ("A", "Away from placement")]),
    ("sex", "Sex", [("", "Any"), ("female", "Female"), ("male", "Male")]),
)


@dataclass
class SharedMap:
    resolution: int
    layer: MapLayer
    areas: list[SharedArea]
    contexts_by_kind: dict[ContextKind, int]
    rule: CellKeyRule

    @property
    def shown(self) -> list[SharedArea]:
        return sorted(self.areas, key=lambda area: (-area.young_people, area.cell))

    @property
    def disclosure(self) -> dict:
        return disclosure_settings(self.rule)

    @property
    def share_at_own_size(self) -> float:
        """The share of the young people shown who are counted in hexagons of the chosen size
        rather than pooled into the rest of a larger one (1 when nobody is shown)."""
        total = sum(area.young_people for area in self.areas)
        own = sum(area.young_people for area in self.areas
                  if not area.rest and cell_resolution(area.cell) == self.resolution)
        return own / total if total else 1.0


def disclosure_settings(rule: CellKeyRule) -> dict:
    """The rule's settings and the method in words, as the API and the page give them."""
    return {
        "threshold": rule.threshold,
        "threshold_noise": rule.threshold_noise,
        "noise": rule.noise,
        "rounded_to": rule.base,
        "coarsest_resolution": COARSEST,
        "method": (f"Counts of distinct young people. An area is shown only when more than {rule.threshold} "
                   f"young people match, and not always then: the threshold is perturbed by up to "
                   f"{rule.threshold_noise}, so an area left out may hold up to "
                   f"{rule.threshold + 2 * rule.threshold_noise}. Each figure is perturbed by up to "
                   f"{rule.noise} and rounded to the nearest {rule.base}. Perturbations come from the young "
                   "people's fixed keys (the cell key method): the same young people always get the same "
                   "answer. A hexagon too small to show is pooled into the rest of its parent, climbing up to "
                   f"resolution {COARSEST}, where a rest still too small is left out, exactly as an area where "
                   f"nobody matches. Periods are whole calendar months, and selections are no narrower than "
                   f"{MINIMUM_DAYS} days, {MINIMUM_AGE_YEARS} years of age, {MINIMUM_HOURS} hours of the day "
                   f"and {MINIMUM_WEEKDAYS} days of the week."),
    }


def disclosure_rule(config) -> CellKeyRule:
    """The app's disclosure settings (webapp.config); the record keys' secret is DISCLOSURE_KEY,
    or one drawn from SECRET_KEY."""
    key = config["DISCLOSURE_KEY"] or "disclosure:" + config["SECRET_KEY"]
    return CellKeyRule(threshold=config["DISCLOSURE_THRESHOLD"], noise=config["DISCLOSURE_NOISE"],
                       threshold_noise=config["DISCLOSURE_THRESHOLD_NOISE"], base=config["DISCLOSURE_ROUNDING"],
                       secret=hashlib.sha256(key.encode()).digest())


def shared_map(args, default_period: str = "all") -> SharedMap:
    """Read the request's settings and filters (those of /api/v1/hexes that the shared map allows)
    and disclose its hexagons."""
    return next(shared_maps(args, default_period))


def shared_maps(args, default_period: str = "all", resolutions: tuple[int, ...] | None = None) -> Iterator[SharedMap]:
    """The shared map at each of ``resolutions`` (the request's own by default) in turn, from one
    read of the episodes; each is disclosed only when it is asked for."""
    for name, reason in NOT_SHARED.items():
        if name in args:
            params.bad_parameter(name, args[name], reason)
    resolutions = resolutions or (params.resolution(args),)
    layer = params.layer(args)
    if layer not in SHARED_LAYERS:
        params.bad_parameter("layer", args.get("layer"), "is not one of: last_seen, found (the shared map places "
                             "young people by where their missing episodes began or ended)")
    selection = params.episode_selection(args)
    _, period_start = params.period(args, default=default_period)
    if period_start and not args.get("from"):
        selection = replace(selection, started_from=period_start)
    refuse_narrow_selections(selection, args)
    within = None
    if selection.bbox is not None:
        try:
            within = list(cells_covering_box(selection.bbox, COARSEST))
        except ValueError as error:
            params.bad_parameter("bbox", args.get("bbox"), str(error))
    session = get_session()
    people = {resolution: {} for resolution in resolutions}
    for *cells, young_people in session.execute(young_people_by_ancestor(selection, resolutions, COARSEST, within)):
        resolution, cell = next((r, c) for r, c in zip(resolutions, cells) if c is not None)
        people[resolution][cell] = young_people
    rule = disclosure_rule(current_app.config)
    kinds = {ContextKind(kind): count for kind, count in session.execute(context_kinds_in_cells(COARSEST, within))}
    # A suppressed area is left out exactly as an area where nobody matches: marking it would tell
    # that at least one young person matches the selection there.
    return (SharedMap(resolution, layer, [area for area in disclose(people[resolution], COARSEST, rule)
                                          if not area.suppressed], kinds, rule)
            for resolution in resolutions)


def refuse_narrow_selections(selection: EpisodeSelection, args) -> None:
    """A 400 in plain words for a selection narrower than the shared map answers, or whose period is
    not whole calendar months: two periods a day apart would tell who went missing on that day."""
    start, end = params.iso_date(args, "from"), params.iso_date(args, "to")
    if start and start.day != 1:
        params.bad_parameter("from", args.get("from"), "is not the first day of a month: the shared map answers "
                             "for whole calendar months, so that no two of its periods differ by a few days")
    if end and (end + timedelta(days=1)).day != 1:
        params.bad_parameter("to", args.get("to"), "is not the last day of a month: the shared map answers for "
                             "whole calendar months, so that no two of its periods differ by a few days")
    if selection.started_from is not None:
        now = datetime.now(timezone.utc)  # a "to" in the future adds no episodes
        until = min(selection.started_before or now, now)
        if until - selection.started_from < timedelta(days=MINIMUM_DAYS):
            name = "from" if args.get("from") else "to" if args.get("to") else "period"
            params.bad_parameter(name, args.get(name), f"leaves a period shorter than {MINIMUM_DAYS} days: the "
                                 f"shared map answers for {MINIMUM_DAYS} days or more, so that no figure comes from "
                                 "one child's episode")
    if selection.ages is not None and selection.ages[1] - selection.ages[0] + 1 < MINIMUM_AGE_YEARS:
        params.bad_parameter("age", args.get("age"), f"covers fewer than {MINIMUM_AGE_YEARS} years of age: the "
                             f"shared map answers for age bands of {MINIMUM_AGE_YEARS} years or more, like 10-12")
    if selection.hours is not None and ((selection.hours[1] - selection.hours[0]) % 24 or 24) < MINIMUM_HOURS:
        params.bad_parameter("hours", args.get("hours"), f"covers fewer than {MINIMUM_HOURS} hours: the shared map "
                             f"answers for {MINIMUM_HOURS} hours of the day or more, like 18-00")
    if selection.weekdays and len(selection.weekdays) < MINIMUM_WEEKDAYS:
        params.bad_parameter("days", args.get("days"), f"names fewer than {MINIMUM_WEEKDAYS} days of the week: the "
                             f"shared map answers for {MINIMUM_WEEKDAYS} days or more, like fri,sat")


def area_feature(area: SharedArea) -> dict:
    """A GeoJSON feature: the hexagon, less the hexagons shown apart inside it for "the rest of"
    a hexagon (drawn, not counted: H3's children do not tile their parent exactly)."""
    if area.rest:
        geometry = hexagon_less(area.cell, area.holes)
    else:
        geometry = {"type": "Polygon", "coordinates": [cell_ring_lnglat(area.cell)]}
    properties = {"h3": cell_to_string(area.cell), "resolution": cell_resolution(area.cell)}
    if area.rest:
        properties.update(rest=True, holes=[cell_to_string(hole) for hole in area.holes])
    properties["young_people"] = area.young_people
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def feature_collection(found: SharedMap) -> dict:
    """GeoJSON: each area shown with ``h3``, ``resolution``, ``rest`` and its ``holes`` (the hexagons
    shown apart) for the rest of a hexagon, and ``young_people``; then the disclosure settings and
    contexts by kind."""
    return {
        "type": "FeatureCollection",
        "features": [area_feature(area) for area in found.areas],
        "resolution": found.resolution,
        "layer": found.layer.value,
        "disclosure": found.disclosure,
        "contexts_by_kind": {kind.value: count for kind, count in sorted(found.contexts_by_kind.items())},
    }


# The page picks the finest hexagons in which at least this share of the young people shown are
# counted in hexagons of that size, not pooled into the rest of a larger one.
SHOWN_AT_OWN_SIZE = 0.8
PAGE_PERIOD = "12"


def best_shared_map(args) -> SharedMap:
    """The shared map at the finest resolution that still shows most young people in hexagons of
    that size (SHOWN_AT_OWN_SIZE), judged from the disclosed figures alone, which anyone may ask
    for at every resolution. The usual sizes (8 to 10) come from one read of the episodes; the
    coarser ones only when none of those will do."""
    for sizes in ((10, 9, 8), (7, 6)):
        for found in shared_maps(args, PAGE_PERIOD, sizes):  # the finest first
            if found.share_at_own_size >= SHOWN_AT_OWN_SIZE:
                return found
    return found  # resolution 6, the coarsest


# Districts found for cells, kept by the process: a cell's nearest postcode changes only when the
# postcode directory is reloaded, and finding it takes about 0.2 ms a cell (2 s for the 10,000
# hexagons of London at resolution 9 over a million episodes).
_DISTRICTS: dict[int, str] = {}
KEPT_DISTRICTS = 500_000


def area_names(session, areas: list[SharedArea]) -> dict[int, str]:
    """Each area's postcode district (the outward code of the postcode nearest its centre): a place
    a partner knows, and never finer than the hexagon, which the map shows anyway."""
    unknown = [area.cell for area in areas if area.cell not in _DISTRICTS]
    if unknown:
        centres = [(index, centre.lat, centre.lng) for index, centre in enumerate(map(cell_centre, unknown))]
        if len(_DISTRICTS) + len(unknown) > KEPT_DISTRICTS:
            _DISTRICTS.clear()
        _DISTRICTS.update((unknown[index], postcode.split()[0])
                          for index, postcode in session.execute(nearest_postcodes(centres)))
    return {area.cell: _DISTRICTS[area.cell] for area in areas if area.cell in _DISTRICTS}


@bp.get("/api/v1/shared/hexes")
def hexes():
    return jsonify(feature_collection(shared_map(request.args)))


@bp.get("/shared/")
def index():
    automatic = request.args.get("res", "auto") == "auto"
    page = {"filters": SHARED_FILTERS, "periods": params.PERIODS, "period": request.args.get("period", PAGE_PERIOD),
            "kind_labels": CONTEXT_KIND_LABELS, "resolutions": MAP_RESOLUTIONS, "automatic": automatic,
            "disclosure": disclosure_settings(disclosure_rule(current_app.config))}
    try:
        found = best_shared_map(request.args) if automatic else shared_map(request.args, PAGE_PERIOD)
    except BadRequest as refused:
        # The settings form stays, with the refusal in words beside it: a partner can widen the selection.
        return render_template("shared/index.html", problem=refused.description, found=None,
                               resolution=request.args.get("res", type=int), **page), 400
    collection = feature_collection(found)
    counts = [area.young_people for area in found.shown]
    breaks = maps.class_breaks(counts)
    fmap = maps.shared_hex_map(collection, breaks, found.resolution)
    names = area_names(get_session(), found.shown)
    shown = [{"h3": cell_to_string(area.cell), "resolution": cell_resolution(area.cell), "rest": area.rest,
              "young_people": area.young_people, "district": names.get(area.cell)} for area in found.shown]
    # The API link gives the same selection as the page, period and resolution included.
    api_query = {**request.args.to_dict(), "period": page["period"], "res": str(found.resolution)}
    return render_template(
        "shared/index.html",
        found=found,
        resolution=found.resolution,
        api_query=api_query,
        shown=shown,
        legend=maps.legend(breaks, max(counts, default=0)),
        map=maps.embed(fmap),
        **page,
    )
