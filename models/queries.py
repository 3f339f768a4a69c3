"""Query builders for the map and tables. Each returns a ``Select``; callers run it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Integer, Select, and_, column, func, literal_column, select, values

from geo.hexes import MAP_RESOLUTIONS
from models.geography import LocalAuthority, Postcode
from models.safeguarding import Context, MissingEpisode


BBox = tuple[float, float, float, float]  # min lng, min lat, max lng, max lat (WGS 84)


def within(geometry_column, bbox: BBox):
    """Rows whose geometry meets the box; uses the column's spatial index."""
    return func.ST_Intersects(geometry_column, func.ST_MakeEnvelope(*bbox, 4326))


class EpisodeLayer(StrEnum):
    """Which end of a missing episode places it on the map."""

    LAST_SEEN = "last_seen"
    FOUND = "found"


def cell_at(cells_column, resolution: int):
    """The cell at ``resolution`` from a stored cells array (PostgreSQL arrays count from 1)."""
    return cells_column[MAP_RESOLUTIONS.index(resolution) + 1]


def episode_hex_counts(
    resolution: int,
    layer: EpisodeLayer = EpisodeLayer.LAST_SEEN,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
    bbox: BBox | None = None,
) -> Select:
    """Missing episodes and distinct young people per H3 cell, busiest first."""
    if layer == EpisodeLayer.LAST_SEEN:
        cells, location = MissingEpisode.last_seen_cells, MissingEpisode.last_seen_location
    else:
        cells, location = MissingEpisode.found_cells, MissingEpisode.found_location
    cell = cell_at(cells, resolution).label("cell")
    conditions = [cells.is_not(None)]
    if bbox is not None:
        conditions.append(within(location, bbox))
    if started_from is not None:
        conditions.append(MissingEpisode.started_at >= started_from)
    if started_before is not None:
        conditions.append(MissingEpisode.started_at < started_before)
    return (
        select(
            cell,
            func.count().label("episodes"),
            func.count(MissingEpisode.young_person_id.distinct()).label("young_people"),
        )
        .where(and_(*conditions))
        .group_by(cell)
        .order_by(literal_column("episodes").desc(), cell)
    )


def context_counts_by_cell(resolution: int, bbox: BBox | None = None) -> Select:
    """Open contexts with a location, counted per H3 cell."""
    cell = cell_at(Context.cells, resolution).label("cell")
    query = (
        select(cell, func.count().label("contexts"))
        .where(Context.cells.is_not(None), Context.status == "open")
        .group_by(cell)
    )
    return query.where(within(Context.geometry, bbox)) if bbox is not None else query


def contexts_for_map(bbox: BBox | None = None) -> Select:
    """Open contexts with a location: a point to pin (inside the area for polygons) and the shape."""
    marker = func.ST_PointOnSurface(Context.geometry)
    query = (
        select(
            Context.id,
            Context.name,
            Context.kind,
            func.ST_Y(marker).label("lat"),
            func.ST_X(marker).label("lng"),
            func.ST_AsGeoJSON(
                func.nullif(Context.geometry, func.ST_PointOnSurface(Context.geometry)), 6
            ).label("area_geojson"),
        )
        .where(Context.geometry.is_not(None), Context.status == "open")
        .order_by(Context.kind, Context.name)
    )
    return query.where(within(Context.geometry, bbox)) if bbox is not None else query


def nearest_postcodes(points: list[tuple[int, float, float]]) -> Select:
    """For (key, lat, lng) triples, the nearest postcode to each point (a K-nearest-neighbour
    search on the spatial index)."""
    centres = values(
        column("key", Integer), column("lat", Float), column("lng", Float), name="centres"
    ).data(points)
    nearest = (
        select(Postcode.postcode)
        .where(Postcode.location.is_not(None))
        .order_by(
            Postcode.location.op("<->")(
                func.ST_SetSRID(func.ST_MakePoint(centres.c.lng, centres.c.lat), 4326)
            )
        )
        .limit(1)
        .lateral("nearest")
    )
    return select(centres.c.key, nearest.c.postcode).select_from(centres).join(nearest, literal_column("true"))


def area_outline(authority_code: str) -> Select:
    """An approximate outline of an authority: the concave hull of its postcodes' points. A county
    (upper-tier) code takes in the postcodes of all its districts."""
    districts = select(LocalAuthority.code).where(LocalAuthority.upper_tier_code == authority_code)
    return select(
        func.ST_AsGeoJSON(func.ST_ConcaveHull(func.ST_Collect(Postcode.location), 0.2), 5)
    ).where(
        (Postcode.local_authority_code == authority_code) | Postcode.local_authority_code.in_(districts),
        Postcode.location.is_not(None),
    )
