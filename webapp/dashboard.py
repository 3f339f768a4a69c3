"""The dashboard: a hexagon heat map of missing episodes, contexts by kind, and the busiest
hexagons as a table (the accessible alternative to the map)."""

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user
from shapely.geometry import shape

from geo.hexes import (
    MAP_RESOLUTIONS,
    cell_centre,
    cell_from_string,
    cell_resolution,
    cell_ring_lnglat,
    cell_to_string,
    hex_feature_collection,
    resolution_for_zoom,
)
from models.codes import CONCERN_CODES, CONTEXT_KIND_LABELS
from models.queries import (
    EpisodeSelection,
    MapLayer,
    area_outline,
    contexts_for_map,
    contexts_in_cells,
    episode_months,
    episode_start_grid,
    episode_start_hours_by_cell,
    episodes_in_cell,
    in_cell,
    links_in_cell,
    nearest_postcodes,
)
from models.spreadsheet import spreadsheet_text
from models.times import LONDON, london_today
from webapp import maps, params
from webapp.access import Access, declare
from webapp.analysis import (
    MEASURES,
    MonthCount,
    add_change,
    add_gi_star,
    every_month,
    hex_rows,
    peak_hours,
    peak_hours_label,
    previous_period,
    trend_sentence,
    when_table,
)
from webapp.data_cache import RESULTS
from webapp.db import get_session, visible_organisations

bp = Blueprint("dashboard", __name__)
declare(bp, Access.INDIVIDUALS)

BUSIEST_ROWS = 15
# The dashboard's filter menus: (parameter, label, [(value, label)]); the API takes lists too.
FILTERS = (
    ("layer", "Hexagons count", [("last_seen", "Missing episodes, where last seen"),
                                 ("found", "Missing episodes, where found"), ("contexts", "Contexts"),
                                 ("young_people", "Young people linked to contexts")]),
    ("type", "Episode type", [("", "Missing or away"), ("M", "Missing (whereabouts unknown)"),
                              ("A", "Away from placement")]),
    ("sex", "Sex", [("", "Any"), ("female", "Female"), ("male", "Male")]),
    ("age", "Age at the time", [("", "Any"), ("10-12", "10 to 12"), ("13-14", "13 to 14"), ("15-16", "15 to 16"),
                                ("17-18", "17 to 18")]),
    ("hours", "Time of day", [("", "Any time"), ("22-06", "Night, 22:00 to 06:00"), ("18-22", "Evening, 18:00 to 22:00"),
                              ("06-18", "Day, 06:00 to 18:00")]),
    ("days", "Days", [("", "Any day"), ("mon,tue,wed,thu,fri", "Monday to Friday"), ("fri,sat", "Friday and Saturday"),
                      ("sat,sun", "Weekend")]),
    ("concerns", "Linked concern", [("", "Any")] + [(code, f"{code} {label}") for code, label in CONCERN_CODES.items()]),
    ("kinds", "Linked context kind", [("", "Any")] + [(kind.value, label) for kind, label in CONTEXT_KIND_LABELS.items()]),
)

# How far past its authority's outline the dashboard looks, in degrees (about a kilometre).
AREA_MARGIN = 0.012


def authority_area(session) -> tuple[str, tuple] | tuple[None, None]:
    """The user's authority: an approximate outline (GeoJSON) and the box the dashboard shows."""
    code = current_user.organisation.local_authority_code
    if not code:
        return None, None
    cache = current_app.extensions.setdefault("area_outlines", {})
    if code not in cache:
        outline = session.scalar(area_outline(code))
        if outline is None:
            return None, None
        min_lng, min_lat, max_lng, max_lat = shape(json.loads(outline)).bounds
        box = (min_lng - AREA_MARGIN, min_lat - AREA_MARGIN, max_lng + AREA_MARGIN, max_lat + AREA_MARGIN)
        cache[code] = (outline, box)
    return cache[code]


CONTEXTS_NAMED = 3  # per hexagon in the page's table; the rest are counted (the panel pack names all)


def _describe(session, rows: list[dict], resolution: int, selection: EpisodeSelection, layer: MapLayer) -> None:
    """Name the contexts in each row's hexagon and, on episode layers, the hours its episodes
    start most (``contexts_named``, ``peak_hours``)."""
    cells = [row["cell"] for row in rows]
    if not cells:
        return
    named = defaultdict(list)
    for row in session.execute(contexts_in_cells(resolution, cells)):
        named[row.cell].append({"id": row.id, "name": row.name})
    hours = defaultdict(dict)
    if layer.episode_layer:
        for row in session.execute(episode_start_hours_by_cell(resolution, selection, cells)):
            hours[row.cell][row.hour] = row.episodes
    for row in rows:
        row["contexts_named"] = named.get(row["cell"], [])
        if layer.episode_layer:
            row["peak_hours"] = peak_hours_label(peak_hours(hours.get(row["cell"], {})))


def chosen_selection() -> tuple[params.ChosenPeriod, EpisodeSelection]:
    """The dashboard's period and episode filters from the request (no box)."""
    period = params.dashboard_period(request.args)
    selection = params.episode_selection(request.args)
    if period.key != "custom":  # from and to apply only to a range of the user's own
        selection = replace(selection, started_from=period.starts, started_before=period.ends)
    return period, selection


@dataclass
class Hotspots:
    """The dashboard's selection and its hexagons, shared by the page and the panel pack exports."""

    resolution: int
    period: str
    layer: MapLayer
    selection: EpisodeSelection
    outline: str | None
    rows: list[dict]
    gi_problem: str | None = None
    gi_area: str | None = None  # the study area Gi* used, in words


def hotspots(session, busiest_only: bool) -> Hotspots:
    """Read the dashboard's settings and filters from the request and count the hexagons.
    ``busiest_only`` limits the previous-period and nearest-postcode look-ups to the table's rows."""
    resolution = params.resolution(request.args)
    layer = params.layer(request.args)
    period, selection = chosen_selection()
    outline, bbox = authority_area(session)
    selection = replace(selection, bbox=bbox)
    try:
        rows = hex_rows(session, resolution, selection, layer)
    except ValueError as error:  # the area holds too many hexagons at this resolution
        params.bad_parameter("res", request.args.get("res"), str(error))
    described = rows[:BUSIEST_ROWS] if busiest_only else rows
    if layer.episode_layer:
        add_change(session, described, resolution, previous_period(selection, datetime.now(timezone.utc)))
    result = Hotspots(resolution, period.key, layer, selection, outline, rows)
    try:
        result.gi_area = add_gi_star(rows, resolution, bbox, MEASURES[layer]).description
    except ValueError as error:
        result.gi_problem = str(error)
    _describe(session, described, resolution, selection, layer)
    centres = [cell_centre(row["cell"]) for row in described]
    near = dict(session.execute(nearest_postcodes([(i, c.lat, c.lng) for i, c in enumerate(centres)])).all()) if centres else {}
    for index, (row, centre) in enumerate(zip(described, centres)):
        row.update(h3=cell_to_string(row["cell"]), near_postcode=near.get(index), lat=round(centre.lat, 6),
                   lng=round(centre.lng, 6))
    return result


def _parts(session, found: Hotspots) -> dict:
    """What the page shows beside the map, for the page itself and for the live map's updates."""
    measure = MEASURES[found.layer]
    rows = found.rows
    grid = {(row.weekday, row.hour): row.episodes for row in session.execute(episode_start_grid(found.selection))}
    months = every_month([MonthCount(*row) for row in session.execute(episode_months(found.selection))])
    breaks = maps.class_breaks([row[measure] for row in rows])
    return {
        "layer": found.layer.value,
        "measure": measure,
        "measure_label": maps.MEASURE_LABELS[measure],
        "measure_one": maps.MEASURE_ONE[measure],
        "breaks": breaks,
        "when": when_table(grid),
        "months": months,
        "months_peak": max((m.episodes for m in months), default=0),
        "trend": trend_sentence(months, this_month=london_today().replace(day=1)),
        "busiest": rows[:BUSIEST_ROWS],
        "legend": maps.legend(breaks, rows[0][measure] if rows else 0),
        "totals": {"hexagons": len(rows), measure: sum(row[measure] for row in rows)},
        "export_query": request.query_string.decode(),
        "area_name": current_user.organisation.name if found.selection.bbox else None,
        "period_words": period_in_words(found.selection),
        "gi_problem": found.gi_problem,
        "gi_area": found.gi_area,
        "contexts_shown": CONTEXTS_NAMED,
    }


PARTS = ("summary", "busiest", "when", "months", "exports")


def _page_data(session) -> tuple[Hotspots, dict, dict]:
    """The hexagons, the page's other parts and the map's GeoJSON for the request's settings, kept
    while the data is unchanged (webapp.data_cache): the page and its live updates share them."""
    def compute():
        found = hotspots(session, busiest_only=True)
        parts = _parts(session, found)
        return found, parts, _map_hexes(found.rows, parts["measure"], parts["breaks"])
    return RESULTS.get(session, ("dashboard", current_user.organisation_id, request.query_string), compute,
                       visible_organisations())


def _base_map(session, found: Hotspots) -> tuple[maps.RenderedMap, int]:
    """The map without its hexagons (the authority's outline and its open contexts), rendered once
    per authority while the data is unchanged; and how many contexts it shows."""
    def compute():
        contexts = session.execute(contexts_for_map(found.selection.bbox)).all()
        fmap, layer_control = maps.base_hex_map(contexts, found.outline)
        return maps.render(fmap, layers=layer_control), len(contexts)
    return RESULTS.get(session, ("dashboard map", current_user.organisation.local_authority_code), compute,
                       visible_organisations())


@bp.route("/")
def index():
    session = get_session()
    found, parts, hexes = _page_data(session)
    rendered, context_count = _base_map(session, found)
    # The hexagons are drawn by static/js/dashboard.js, which also redraws them when a setting changes.
    return render_template(
        "dashboard/index.html",
        **parts,
        map=rendered.embedded(),
        map_names=rendered.names,
        hexes=hexes,
        zoom_resolutions={zoom: resolution_for_zoom(zoom) for zoom in range(25)},
        context_count=context_count,
        resolution=found.resolution,
        resolutions=list(MAP_RESOLUTIONS),
        automatic=request.args.get("res", "auto") == "auto",
        period=found.period,
        periods=params.DASHBOARD_PERIODS,
        filters=FILTERS,
        chosen=request.args,
    )


EPISODES_LISTED = 100  # on a hexagon's page, the latest; the counts and tables take them all


@bp.get("/hexagons/<cell_text>")
def hexagon(cell_text: str):
    """One hexagon of the dashboard, for the same settings: its episodes by month, day and hour,
    the latest of them with their young people, its open contexts and who is linked to them."""
    cell = cell_from_string(cell_text)
    if cell is None or cell_resolution(cell) not in MAP_RESOLUTIONS:
        abort(404, description=f"There is no map hexagon {cell_text[:20]!r}.")
    resolution = cell_resolution(cell)
    session = get_session()
    # On the contexts and young-people layers the episodes are those last seen here.
    period, selection = chosen_selection()
    here = in_cell(selection, cell, resolution)
    months = every_month([MonthCount(*row) for row in session.execute(episode_months(selection).where(here))])
    grid = {(row.weekday, row.hour): row.episodes for row in session.execute(episode_start_grid(selection).where(here))}
    ring = cell_ring_lnglat(cell)
    context_ids = {row.id for row in session.execute(contexts_in_cells(resolution, [cell]))}
    box = (min(lng for lng, _ in ring), min(lat for _, lat in ring), max(lng for lng, _ in ring), max(lat for _, lat in ring))
    contexts = [row for row in session.execute(contexts_for_map(box)) if row.id in context_ids]
    centre = cell_centre(cell)
    near = session.execute(nearest_postcodes([(0, centre.lat, centre.lng)])).first()
    rendered = maps.render(maps.hexagon_map(ring, contexts))
    return render_template(
        "dashboard/hexagon.html",
        h3=cell_to_string(cell), resolution=resolution, near_postcode=near.postcode if near else None,
        period_label=params.DASHBOARD_PERIODS[period.key], period_words=period_in_words(selection),
        episodes=session.execute(episodes_in_cell(selection, cell, resolution).limit(EPISODES_LISTED)).all(),
        totals={"episodes": sum(m.episodes for m in months)},
        months=months, months_peak=max((m.episodes for m in months), default=0),
        trend=None, when=when_table(grid), contexts=contexts, kind_labels=CONTEXT_KIND_LABELS,
        links=session.execute(links_in_cell(cell, resolution, visible_organisations())).all(),
        map=rendered.embedded(), back_query=request.query_string.decode(), listed=EPISODES_LISTED, london=LONDON,
    )


@bp.get("/hotspots.json")
def update():
    """The live map's update: the hexagons and the page's other parts, for the settings given."""
    found, parts, hexes = _page_data(get_session())
    return jsonify(
        resolution=found.resolution,
        layer=found.layer.value,
        notice=f"Hotspot scores are not shown: {found.gi_problem}." if found.gi_problem else None,
        hexes=hexes,
        html={name: render_template(f"dashboard/_{name}.html", **parts) for name in PARTS},
    )


MAP_PROPERTIES = ("cell", "episodes", "young_people", "contexts", "gi_z")


def _map_rows(rows: list[dict]) -> list[dict]:
    """Only what the map's tooltips show travels in the page."""
    return [{key: row[key] for key in MAP_PROPERTIES if key in row} for row in rows]


def _map_hexes(rows: list[dict], measure: str, breaks: list[int]) -> dict:
    """The hexagons as GeoJSON for the live map, each with its colour and the count it shows."""
    collection = hex_feature_collection(_map_rows(rows))
    for feature in collection["features"]:
        properties = feature["properties"]
        properties["colour"] = maps.colour_for(properties[measure], breaks)
    collection["measure"] = measure
    return collection


CSV_COLUMNS = ("rank", "h3", "near_postcode", "lat", "lng", "episodes", "previous_episodes", "young_people",
               "contexts", "context_names", "peak_hours", "gi_z", "gi_p", "gi_hotspot")


def _context_names(row: dict) -> str:
    return "; ".join(context["name"] for context in row.get("contexts_named", []))


def selection_in_words(found: Hotspots) -> list[tuple[str, str]]:
    """What the panel pack shows, as (setting, choice) pairs in the dashboard's own words."""
    area = current_user.organisation.name
    period = params.DASHBOARD_PERIODS[found.period]
    if found.selection.started_from or found.selection.started_before:
        period += ": episodes that started " + period_in_words(found.selection)
    words = [("Area", f"{area} and about a kilometre around it" if found.selection.bbox else "Every area you may see"),
             ("Period", period)]
    for name, label, options in FILTERS:
        chosen = request.args.get(name, options[0][0])
        words.append((label, dict(options).get(chosen, chosen)))
    return words + [("Hexagon size", f"H3 resolution {found.resolution}")]


def _file_name(found: Hotspots, extension: str) -> str:
    """``hotspots-<area>-<period>-res<N>-<date>``: a pack's files say which selection they hold."""
    area = re.sub(r"[^a-z0-9]+", "-", current_user.organisation.name.lower()).strip("-") or "area"
    period = {"all": "all-time", "this": "this-month", "last": "last-month", "custom": "custom"}.get(
        found.period, f"{found.period}-months")
    return f"hotspots-{area}-{period}-res{found.resolution}-{london_today().isoformat()}.{extension}"


def period_in_words(selection: EpisodeSelection) -> str:
    """The selection's dates: 'from 1 November 2026 to 30 November 2026', 'from 1 January 2026 to
    date', 'up to 31 March 2025', or '' for all time."""
    first = selection.started_from.astimezone(LONDON).date() if selection.started_from else None
    last = (selection.started_before.astimezone(LONDON) - timedelta(days=1)).date() if selection.started_before else None
    if first is None:
        return f"up to {last:%-d %B %Y}" if last else ""
    return f"from {first:%-d %B %Y} " + (f"to {last:%-d %B %Y}" if last else "to date")


def _made_at() -> datetime:
    return datetime.now(timezone.utc).astimezone(LONDON)


@bp.get("/export/hotspots.csv")
def export_csv():
    """Every hexagon of the selection, after lines beginning ``#`` that say what the selection is
    (spreadsheets show them as rows; pandas reads past them with ``comment="#"``)."""
    found = hotspots(get_session(), busiest_only=False)
    buffer = io.StringIO()
    buffer.write(f"# Hotspots made {_made_at():%-d %B %Y %H:%M} (London time)\n")
    for label, value in selection_in_words(found):
        buffer.write(f"# {spreadsheet_text(label)}: {spreadsheet_text(value)}\n")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for rank, row in enumerate(found.rows, start=1):
        writer.writerow({"rank": rank, **row, "context_names": spreadsheet_text(_context_names(row))})
    return _download(buffer.getvalue(), "text/csv", _file_name(found, "csv"))


@bp.get("/export/hotspots.geojson")
def export_geojson():
    """Every hexagon of the selection; the collection's ``selection`` member says what it is."""
    found = hotspots(get_session(), busiest_only=False)
    left_out = ("h3", "lat", "lng", "contexts_named")
    rows = [{**{key: value for key, value in row.items() if key not in left_out}, "context_names": _context_names(row)}
            for row in found.rows]
    collection = hex_feature_collection(rows)
    collection["selection"] = dict(selection_in_words(found))
    collection["made_at"] = _made_at().isoformat(timespec="seconds")
    return _download(json.dumps(collection), "application/geo+json", _file_name(found, "geojson"))


@bp.get("/export/hotspots.html")
def export_html():
    """The map, its legend and every hexagon's figures in one file that opens with no server and
    no network: Leaflet is inlined."""
    session = get_session()
    found = hotspots(session, busiest_only=False)
    measure = MEASURES[found.layer]
    breaks = maps.class_breaks([row[measure] for row in found.rows])
    contexts = session.execute(contexts_for_map(found.selection.bbox)).all()
    fmap = maps.hex_map(hex_feature_collection(_map_rows(found.rows)), breaks, contexts, found.outline, measure)
    title = f"Hotspots: {current_user.organisation.name}, {params.DASHBOARD_PERIODS[found.period].lower()}"
    page = render_template(
        "dashboard/pack.html", title=title, made_at=_made_at(), selection=selection_in_words(found),
        map=maps.render(fmap).standalone(), rows=found.rows, measure=measure,
        measure_label=maps.MEASURE_LABELS[measure], legend=maps.legend(breaks, found.rows[0][measure] if found.rows else 0),
        totals={"hexagons": len(found.rows), measure: sum(row[measure] for row in found.rows)},
        gi_area=found.gi_area, gi_problem=found.gi_problem,
    )
    return _download(page, "text/html", _file_name(found, "html"))


def _download(body: str, mimetype: str, name: str):
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
