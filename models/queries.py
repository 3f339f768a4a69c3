"""Query builders for the map and tables. Each returns a ``Select``; callers run it."""

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    Integer,
    Select,
    Text,
    and_,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from geo.hexes import MAP_RESOLUTIONS, BBox, box_area_km2, box_holding_cells, cells_in_box
from models.aggregates import AGGREGATED_RESOLUTIONS, EpisodeHexMonth
from models.codes import ContextKind, MissingType
from models.geography import LocalAuthority, Postcode
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson
from models.times import LONDON, london_midnight, whole_months


def within(geometry_column, bbox: BBox):
    """Rows whose geometry meets the box. The bounding-box test comes first and on its own: it is
    the condition the column's spatial index serves under row-level security (migration
    b7d1e5a9c3f2); the exact test then runs on the few rows it finds."""
    box = func.ST_MakeEnvelope(*bbox, 4326)
    return geometry_column.op("&&")(box) & func.ST_Intersects(geometry_column, box)


class EpisodeLayer(StrEnum):
    """Which end of a missing episode places it on the map."""

    LAST_SEEN = "last_seen"
    FOUND = "found"


class MapLayer(StrEnum):
    """What the hexagons count: missing episodes by either end, open contexts, or the distinct
    young people linked to the contexts in each hexagon."""

    LAST_SEEN = "last_seen"
    FOUND = "found"
    CONTEXTS = "contexts"
    YOUNG_PEOPLE = "young_people"

    @property
    def episode_layer(self) -> EpisodeLayer | None:
        return EpisodeLayer(self.value) if self in (MapLayer.LAST_SEEN, MapLayer.FOUND) else None


def cell_at(cells_column, resolution: int):
    """The cell at ``resolution`` from a stored cells array (PostgreSQL arrays count from 1)."""
    return cells_column[MAP_RESOLUTIONS.index(resolution) + 1]


def _london(column):
    """A timestamptz column as London wall-clock time."""
    return func.timezone(LONDON.key, column)


def _local_part(part: str, column):
    return func.extract(part, _london(column)).cast(Integer)


@dataclass(frozen=True)
class EpisodeSelection:
    """Which missing episodes a map, table or chart counts. Empty filters select everything.

    ``hours`` is a (from, to) pair of London hours, ``to`` excluded, that may wrap past midnight
    ((22, 6) is 22:00 to 06:00); ``weekdays`` are ISO numbers (1 Monday to 7 Sunday); ``ages`` is an
    inclusive (youngest, oldest) age at the start of the episode, counted from the first day of the
    birth month (only the month of birth is stored). ``concerns`` and ``kinds`` keep the
    episodes of young people linked to a context with one of those concern codes, or of one of
    those kinds.

    ``bbox`` keeps, for hexagon counts, the hexagons whose centre lies in the box, each counted
    whole (a map never shows part of a hexagon's count); for the other tables, the episodes whose
    point lies in the box.

    ``organisations`` names, as constants, the organisations whose rows may be read, so that a
    distributed database sends the query only to their shards (README "Past one machine");
    row-level security keeps to the same rows either way. Empty names none.
    """

    layer: EpisodeLayer = EpisodeLayer.LAST_SEEN
    started_from: datetime | None = None
    started_before: datetime | None = None
    bbox: BBox | None = None
    missing_type: MissingType | None = None
    sex: int | None = None
    ages: tuple[int, int] | None = None
    hours: tuple[int, int] | None = None
    weekdays: frozenset[int] = frozenset()
    concerns: frozenset[str] = frozenset()
    kinds: frozenset[ContextKind] = frozenset()
    organisations: tuple[int, ...] = ()

    @property
    def by_date_and_place_only(self) -> bool:
        """True when nothing but the layer, the dates and the box is chosen."""
        return (self.missing_type is None and self.sex is None and self.ages is None and self.hours is None
                and not self.weekdays and not self.concerns and not self.kinds)

    @property
    def cells(self):
        return MissingEpisode.last_seen_cells if self.layer == EpisodeLayer.LAST_SEEN else MissingEpisode.found_cells

    @property
    def location(self):
        return (MissingEpisode.last_seen_location if self.layer == EpisodeLayer.LAST_SEEN
                else MissingEpisode.found_location)

    def conditions(self):
        episode = MissingEpisode
        conditions = [self.cells.is_not(None)]
        if self.organisations:
            conditions.append(episode.organisation_id.in_(self.organisations))
        if self.bbox is not None:
            conditions.append(within(self.location, self.bbox))
        if self.started_from is not None:
            conditions.append(episode.started_at >= self.started_from)
        if self.started_before is not None:
            conditions.append(episode.started_at < self.started_before)
        if self.missing_type is not None:
            conditions.append(episode.missing_type == self.missing_type)
        if self.hours is not None:
            start, end = self.hours
            hour = _local_part("hour", episode.started_at)
            conditions.append(hour.between(start, end - 1) if start < end else (hour >= start) | (hour < end))
        if self.weekdays:
            conditions.append(_local_part("isodow", episode.started_at).in_(sorted(self.weekdays)))
        if self.sex is not None or self.ages is not None:
            person = [same_child(YoungPerson, episode)]
            if self.sex is not None:
                person.append(YoungPerson.sex == self.sex)
            if self.ages is not None:
                age = func.date_part("year", func.age(_london(episode.started_at), YoungPerson.birth_month))
                person.append(age.between(*self.ages))
            conditions.append(exists().where(*person))
        if self.concerns:
            conditions.append(exists().where(same_child(ContextLink, episode),
                                             ContextLink.concern_codes.overlap(sorted(self.concerns))))
        if self.kinds:
            conditions.append(exists().where(same_child(ContextLink, episode), ContextLink.context_id == Context.id,
                                             Context.kind.in_(sorted(self.kinds))))
        return and_(*conditions)


def _episode_counts(*keys) -> tuple:
    return (*keys, func.count().label("episodes"),
            func.count(MissingEpisode.young_person_id.distinct()).label("young_people"))


def in_list(column, values):
    """``column`` is one of many integers (hexagons, ids), as one array parameter rather than
    thousands of IN parameters. It travels as text because psycopg inspects every element of a
    list to choose its type (10 ms for a county's 7,000 hexagons), and the subquery unpacks it
    once (a hashed subplan) rather than once per row."""
    array = "{" + ",".join(map(str, values)) + "}"
    return column.in_(select(func.unnest(cast(literal(array, Text), ARRAY(BigInteger)))).scalar_subquery())


# Below this a box is a small part of any authority's data and its spatial index narrows the search
# well; above it (a county) the planner still combines the index with the date's, for no gain.
SPATIAL_INDEX_BELOW_KM2 = 400


def _in_box_cells(location, cell, bbox: BBox, resolution: int):
    """Rows whose cell is one of the hexagons centred in ``bbox``."""
    in_cells = in_list(cell, cells_in_box(*bbox, resolution))
    if box_area_km2(bbox) >= SPATIAL_INDEX_BELOW_KM2:
        return in_cells
    return and_(within(location, box_holding_cells(bbox, resolution)), in_cells)


def episode_hex_counts(resolution: int, selection: EpisodeSelection = EpisodeSelection()) -> Select:
    """Missing episodes and distinct young people per H3 cell, busiest first.

    Raises ValueError when the box holds too many hexagons at this resolution.
    """
    first, after = whole_months(selection.started_from, selection.started_before)
    if (resolution in AGGREGATED_RESOLUTIONS and selection.by_date_and_place_only
            and (first is None or after is None or first < after)):
        counts = _counts_from_monthly_totals(resolution, selection, first, after)
    else:
        counts = _hex_episode_rows(resolution, selection, *_episode_counts())
    return counts.order_by(literal_column("episodes").desc(), literal_column("cell"))


def _hex_episode_rows(resolution: int, selection: EpisodeSelection, *columns) -> Select:
    """``columns`` per cell over the selection's episodes, read from the episodes table."""
    cell = cell_at(selection.cells, resolution).label("cell")
    query = select(cell, *columns).where(replace(selection, bbox=None).conditions()).group_by(cell)
    if selection.bbox is not None:
        query = query.where(_in_box_cells(selection.location, cell, selection.bbox, resolution))
    return query


def _counts_from_monthly_totals(resolution, selection, first, after) -> Select:
    """Whole months from ``episode_hex_months``; the part-months at either end of the period from
    the episodes table, as the same (cell, young people) arrays."""
    totals = EpisodeHexMonth
    whole = select(totals.cell, totals.young_people).where(totals.layer == selection.layer.value,
                                                          totals.resolution == resolution)
    if selection.organisations:
        whole = whole.where(totals.organisation_id.in_(selection.organisations))
    if first is not None:
        whole = whole.where(totals.month >= first)
    if after is not None:
        whole = whole.where(totals.month < after)
    if selection.bbox is not None:
        whole = whole.where(in_list(totals.cell, cells_in_box(*selection.bbox, resolution)))
    parts = [whole]
    people = func.sort(func.array_agg(MissingEpisode.young_person_id)).label("young_people")
    if first is not None and selection.started_from < london_midnight(first):
        head = replace(selection, started_before=london_midnight(first))
        parts.append(_hex_episode_rows(resolution, head, people))
    if after is not None and selection.started_before is not None and london_midnight(after) < selection.started_before:
        tail = replace(selection, started_from=london_midnight(after))
        parts.append(_hex_episode_rows(resolution, tail, people))
    rows = union_all(*parts).subquery("hex_months")
    return select(
        rows.c.cell,
        func.sum(func.cardinality(rows.c.young_people)).label("episodes"),
        func.cardinality(func.distinct_union(rows.c.young_people)).label("young_people"),
    ).group_by(rows.c.cell)


def episode_start_grid(selection: EpisodeSelection) -> Select:
    """Episodes by London day of the week (1 Monday to 7 Sunday) and hour they started."""
    weekday = _local_part("isodow", MissingEpisode.started_at).label("weekday")
    hour = _local_part("hour", MissingEpisode.started_at).label("hour")
    return select(weekday, hour, func.count().label("episodes")).where(selection.conditions()).group_by(weekday, hour)


def episode_start_hours_by_cell(resolution: int, selection: EpisodeSelection, cells: list[int]) -> Select:
    """Episodes per London hour of the start, for each of ``cells`` (the episodes' own place, as
    ``selection.layer`` says)."""
    cell = cell_at(selection.cells, resolution).label("cell")
    hour = _local_part("hour", MissingEpisode.started_at).label("hour")
    return (select(cell, hour, func.count().label("episodes"))
            .where(replace(selection, bbox=None).conditions(), in_list(cell, cells))
            .group_by(cell, hour))


def in_cell(selection: EpisodeSelection, cell: int, resolution: int):
    """SQL: an episode's place, as ``selection.layer`` says, is in ``cell``; added to the builders
    that count a selection (months, day by hour) for one hexagon's page."""
    return cell_at(selection.cells, resolution) == cell


def episodes_in_cell(selection: EpisodeSelection, cell: int, resolution: int) -> Select:
    """The episodes of one hexagon with their young person's id and reference, the latest first."""
    person = aliased(YoungPerson)  # the selection's own tests of sex and age read YoungPerson in EXISTS
    return (select(MissingEpisode, person.id.label("person_id"), person.reference)
            .join(person, same_child(person, MissingEpisode))
            .where(selection.conditions(), in_cell(selection, cell, resolution))
            .order_by(MissingEpisode.started_at.desc(), MissingEpisode.id.desc()))


def links_in_cell(cell: int, resolution: int, organisations: tuple[int, ...]) -> Select:
    """The current links of young people of ``organisations`` to the open contexts in ``cell``."""
    return (select(ContextLink, YoungPerson.reference, Context.name)
            .join(Context, Context.id == ContextLink.context_id)
            .join(YoungPerson, same_child(YoungPerson, ContextLink))
            .where(Context.cells.is_not(None), Context.status == "open", cell_at(Context.cells, resolution) == cell,
                   ContextLink.organisation_id.in_(organisations))
            .order_by(YoungPerson.reference, Context.name))


def contexts_in_cells(resolution: int, cells: list[int]) -> Select:
    """The open contexts in each of ``cells``, by name."""
    cell = cell_at(Context.cells, resolution).label("cell")
    return (select(cell, Context.id, Context.name)
            .where(Context.cells.is_not(None), Context.status == "open", in_list(cell, cells))
            .order_by(cell, Context.name))


def episode_months(selection: EpisodeSelection) -> Select:
    """Episodes and distinct young people per London calendar month of the start, oldest first."""
    month = func.date_trunc("month", _london(MissingEpisode.started_at)).cast(Date).label("month")
    return select(*_episode_counts(month)).where(selection.conditions()).group_by(month).order_by(month)


def h3_ancestor(cell, resolution):
    """SQL: the H3 parent at ``resolution`` (a number or an integer column) of a BIGINT ``cell``,
    by the bit layout in shared/DOMAIN.md: the resolution in bits 52 to 55, finer digits all 7."""
    digits_below = cast(3 * (literal(15) - resolution), Integer)
    return (cell.op("&")(literal(~(15 << 52), BigInteger))
            .op("|")(cast(resolution, BigInteger).op("<<")(literal(52, Integer)))
            .op("|")(literal(1, BigInteger).op("<<")(digits_below) - 1))


def young_people_by_ancestor(selection: EpisodeSelection, resolutions: tuple[int, ...], coarsest: int,
                             coarsest_cells: list[int] | None = None) -> Select:
    """The distinct young people (ids, as an array) of the selection's episodes in each cell at
    each of ``resolutions``, from one read of the episodes: a row per cell with its resolution's
    column set (``cell_8``...) and the others null. Each episode is placed by the H3 ancestor of its
    resolution-10 cell, so that cells nest exactly (see geo.disclosure). ``coarsest_cells`` keeps
    only episodes inside those whole cells at ``coarsest``; the selection's box is not used, so a
    box cannot cut a cell's count."""
    finest_cell = cell_at(selection.cells, MAP_RESOLUTIONS.stop - 1)
    cells = [h3_ancestor(finest_cell, resolution).label(f"cell_{resolution}") for resolution in resolutions]
    query = (select(*cells, func.array_agg(MissingEpisode.young_person_id.distinct()).label("young_people"))
             .where(replace(selection, bbox=None).conditions())
             .group_by(func.grouping_sets(*(tuple_(cell) for cell in cells))))
    if coarsest_cells is not None:
        query = query.where(in_list(h3_ancestor(finest_cell, coarsest), coarsest_cells))
    return query


def context_kinds_in_cells(coarsest: int, coarsest_cells: list[int] | None = None) -> Select:
    """Open contexts with a location, counted by kind (inside ``coarsest_cells``, whole, if given)."""
    query = (select(Context.kind, func.count().label("contexts"))
             .where(Context.cells.is_not(None), Context.status == "open").group_by(Context.kind))
    if coarsest_cells is not None:
        finest_cell = cell_at(Context.cells, MAP_RESOLUTIONS.stop - 1)
        query = query.where(in_list(h3_ancestor(finest_cell, coarsest), coarsest_cells))
    return query


def _open_contexts_by_cell(resolution: int, bbox: BBox | None, kinds: frozenset[ContextKind], *columns) -> Select:
    cell = cell_at(Context.cells, resolution).label("cell")
    query = select(cell, *columns).where(Context.cells.is_not(None), Context.status == "open").group_by(cell)
    if kinds:
        query = query.where(Context.kind.in_(sorted(kinds)))
    if bbox is not None:
        query = query.where(_in_box_cells(Context.geometry, cell, bbox, resolution))
    return query


def context_counts_by_cell(resolution: int, bbox: BBox | None = None, kinds: frozenset[ContextKind] = frozenset()) -> Select:
    """Open contexts with a location (of ``kinds``, if given), counted per H3 cell (the hexagons
    centred in ``bbox``)."""
    return _open_contexts_by_cell(resolution, bbox, kinds, func.count().label("contexts"))


def linked_people_by_cell(resolution: int, selection: EpisodeSelection) -> Select:
    """Distinct young people linked to the open contexts of each H3 cell: people, not links.

    The selection's box, kinds, concerns (of the link) and sex apply, and its dates keep the links
    current at some time in the period (first seen before it ends, last seen after it starts or
    not yet ended). Filters of an episode's own (type, age, time, day) do not apply to links.
    """
    query = _open_contexts_by_cell(
        resolution, selection.bbox, selection.kinds,
        func.count(ContextLink.young_person_id.distinct()).label("young_people"),
    ).join(ContextLink, ContextLink.context_id == Context.id)
    if selection.organisations:
        query = query.where(ContextLink.organisation_id.in_(selection.organisations))
    if selection.started_before is not None:
        query = query.where(ContextLink.first_seen_on < selection.started_before.astimezone(LONDON).date())
    if selection.started_from is not None:
        started = selection.started_from.astimezone(LONDON).date()
        query = query.where(ContextLink.last_seen_on.is_(None) | (ContextLink.last_seen_on >= started))
    if selection.concerns:
        query = query.where(ContextLink.concern_codes.overlap(sorted(selection.concerns)))
    if selection.sex is not None:
        query = query.join(YoungPerson, same_child(YoungPerson, ContextLink)).where(YoungPerson.sex == selection.sex)
    return query


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


# Metres in a degree: of latitude at least this anywhere; of longitude this times the latitude's
# cosine (a little more on the spheroid).
METRES_PER_DEGREE_OF_LATITUDE = 110_574
METRES_PER_DEGREE_OF_LONGITUDE_AT_THE_EQUATOR = 111_320


def within_metres(location, geometry, metres: float, geography=None):
    """``location`` within ``metres`` of ``geometry`` on the spheroid; the box test first lets
    the spatial index of ``location`` narrow the search. ``geography`` is ``geometry`` already
    converted, for a caller that can convert it once rather than for every row it tests.

    The box reaches ``metres`` north and south, and east and west as many degrees as ``metres``
    make at the latitude of the box's edge furthest from the equator: a box as wide as the
    latitude needs, not as wide as Shetland's (three times London's), so a busy place's search
    reads a fifth of the candidates it did."""
    north_south = metres / METRES_PER_DEGREE_OF_LATITUDE
    furthest = func.least(func.greatest(func.abs(func.ST_YMin(geometry)), func.abs(func.ST_YMax(geometry)))
                          + north_south, 89)
    east_west = metres / (METRES_PER_DEGREE_OF_LONGITUDE_AT_THE_EQUATOR * func.cos(func.radians(furthest)))
    return (location.op("&&")(func.ST_Expand(geometry, east_west, north_south))
            & func.ST_DWithin(func.geography(location),
                              func.geography(geometry) if geography is None else geography, metres))


def episodes_near(context_id: int, metres: float, organisations: tuple[int, ...],
                  since: datetime | None = None) -> Select:
    """Missing episodes of ``organisations`` that started (last seen) or ended (found) within
    ``metres`` of a context, newest first, with which end was near; only those started ``since``
    when it is given. The box test uses the spatial indexes; the distance is measured on the
    spheroid."""
    geometry = select(Context.geometry).where(Context.id == context_id).scalar_subquery()
    # Converted once: a busy park has over 100,000 episodes to measure against its outline.
    geography = select(func.geography(Context.geometry)).where(Context.id == context_id).scalar_subquery()
    started_near = within_metres(MissingEpisode.last_seen_location, geometry, metres, geography)
    ended_near = within_metres(MissingEpisode.found_location, geometry, metres, geography)
    query = (
        select(MissingEpisode.young_person_id, MissingEpisode.started_at, MissingEpisode.last_seen_location,
               MissingEpisode.found_location, started_near.label("started_near"), ended_near.label("ended_near"))
        .where(MissingEpisode.organisation_id.in_(organisations), started_near | ended_near)
        .order_by(MissingEpisode.started_at.desc())
    )
    return query.where(MissingEpisode.started_at >= since) if since is not None else query


def episodes_near_by_start(context_id: int, metres: float, organisations: tuple[int, ...],
                           since: datetime | None = None) -> Select:
    """The episodes of episodes_near counted by the London day of the week (1 Monday to 7 Sunday)
    and hour they started, and once more in all (``total`` true), with how many young people they
    belong to. Counted in the database: a busy place has over 100,000."""
    near = episodes_near(context_id, metres, organisations, since).order_by(None).subquery("near")
    started = (select(near.c.young_person_id, _local_part("isodow", near.c.started_at).label("weekday"),
                      _local_part("hour", near.c.started_at).label("hour"))
               .subquery("started"))
    return (
        select(started.c.weekday, started.c.hour, func.count().label("episodes"),
               func.count(started.c.young_person_id.distinct()).label("young_people"),
               (func.grouping(started.c.weekday, started.c.hour) > 0).label("total"))
        .group_by(func.grouping_sets(tuple_(started.c.weekday, started.c.hour), tuple_()))
    )


def hers(model, person: YoungPerson):
    """``model``'s rows about ``person``, found by her organisation as well as her id: on Citus
    (models.distribution) the organisation sends the query to the one shard that holds her."""
    return and_(model.organisation_id == person.organisation_id, model.young_person_id == person.id)


def same_child(one, other):
    """Rows of two tables about the same young person, joined by her organisation as well as her id
    so that on Citus the join stays on the shard that holds her. Each side is YoungPerson, a child's
    records (episodes, placements, links, meetings) or a subquery's columns naming both."""
    return and_(one.organisation_id == other.organisation_id, _child_id(one) == _child_id(other))


def _child_id(rows):
    return rows.young_person_id if hasattr(rows, "young_person_id") else rows.id


def her_context_ids(person: YoungPerson) -> Select:
    """The ids of the contexts she is linked to (the only possible sources of her harm)."""
    return select(ContextLink.context_id).where(hers(ContextLink, person)).distinct()


def her_links(person: YoungPerson) -> Select:
    """A young person's links with their contexts, the most recently seen first."""
    return (select(ContextLink, Context).join(Context, Context.id == ContextLink.context_id)
            .where(hers(ContextLink, person))
            .order_by(ContextLink.last_seen_on.desc().nulls_first(), Context.name))


def context_links(context_id: int, organisations: tuple[int, ...]) -> Select:
    """The young people linked to a context, by pseudonymous reference, of ``organisations`` (those
    the reader may see, as constants for routing as EpisodeSelection.organisations explains)."""
    return (
        select(ContextLink, YoungPerson.reference)
        .join(YoungPerson, same_child(YoungPerson, ContextLink))
        .where(ContextLink.context_id == context_id, ContextLink.organisation_id.in_(organisations))
        # The id last: references repeat across organisations, and pages need one order.
        .order_by(ContextLink.last_seen_on.desc().nulls_last(), YoungPerson.reference, ContextLink.id)
    )


def linked_people(context_id: int, organisations: tuple[int, ...]) -> Select:
    """The ids of the young people of ``organisations`` linked to a context, in order."""
    return (select(ContextLink.young_person_id)
            .where(ContextLink.context_id == context_id, ContextLink.organisation_id.in_(organisations))
            .distinct().order_by(ContextLink.young_person_id))
