"""The dashboard: a hexagon heat map of missing episodes, contexts by kind, and the busiest
hexagons as a table (the accessible alternative to the map)."""

import json

from flask import Blueprint, current_app, flash, render_template, request
from flask_login import current_user
from shapely.geometry import shape

from geo.hexes import MAP_RESOLUTIONS, cell_centre, cell_to_string, hex_feature_collection
from geo.hotspots import cells_in_box, gi_star, surrounding_cells
from models.queries import area_outline, context_counts_by_cell, contexts_for_map, episode_hex_counts, nearest_postcodes
from models.times import london_midnight, london_today, months_before
from webapp import maps, params
from webapp.auth import require_individual_access
from webapp.db import get_session

bp = Blueprint("dashboard", __name__)
bp.before_request(require_individual_access)

PERIODS = {"3": "Last 3 months", "6": "Last 6 months", "12": "Last 12 months", "24": "Last 24 months", "all": "All time"}
BUSIEST_ROWS = 15


# How far past its authority's outline the dashboard looks, in degrees (about a kilometre).
AREA_MARGIN = 0.012


def hex_rows(session, resolution: int, layer, started_from, started_before, bbox=None) -> list[dict]:
    """Per-cell episodes, distinct young people and contexts, busiest first."""
    contexts = dict(session.execute(context_counts_by_cell(resolution, bbox)).all())
    episodes = episode_hex_counts(resolution, layer, started_from, started_before, bbox)
    return [
        {"cell": row.cell, "episodes": row.episodes, "young_people": row.young_people,
         "contexts": contexts.get(row.cell, 0)}
        for row in session.execute(episodes)
    ]


def add_gi_star(rows: list[dict], resolution: int, bbox) -> None:
    """Add Getis-Ord Gi* (``gi_z``, ``gi_p``, ``gi_hotspot``) to each row, over every hexagon of the
    box (empty ones included) or, without a box, of the rows' cells and two rings around them.
    Raises ValueError when the area holds too many hexagons."""
    area = cells_in_box(*bbox, resolution) if bbox else surrounding_cells([row["cell"] for row in rows])
    scores = gi_star({row["cell"]: row["episodes"] for row in rows}, area + [row["cell"] for row in rows])
    for row in rows:
        score = scores[row["cell"]]
        row.update(gi_z=round(score.z, 2), gi_p=score.p, gi_hotspot=score.hotspot)


def _area(session) -> tuple[str, tuple] | tuple[None, None]:
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


@bp.route("/")
def index():
    session = get_session()
    resolution = params.resolution(request.args)
    layer = params.layer(request.args)
    period = request.args.get("period", "12")
    if period not in PERIODS:
        params.bad_parameter("period", period, "is not one of: " + ", ".join(PERIODS))
    started_from = None
    if period != "all":
        started_from = london_midnight(months_before(london_today(), int(period)))

    outline, bbox = _area(session)
    rows = hex_rows(session, resolution, layer, started_from, None, bbox)
    try:
        add_gi_star(rows, resolution, bbox)
    except ValueError as error:
        flash(f"Hotspot scores are not shown: {error}.", "warning")
    breaks = maps.class_breaks([row["episodes"] for row in rows])
    contexts = session.execute(contexts_for_map(bbox)).all()
    fmap = maps.hex_map(hex_feature_collection(rows), breaks, contexts, outline)

    busiest = rows[:BUSIEST_ROWS]
    centres = {row["cell"]: cell_centre(row["cell"]) for row in busiest}
    near = {}
    if centres:
        points = [(index, centre.lat, centre.lng) for index, centre in enumerate(centres.values())]
        near = dict(session.execute(nearest_postcodes(points)).all())
    for index, row in enumerate(busiest):
        row["h3"] = cell_to_string(row["cell"])
        row["near_postcode"] = near.get(index)

    return render_template(
        "dashboard/index.html",
        map=maps.embed(fmap),
        busiest=busiest,
        legend=maps.legend(breaks, rows[0]["episodes"] if rows else 0),
        totals={"hexagons": len(rows), "episodes": sum(r["episodes"] for r in rows), "contexts": len(contexts)},
        resolution=resolution,
        resolutions=list(MAP_RESOLUTIONS),
        layer=layer,
        period=period,
        periods=PERIODS,
        area_name=current_user.organisation.name if bbox else None,
    )
