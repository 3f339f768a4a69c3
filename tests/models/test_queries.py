"""Hexagon counts from PostGIS against an independent computation with h3-py over the same rows."""

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import h3
import pytest
from pyproj import Geod
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from geo.coords import LatLng
from geo.hexes import MAP_RESOLUTIONS, cells_in_box, cells_of
from models import upkeep
from models.aggregates import AGGREGATED_RESOLUTIONS, EpisodeHexMonth
from models.codes import ContextKind, LinkRole, MissingType, OrganisationKind, Reliability
from models.people import Organisation
from models.queries import (
    EpisodeLayer,
    EpisodeSelection,
    context_counts_by_cell,
    episode_hex_counts,
    episode_months,
    episode_start_grid,
    linked_people_by_cell,
    within_metres,
)
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson
from models.times import LONDON, london_midnight

START = datetime(2025, 3, 1, tzinfo=timezone.utc)  # spans the change to summer time


@pytest.fixture
def episodes(session, organisations):
    """120 episodes of 12 children around Earl's Court, one a week per child, some with no found
    point; children of both sexes and several ages, some linked to contexts with concerns."""
    rng = random.Random(3)
    organisation = next(iter(organisations.values()))
    people = [
        YoungPerson(reference=f"YP-Q{n:04d}", birth_month=date(2008 + n % 5, 1 + n % 12, 1), sex=1 + n % 2,
                    responsible_authority_code="E09000020", organisation_id=organisation.id)
        for n in range(12)
    ]
    session.add_all(people)
    takeaway = Context(name="Q takeaway", kind=ContextKind.TAKEAWAY, organisation_id=organisation.id,
                       geometry="SRID=4326;POINT(-0.19 51.49)")
    chat = Context(name="Q chat", kind=ContextKind.ONLINE_SPACE, organisation_id=organisation.id)
    session.add_all([takeaway, chat])
    session.flush()
    links = {people[1].id: (takeaway, ["11A"]), people[4].id: (takeaway, ["24A", "13A"]), people[7].id: (chat, ["11A"])}
    for person_id, (context, concerns) in links.items():
        session.add(ContextLink(young_person_id=person_id, context_id=context.id, role=LinkRole.FREQUENTS,
                                concern_codes=concerns, first_seen_on=date(2024, 1, 1), recorded_by_id=organisation.id,
                                reliability=Reliability.CORROBORATED))
    rows = []
    for index in range(120):
        person = people[index % 12]
        started = START + timedelta(days=7 * (index // 12), hours=rng.randint(0, 100))
        last_seen = LatLng(51.49 + rng.uniform(-0.02, 0.02), -0.19 + rng.uniform(-0.03, 0.03))
        found = None if index % 10 == 0 else LatLng(51.49 + rng.uniform(-0.02, 0.02), -0.19 + rng.uniform(-0.03, 0.03))
        missing_type = MissingType.MISSING if index % 3 else MissingType.AWAY
        link = links.get(person.id)
        rows.append({"person": person.id, "started": started, "last_seen": last_seen, "found": found,
                     "type": missing_type, "sex": person.sex, "birth": person.birth_month,
                     "concerns": set(link[1]) if link else set(), "kinds": {link[0].kind} if link else set()})
        session.add(
            MissingEpisode(
                young_person_id=person.id, missing_type=missing_type, started_at=started,
                ended_at=started + timedelta(hours=3),
                last_seen_location=last_seen.wkt, last_seen_cells=cells_of(last_seen),
                found_location=found.wkt if found else None, found_cells=cells_of(found) if found else None,
            )
        )
    session.flush()
    return rows


def expected_counts(rows, resolution, point_key="last_seen", since=None, before=None, cells=None):
    episodes, people = Counter(), defaultdict(set)
    for row in rows:
        point = row[point_key]
        if point is None or (since and row["started"] < since) or (before and row["started"] >= before):
            continue
        cell = h3.str_to_int(h3.latlng_to_cell(point.lat, point.lng, resolution))
        if cells is not None and cell not in cells:
            continue
        episodes[cell] += 1
        people[cell].add(row["person"])
    return {cell: (count, len(people[cell])) for cell, count in episodes.items()}


def run(session, resolution, layer=EpisodeLayer.LAST_SEEN, **selection):
    query = episode_hex_counts(resolution, EpisodeSelection(layer, **selection))
    return {row.cell: (row.episodes, row.young_people) for row in session.execute(query)}


@pytest.mark.parametrize("resolution", [6, 7, 8, 9, 10])
def test_counts_match_h3_py(session, episodes, resolution):
    assert run(session, resolution) == expected_counts(episodes, resolution)


@pytest.mark.parametrize("resolution", [7, 9])
def test_found_layer_uses_found_points(session, episodes, resolution):
    got = run(session, resolution, EpisodeLayer.FOUND)
    assert got == expected_counts(episodes, resolution, "found")
    assert sum(count for count, _ in got.values()) == 108  # 12 episodes have no found point


def test_young_people_are_distinct_people_not_rows(session, episodes):
    # At resolution 6 everything falls into one or two cells: 120 episodes, but only 12 people.
    got = run(session, 6)
    assert sum(count for count, _ in got.values()) == 120
    assert all(people <= 12 for _, people in got.values())
    assert max(people for _, people in got.values()) == 12 or len(got) > 1


def test_date_filter(session, episodes):
    since = START + timedelta(days=35)
    got = run(session, 8, started_from=since)
    assert got == expected_counts(episodes, 8, since=since)
    assert sum(count for count, _ in got.values()) < 120


# Whole London months come from the monthly totals and part-months from the episodes table:
# windows that start and end mid-month, on month boundaries, inside one month, or open.
WINDOWS = [
    (datetime(2025, 3, 9, 13, tzinfo=timezone.utc), datetime(2025, 5, 2, 7, tzinfo=timezone.utc)),
    (london_midnight(date(2025, 4, 1)), london_midnight(date(2025, 5, 1))),
    (london_midnight(date(2025, 3, 10)), london_midnight(date(2025, 3, 24))),
    (None, london_midnight(date(2025, 4, 17))),
    (london_midnight(date(2025, 3, 30)), None),
]


@pytest.mark.parametrize("resolution", [6, 8, 9, 10])
@pytest.mark.parametrize(("since", "before"), WINDOWS)
def test_windows_match_h3_py(session, episodes, resolution, since, before):
    got = run(session, resolution, started_from=since, started_before=before)
    assert got == expected_counts(episodes, resolution, since=since, before=before)
    assert got  # every window holds episodes


@pytest.mark.parametrize("resolution", [7, 9, 10])
def test_box_counts_whole_hexagons_centred_in_it(session, episodes, resolution):
    bbox = (-0.205, 51.475, -0.185, 51.495)
    cells = set(cells_in_box(*bbox, resolution))
    got = run(session, resolution, bbox=bbox, started_from=START + timedelta(days=20))
    assert got == expected_counts(episodes, resolution, since=START + timedelta(days=20), cells=cells)
    assert 0 < len(got) < len(run(session, resolution))


def totals_in_database(session) -> dict:
    return {(row.layer, row.resolution, row.month, row.cell, row.organisation_id): row.young_people
            for row in session.scalars(select(EpisodeHexMonth))}


def totals_recounted(session) -> dict:
    """The monthly totals recounted in Python from the episodes as they stand."""
    totals = defaultdict(list)
    for episode in session.scalars(select(MissingEpisode)):
        month = episode.started_at.astimezone(LONDON).date().replace(day=1)
        organisation = episode.young_person.organisation_id
        for layer, cells in (("last_seen", episode.last_seen_cells), ("found", episode.found_cells)):
            for resolution in AGGREGATED_RESOLUTIONS:
                if cells is not None:
                    totals[(layer, resolution, month, cells[MAP_RESOLUTIONS.index(resolution)], organisation)].append(
                        episode.young_person_id)
    return {key: sorted(people) for key, people in totals.items()}


def test_monthly_totals_follow_inserts_updates_and_deletes(session, episodes):
    assert totals_in_database(session) == totals_recounted(session) != {}
    stored = session.scalars(select(MissingEpisode).order_by(MissingEpisode.id)).all()
    moved = LatLng(51.52, -0.10)
    stored[0].last_seen_location, stored[0].last_seen_cells = moved.wkt, cells_of(moved)
    stored[1].started_at += timedelta(days=400)  # into another month, after every other
    stored[1].ended_at += timedelta(days=400)
    stored[2].found_location, stored[2].found_cells = None, None
    session.flush()
    assert totals_in_database(session) == totals_recounted(session)
    for episode in stored[3:40]:
        session.delete(episode)
    session.flush()
    assert totals_in_database(session) == totals_recounted(session)
    # A statement cannot be read for what it changed: its caller recounts, as after a change in psql.
    organisation_id = stored[0].organisation_id
    with pytest.raises(RuntimeError, match="upkeep_by_caller"):
        session.execute(delete(MissingEpisode))
    session.execute(delete(MissingEpisode).execution_options(upkeep_by_caller=True))
    assert totals_in_database(session) != {}
    upkeep.recount_organisation(session.connection(), organisation_id)
    assert totals_in_database(session) == {}


def test_a_young_person_with_records_stays_with_her_organisation(session, episodes):
    """Her episodes carry her organisation (the Citus plan's key), so she cannot leave it alone, and
    the monthly totals stay hers."""
    other = Organisation(name="Another borough", kind=OrganisationKind.LOCAL_AUTHORITY, local_authority_code="E09000013")
    session.add(other)
    session.flush()
    before = totals_in_database(session)
    person = session.scalars(select(MissingEpisode)).first().young_person
    with pytest.raises(IntegrityError, match="fk_missing_episodes_organisation_id_young_people"), session.begin_nested():
        person.organisation_id = other.id
        session.flush()
    session.expire_all()
    assert totals_in_database(session) == before == totals_recounted(session)


def test_busiest_first(session, episodes):
    counts = [row.episodes for row in session.execute(episode_hex_counts(9))]
    assert counts == sorted(counts, reverse=True)


def test_start_grid_is_in_london_time(session, episodes):
    got = {(row.weekday, row.hour): row.episodes for row in session.execute(episode_start_grid(EpisodeSelection()))}
    expected = Counter()
    for row in episodes:
        local = row["started"].astimezone(LONDON)
        expected[(local.isoweekday(), local.hour)] += 1
    assert got == dict(expected)


def test_months_count_episodes_and_distinct_people(session, episodes):
    rows = session.execute(episode_months(EpisodeSelection())).all()
    expected_episodes, expected_people = Counter(), defaultdict(set)
    for row in episodes:
        month = row["started"].astimezone(LONDON).date().replace(day=1)
        expected_episodes[month] += 1
        expected_people[month].add(row["person"])
    assert [r.month for r in rows] == sorted(expected_episodes)
    assert {r.month: (r.episodes, r.young_people) for r in rows} == {
        month: (count, len(expected_people[month])) for month, count in expected_episodes.items()
    }


def age_at(row) -> int:
    local = row["started"].astimezone(LONDON).date()
    birth = row["birth"]
    return local.year - birth.year - ((local.month, local.day) < (birth.month, birth.day))


def local_hour(row) -> int:
    return row["started"].astimezone(LONDON).hour


FILTERS = [
    ({"missing_type": MissingType.MISSING}, lambda r: r["type"] == MissingType.MISSING),
    ({"missing_type": MissingType.AWAY}, lambda r: r["type"] == MissingType.AWAY),
    ({"sex": 2}, lambda r: r["sex"] == 2),
    ({"ages": (14, 15)}, lambda r: 14 <= age_at(r) <= 15),
    ({"ages": (17, 17)}, lambda r: age_at(r) == 17),
    ({"hours": (22, 6)}, lambda r: local_hour(r) >= 22 or local_hour(r) < 6),
    ({"hours": (6, 18)}, lambda r: 6 <= local_hour(r) < 18),
    ({"weekdays": frozenset({5, 6})}, lambda r: r["started"].astimezone(LONDON).isoweekday() in (5, 6)),
    ({"concerns": frozenset({"11A"})}, lambda r: "11A" in r["concerns"]),
    ({"concerns": frozenset({"13A", "99"})}, lambda r: "13A" in r["concerns"]),
    ({"kinds": frozenset({ContextKind.TAKEAWAY})}, lambda r: ContextKind.TAKEAWAY in r["kinds"]),
    ({"sex": 1, "hours": (22, 6)}, lambda r: r["sex"] == 1 and (local_hour(r) >= 22 or local_hour(r) < 6)),
]


def filter_id(selection: dict) -> str:
    """The same name in every process (a set's order changes with the process's hash seed), as the
    parallel workers must agree on the tests' names."""
    return ",".join(f"{key}={sorted(value, key=str) if isinstance(value, frozenset) else value}"
                    for key, value in selection.items())


@pytest.mark.parametrize(("selection", "keep"), FILTERS, ids=[filter_id(f[0]) for f in FILTERS])
def test_each_filter_matches_an_independent_count(session, episodes, selection, keep):
    kept = [row for row in episodes if keep(row)]
    assert 0 < len(kept) < len(episodes), "the fixture must exercise this filter both ways"
    assert run(session, 8, **selection) == expected_counts(kept, 8)


@pytest.fixture
def linked(session, organisations):
    """Two open contexts a few metres apart and one elsewhere, a closed one beside the first two,
    and four young people linked to them in different ways."""
    organisation = next(iter(organisations.values()))
    here, there = LatLng(51.4901, -0.1901), LatLng(51.5101, -0.1401)
    beside = LatLng(51.49012, -0.19012)

    def context(name, point, status="open"):
        return Context(name=name, kind=ContextKind.TAKEAWAY if point == here else ContextKind.PARK,
                       organisation_id=organisation.id, geometry=point.wkt, cells=cells_of(point), status=status)

    contexts = {"a": context("L takeaway", here), "b": context("L park", beside), "c": context("L far park", there),
                "d": context("L closed", beside, status="closed")}
    people = [YoungPerson(reference=f"YP-L{n}", birth_month=date(2010, 1, 1), sex=1 + n % 2,
                          responsible_authority_code="E09000020", organisation_id=organisation.id) for n in range(4)]
    session.add_all([*contexts.values(), *people])
    session.flush()

    def link(person, key, concerns=(), first=date(2025, 1, 1), last=None):
        session.add(ContextLink(young_person_id=person.id, context_id=contexts[key].id, role=LinkRole.FREQUENTS,
                                concern_codes=list(concerns), first_seen_on=first, last_seen_on=last,
                                recorded_by_id=organisation.id, reliability=Reliability.CORROBORATED))

    link(people[0], "a")
    link(people[0], "b")  # the same person at two contexts of one hexagon is one person
    link(people[1], "a", concerns=["11A"])
    link(people[2], "c", first=date(2024, 1, 1), last=date(2024, 6, 1))
    link(people[3], "d")  # a closed context counts nobody
    session.flush()
    return {"here": cells_of(here)[MAP_RESOLUTIONS.index(9)], "there": cells_of(there)[MAP_RESOLUTIONS.index(9)]}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({}, {"here": 2, "there": 1}),
        ({"started_from": london_midnight(date(2025, 1, 1))}, {"here": 2}),
        ({"started_before": london_midnight(date(2024, 12, 31))}, {"there": 1}),
        ({"concerns": frozenset({"11A"})}, {"here": 1}),
        ({"kinds": frozenset({ContextKind.PARK})}, {"here": 1, "there": 1}),
        ({"sex": 2}, {"here": 1}),
    ],
)
def test_linked_young_people_are_distinct_people_per_hexagon(session, linked, selection, expected):
    got = dict(session.execute(linked_people_by_cell(9, EpisodeSelection(**selection))).all())
    assert got == {linked[place]: count for place, count in expected.items()}


def test_context_counts_keep_open_contexts_of_the_kinds(session, linked):
    assert dict(session.execute(context_counts_by_cell(9)).all()) == {linked["here"]: 2, linked["there"]: 1}
    parks = dict(session.execute(context_counts_by_cell(9, kinds=frozenset({ContextKind.PARK}))).all())
    assert parks == {linked["here"]: 1, linked["there"]: 1}


@pytest.mark.parametrize("latitude", [49.9, 51.5, 60.8])  # the Scillies, London, Shetland
@pytest.mark.parametrize("bearing", [0, 45, 90, 180, 270])
@pytest.mark.parametrize("metres", [100, 1000])
def test_the_box_reaches_every_point_within_the_distance(session, latitude, bearing, metres):
    """A point just inside the distance in any direction passes the index's box and the measure;
    one just outside fails the measure."""
    geod = Geod(ellps="WGS84")
    here = func.ST_GeomFromText(LatLng(latitude, -1.5).wkt, 4326)
    for factor, expected in ((0.995, True), (1.005, False)):
        lng, lat, _ = geod.fwd(-1.5, latitude, bearing, metres * factor)
        there = func.ST_GeomFromText(LatLng(lat, lng).wkt, 4326)
        assert session.scalar(select(within_metres(there, here, metres))) is expected, (factor, lat, lng)
