"""The database itself refuses impossible records, whatever the application does."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import ContextKind, LinkRole, MissingType, Reliability
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson

T0 = datetime(2026, 3, 6, 21, 0, tzinfo=timezone.utc)


@pytest.fixture
def young_person(session, organisations):
    local_authority = next(iter(organisations.values()))
    person = YoungPerson(
        reference="YP-TEST01", birth_month=date(2011, 5, 1), sex=2,
        responsible_authority_code="E09000020", organisation_id=local_authority.id,
    )
    session.add(person)
    session.flush()
    return person


def episode(person, start, end, **extra):
    return MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING, started_at=start,
                          ended_at=end, **extra)


def assert_refused(session, record, constraint: str):
    session.add(record)
    with pytest.raises(IntegrityError, match=constraint):
        session.flush()
    session.rollback()


def test_overlapping_missing_episodes_are_refused(session, young_person):
    session.add(episode(young_person, T0, T0 + timedelta(hours=5)))
    session.flush()
    assert_refused(session, episode(young_person, T0 + timedelta(hours=4), T0 + timedelta(hours=8)), "no_overlap")


def test_an_open_episode_overlaps_everything_after_it(session, young_person):
    session.add(episode(young_person, T0, None))
    session.flush()
    assert_refused(session, episode(young_person, T0 + timedelta(days=30), T0 + timedelta(days=31)), "no_overlap")


def test_back_to_back_episodes_are_allowed(session, young_person):
    session.add_all([episode(young_person, T0, T0 + timedelta(hours=5)),
                     episode(young_person, T0 + timedelta(hours=5), T0 + timedelta(hours=9))])
    session.flush()
    assert session.scalar(select(func.count()).select_from(MissingEpisode)) == 2


def test_episode_cannot_end_before_it_starts(session, young_person):
    assert_refused(session, episode(young_person, T0, T0 - timedelta(minutes=1)), "end_after_start")


def test_interview_cannot_be_accepted_unless_offered(session, young_person):
    record = episode(young_person, T0, T0 + timedelta(hours=2), return_interview_offered=False,
                     return_interview_accepted=True)
    assert_refused(session, record, "interview_offered")


@pytest.mark.parametrize(
    ("kind", "geometry", "allowed"),
    [
        (ContextKind.PARK, "SRID=4326;POINT(-0.19 51.49)", True),
        (ContextKind.PARK, "SRID=4326;POLYGON((-0.19 51.49,-0.18 51.49,-0.18 51.50,-0.19 51.49))", True),
        (ContextKind.PARK, None, False),
        (ContextKind.ONLINE_SPACE, None, True),
        (ContextKind.PEER_GROUP, "SRID=4326;POINT(-0.19 51.49)", False),
        (ContextKind.TAKEAWAY, "SRID=4326;LINESTRING(-0.19 51.49,-0.18 51.49)", False),
    ],
)
def test_context_geometry_depends_on_kind(session, organisations, kind, geometry, allowed):
    organisation = next(iter(organisations.values()))
    context = Context(name="A place", kind=kind, geometry=geometry, organisation_id=organisation.id)
    if allowed:
        session.add(context)
        session.flush()
        assert context.id
    else:
        assert_refused(session, context, "geometry_by_kind|point_or_area")


def test_unknown_concern_code_is_refused(session, organisations, young_person):
    organisation = next(iter(organisations.values()))
    context = Context(name="Chat", kind=ContextKind.ONLINE_SPACE, organisation_id=organisation.id)
    session.add(context)
    session.flush()
    link = ContextLink(young_person_id=young_person.id, context_id=context.id, role=LinkRole.MEMBER,
                       concern_codes=["11A", "99Z"], first_seen_on=date(2026, 1, 1),
                       recorded_by_id=organisation.id, reliability=Reliability.CORROBORATED)
    assert_refused(session, link, "concern_codes")


def test_unknown_place_code_is_refused(session, young_person):
    placement = Placement(young_person_id=young_person.id, place_code="Q9", started_on=date(2026, 1, 1))
    assert_refused(session, placement, "place_code")


def test_cells_must_cover_every_map_resolution(session, young_person):
    point = LatLng(51.49, -0.19)
    record = episode(young_person, T0, T0 + timedelta(hours=1), last_seen_location=point.wkt,
                     last_seen_cells=cells_of(point)[:3])
    assert_refused(session, record, "last_seen_cells_length")
