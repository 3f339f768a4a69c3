"""Fixtures shared by the web tests: a signed-in client and a month of missing episodes."""

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import MissingType, OrganisationKind
from models.people import OrganisationSharing
from models.safeguarding import MissingEpisode, YoungPerson


@pytest.fixture
def signed_in(client, auth):
    auth.sign_in()
    return client


@pytest.fixture
def shared_with_partners(session, organisations):
    """The authority shares with every partner, as the demo's does: a partner's map queries name
    only the organisations it may read (models.queries.EpisodeSelection.organisations)."""
    authority = organisations[OrganisationKind.LOCAL_AUTHORITY]
    session.add_all(OrganisationSharing(authority_id=authority.id, partner_id=partner.id)
                    for partner in organisations.values() if partner is not authority)
    session.commit()


@pytest.fixture
def episodes(session, organisations):
    """40 nightly episodes of one child around Earl's Court from 1 January 2026: (start, point) pairs."""
    organisation = next(iter(organisations.values()))
    person = YoungPerson(reference="YP-API001", birth_month=date(2011, 1, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.flush()
    rng = random.Random(5)
    points = []
    for day in range(40):
        point = LatLng(51.49 + rng.uniform(-0.01, 0.01), -0.19 + rng.uniform(-0.01, 0.01))
        started = datetime(2026, 1, 1, 22, tzinfo=timezone.utc) + timedelta(days=day)
        session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING,
                                   started_at=started, ended_at=started + timedelta(hours=4),
                                   last_seen_location=point.wkt, last_seen_cells=cells_of(point)))
        points.append((started, point))
    session.commit()
    return points
