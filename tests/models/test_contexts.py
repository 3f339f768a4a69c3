"""The context register's rules, on a real database: every change validated whole, kept in the
history, refused when made on an older version; deletion hides and restoring brings back; merging
keeps every link, episode and placement."""

import json
from datetime import date, datetime, timezone

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, text, update
from sqlalchemy.orm.exc import StaleDataError

from geo.coords import LatLng
from geo.hexes import cells_of
from models.aggregates import EpisodeDataVersion
from models.codes import ContextChangeAction, ContextKind, ContextStatus, LinkRole, MissingType, Reliability, Role
from models.contexts import (
    StaleChange,
    context_search,
    delete_context,
    edit_context,
    location_text,
    merge_candidates,
    merge_contexts,
    new_context,
    restore_context,
    set_status,
)
from models.safeguarding import Context, ContextChange, ContextLink, MissingEpisode, Placement, YoungPerson
from models.validation import InvalidInput


@pytest.fixture
def park(session, worker):
    context = new_context(session, name="Willow Gardens", kind="park", location="SW5 0AA",
                          organisation_id=worker.organisation_id, address="Old Brompton Road", user=worker)
    session.commit()
    return context


def actions(session, context) -> list[ContextChangeAction]:
    return list(session.scalars(select(ContextChange.action).where(ContextChange.context_id == context.id)
                                .order_by(ContextChange.id)))


def test_a_new_context_starts_its_history(session, park, worker):
    (change,) = session.scalars(select(ContextChange).where(ContextChange.context_id == park.id)).all()
    assert change.action == ContextChangeAction.CREATED and change.username == worker.username
    assert change.changes == {"name": ["", "Willow Gardens"], "kind": ["", "Park or open space"],
                              "location": ["", "SW5 0AA"], "address": ["", "Old Brompton Road"]}
    assert park.version == 1


def test_an_edit_keeps_before_and_after_and_moves_the_version_on(session, park, worker):
    changes = edit_context(session, park, worker, version="1", name="Willow Gardens (north)", kind="park",
                           location="", address="Old Brompton Road")
    session.commit()
    assert changes == {"name": ["Willow Gardens", "Willow Gardens (north)"]}
    assert park.version == 2 and park.postcode == "SW5 0AA"  # an empty location keeps the stored one
    assert actions(session, park) == [ContextChangeAction.CREATED, ContextChangeAction.EDITED]


def test_an_edit_that_changes_nothing_writes_nothing(session, park, worker):
    assert edit_context(session, park, worker, version=1, name=" Willow Gardens ", kind="park",
                        location="sw5 0aa", address="Old Brompton Road") == {}
    session.commit()
    assert park.version == 1 and actions(session, park) == [ContextChangeAction.CREATED]


def test_an_edit_on_an_older_version_is_refused_and_writes_nothing(session, park, worker):
    edit_context(session, park, worker, version=1, name="First edit", kind="park", location="", address="")
    session.commit()
    with pytest.raises(StaleChange, match=rf"changed by {worker.username} at .* \(you saw version 1, it is now 2\)"):
        edit_context(session, park, worker, version=1, name="Second edit", kind="park", location="", address="")
    session.rollback()
    assert session.get(Context, park.id).name == "First edit"
    assert actions(session, park) == [ContextChangeAction.CREATED, ContextChangeAction.EDITED]


def test_two_saves_at_the_same_moment_cannot_both_land(session, park, worker):
    """The database refuses the race the page check cannot see: another transaction saved version 2
    after this one read version 1."""
    session.execute(text("UPDATE contexts SET version = version + 1 WHERE id = :id"), {"id": park.id})
    with pytest.raises(StaleDataError):
        edit_context(session, park, worker, version=1, name="Late edit", kind="park", location="", address="")
        session.flush()


@pytest.mark.parametrize(("version", "problem"), [("", "version"), ("two", "version"), ("-1", "version")])
def test_a_version_must_be_a_number(session, park, worker, version, problem):
    with pytest.raises(InvalidInput, match=problem):
        edit_context(session, park, worker, version=version, name="X", kind="park", location="", address="")


def test_an_edit_shows_every_error_at_once(session, park, worker):
    with pytest.raises(InvalidInput) as raised:
        edit_context(session, park, worker, version=1, name="", kind="castle", location="XX1 1XX", address="")
    assert {error.field for error in raised.value.errors} == {"name", "kind"}


@pytest.mark.parametrize(("kind", "location", "expected"), [
    ("online_space", "", ""),  # a kind without a location drops it
    ("park", "51.4915, -0.1935", "51.491500, -0.193500"),  # a new point
    ("takeaway", "", "SW5 0AA"),  # another kind with a location keeps it
])
def test_an_edit_places_the_context_by_its_kind(session, park, worker, kind, location, expected):
    edit_context(session, park, worker, version=1, name="Willow Gardens", kind=kind, location=location, address="")
    session.commit()
    assert location_text(park) == expected
    assert (park.cells is None) == (expected == "")


def test_a_context_without_a_location_needs_one_for_a_kind_that_has_one(session, worker):
    group = new_context(session, name="The Crew", kind="peer_group", location="", organisation_id=worker.organisation_id,
                        user=worker)
    session.commit()
    with pytest.raises(InvalidInput, match="location: '' is required"):
        edit_context(session, group, worker, version=1, name="The Crew", kind="park", location="", address="")


def test_closing_and_reopening_with_notes(session, park, worker):
    set_status(session, park, worker, version=1, status=ContextStatus.CLOSED, note="Disruption plan complete")
    session.commit()
    with pytest.raises(InvalidInput, match="status: 'closed' is already"):
        set_status(session, park, worker, version=2, status=ContextStatus.CLOSED, note="")
    set_status(session, park, worker, version=2, status=ContextStatus.OPEN, note="")
    session.commit()
    changes = session.scalars(select(ContextChange).where(ContextChange.context_id == park.id)
                              .order_by(ContextChange.id)).all()
    assert [(c.action, c.note) for c in changes[1:]] == [(ContextChangeAction.CLOSED, "Disruption plan complete"),
                                                         (ContextChangeAction.REOPENED, None)]
    assert park.status == ContextStatus.OPEN and park.version == 3


def test_deleting_hides_the_context_until_it_is_restored(session, park, worker, users):
    with pytest.raises(InvalidInput, match="note: '' is required"):
        delete_context(session, park, worker, version=1, note=" ")
    delete_context(session, park, worker, version=1, note="Recorded by mistake")
    session.commit()
    session.expunge_all()
    assert session.get(Context, park.id) is None
    assert park.id not in session.scalars(select(Context.id)).all()
    assert session.scalar(select(func.count()).select_from(Context).where(Context.id == park.id)) == 0
    hidden = session.get(Context, park.id, execution_options={"include_deleted": True})
    restore_context(session, hidden, users[Role.ADMINISTRATOR])
    session.commit()
    assert session.get(Context, park.id) is not None
    assert actions(session, hidden)[-2:] == [ContextChangeAction.DELETED, ContextChangeAction.RESTORED]


@pytest.fixture
def duplicate_with_records(session, park, worker):
    """A second record of the same park, with a link, an episode found there and a placement."""
    duplicate = new_context(session, name="Willow Gdns", kind="park", location="51.4850, -0.1840",
                            organisation_id=worker.organisation_id, user=worker)
    person = YoungPerson(reference="YP-MERGE1", birth_month=date(2010, 3, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=worker.organisation_id)
    session.add(person)
    session.flush()
    session.add_all([
        ContextLink(young_person_id=person.id, context_id=duplicate.id, role=LinkRole.HARMED_THERE,
                    concern_codes=["11A"], first_seen_on=date(2026, 1, 5), recorded_by_id=worker.organisation_id,
                    reliability=Reliability.KNOWN_DIRECTLY),
        ContextLink(young_person_id=person.id, context_id=park.id, role=LinkRole.FREQUENTS, concern_codes=[],
                    first_seen_on=date(2026, 2, 1), recorded_by_id=worker.organisation_id,
                    reliability=Reliability.NOT_CORROBORATED),
        MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING,
                       started_at=datetime(2026, 2, 3, 22, tzinfo=timezone.utc), found_context_id=duplicate.id),
        Placement(young_person_id=person.id, place_code="K2", started_on=date(2026, 1, 1),
                  provider_context_id=duplicate.id),
    ])
    session.commit()
    return duplicate


def test_merging_keeps_every_link_episode_and_placement(session, park, worker, duplicate_with_records):
    duplicate = duplicate_with_records
    moved = merge_contexts(session, park, duplicate, worker, kept_version=1, duplicate_version=1, note="Same park")
    session.commit()
    assert moved == 3
    assert {link.role for link in session.scalars(select(ContextLink).where(ContextLink.context_id == park.id))} == {
        LinkRole.HARMED_THERE, LinkRole.FREQUENTS}
    assert session.scalar(select(MissingEpisode.found_context_id)) == park.id
    assert session.scalar(select(Placement.provider_context_id)) == park.id
    gone = session.get(Context, duplicate.id, execution_options={"include_deleted": True})
    assert gone.merged_into_id == park.id and gone.deleted_at is not None
    assert actions(session, park)[-1] == ContextChangeAction.MERGED_IN
    assert actions(session, gone)[-1] == ContextChangeAction.MERGED_AWAY
    with pytest.raises(InvalidInput, match="was merged into"):
        restore_context(session, gone, worker)


@pytest.mark.parametrize(("change", "problem"), [
    ("same", "is the record being kept"),
    ("kind", "not a park or open space: edit one first"),
])
def test_a_merge_that_cannot_be_is_refused_and_moves_nothing(session, park, worker, duplicate_with_records,
                                                             change, problem):
    duplicate = park if change == "same" else duplicate_with_records
    if change == "kind":
        edit_context(session, duplicate, worker, version=1, name=duplicate.name, kind="takeaway", location="",
                     address="")
        session.commit()
    with pytest.raises(InvalidInput, match=problem):
        merge_contexts(session, park, duplicate, worker, kept_version=1, duplicate_version=duplicate.version, note="")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ContextLink).where(ContextLink.context_id == park.id)) == 1


def test_a_merge_on_an_older_version_of_either_record_is_refused(session, park, worker, duplicate_with_records):
    with pytest.raises(StaleChange):
        merge_contexts(session, park, duplicate_with_records, worker, kept_version=1, duplicate_version=0, note="")


def test_merge_candidates_are_the_same_kind_nearby(session, park, worker, duplicate_with_records):
    far = new_context(session, name="Willow Park", kind="park", location="E1 6AN", organisation_id=worker.organisation_id,
                      user=worker)
    session.commit()
    found = session.scalars(merge_candidates(park)).all()
    assert duplicate_with_records in found and far not in found and park not in found


@pytest.mark.parametrize(("arguments", "expected"), [
    ({"text": "willow"}, {"Willow Gardens", "Willow Gdns"}),
    ({"text": "100%"}, {"100% Chicken"}),  # a wildcard typed is a character searched for
    ({"text": "sw5 0a"}, {"Willow Gardens", "100% Chicken"}),
    ({"kinds": frozenset({ContextKind.TAKEAWAY})}, {"100% Chicken"}),
    ({"status": ContextStatus.CLOSED}, {"Old Chat Room"}),
    ({"near": LatLng(51.4850, -0.1838), "metres": 300}, {"Willow Gardens", "Willow Gdns", "100% Chicken"}),
    ({"near": LatLng(51.4905, -0.1894), "metres": 300}, set()),  # SW5 0AB, 770 m away
])
def test_search(session, park, worker, duplicate_with_records, arguments, expected):
    new_context(session, name="100% Chicken", kind="takeaway", location="SW5 0AA",
                organisation_id=worker.organisation_id, user=worker)
    chat = new_context(session, name="Old Chat Room", kind="online_space", location="",
                       organisation_id=worker.organisation_id, user=worker)
    session.flush()
    set_status(session, chat, worker, version=1, status=ContextStatus.CLOSED, note="")
    session.commit()
    found = {context.name for context in session.scalars(context_search(worker.organisation_id, **arguments))}
    assert found == expected


def test_a_drawn_area_is_described_not_turned_into_a_point(session, worker):
    area = Context(name="Estate", kind=ContextKind.HOUSING_ESTATE, organisation_id=worker.organisation_id,
                   geometry="SRID=4326;POLYGON((-0.19 51.49, -0.18 51.49, -0.18 51.495, -0.19 51.49))",
                   cells=None)
    session.add(area)
    session.commit()
    session.refresh(area)
    assert location_text(area) == "an area"
    edit_context(session, area, worker, version=1, name="Estate (east)", kind="housing_estate", location="",
                 address="")
    session.commit()
    assert to_shape(area.geometry).geom_type == "Polygon"


def square(lng=-0.19, lat=51.49, size=0.001) -> str:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_an_area_drawn_on_the_map_is_stored_with_the_hexagons_of_a_point_inside_it(session, worker):
    estate = new_context(session, name="Elm Court Estate", kind="housing_estate", location="", area=square(),
                         organisation_id=worker.organisation_id, user=worker)
    session.commit()
    shape = to_shape(estate.geometry)
    assert shape.geom_type == "Polygon" and estate.postcode is None and location_text(estate) == "an area"
    assert estate.cells == cells_of(LatLng(51.4905, -0.1895))
    (created,) = session.scalars(select(ContextChange.changes).where(ContextChange.context_id == estate.id)).all()
    assert created["location"] == ["", "an area of 7,725 m² at 51.49050, -0.18950"]


def test_redrawing_an_area_is_a_change_in_the_history(session, worker):
    estate = new_context(session, name="Elm Court Estate", kind="housing_estate", location="", area=square(),
                         organisation_id=worker.organisation_id, user=worker)
    session.commit()
    changes = edit_context(session, estate, worker, version=1, name="Elm Court Estate", kind="housing_estate",
                           location="", address="", area=square(size=0.002))
    session.commit()
    assert changes == {"location": ["an area of 7,725 m² at 51.49050, -0.18950",
                                    "an area of 30,898 m² at 51.49100, -0.18900"]}
    changes = edit_context(session, estate, worker, version=2, name="Elm Court Estate", kind="housing_estate",
                           location="SW5 0AA", address="")
    session.commit()
    assert changes["location"][1] == "SW5 0AA" and to_shape(estate.geometry).geom_type == "Point"


@pytest.mark.parametrize(("kind", "location", "area", "problem"), [
    ("park", "SW5 0AA", square(), "area: '(drawn)' and the location 'SW5 0AA' were both given: keep one"),
    ("online_space", "", square(), "area: '(drawn)' must be empty: online spaces and peer groups have no location"),
    ("park", "", '{"type": "Point", "coordinates": [-0.19, 51.49]}', "is a Point, not an area"),
    ("park", "", square(size=0.5), "an area must cover 50 m² to 25 km²"),
    ("park", "", "not json", "area: 'not json' is not GeoJSON"),
])
def test_a_drawn_area_that_cannot_be_stored_is_refused_with_the_other_fields(session, worker, kind, location, area,
                                                                             problem):
    with pytest.raises(InvalidInput) as refused:
        new_context(session, name="", kind=kind, location=location, area=area,
                    organisation_id=worker.organisation_id, user=worker)
    assert problem in str(refused.value) and "name: '' is required" in str(refused.value)
    assert session.scalar(select(func.count()).select_from(Context)) == 0


def contexts_token(session):
    return session.scalar(select(EpisodeDataVersion.token))


@pytest.mark.parametrize("write", ["new", "changed", "statement", "deleted"])
def test_every_session_write_to_contexts_renews_their_data_version(session, park, worker, write):
    """What keeps results computed from contexts (webapp.data_cache) current, since contexts have
    no trigger of their own (a reference table on Citus: models.distribution)."""
    chat = Context(name="Token chat", kind=ContextKind.ONLINE_SPACE, organisation_id=worker.organisation_id)
    if write == "deleted":  # one with no history: a context with some is only ever marked deleted
        session.add(chat)
        session.flush()
    before = contexts_token(session)
    if write == "new":
        session.add(chat)
    elif write == "changed":
        park.name = "Willow Gardens North"
    elif write == "statement":
        session.execute(update(Context).where(Context.id == park.id).values(status=ContextStatus.CLOSED)
                        .execution_options(synchronize_session=False))
    else:
        session.delete(chat)
    session.flush()
    assert contexts_token(session) != before


def test_reading_contexts_keeps_their_data_version(session, park):
    before = contexts_token(session)
    session.scalars(select(Context)).all()
    session.execute(update(ContextLink).where(ContextLink.context_id == park.id).values(concern_codes=["11A"])
                    .execution_options(upkeep_by_caller=True))
    session.flush()
    assert contexts_token(session) == before
