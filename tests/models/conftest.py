"""Fixtures the model tests share: a social worker of the test authority and one of its parks."""

import pytest

from models.codes import Role
from models.contexts import new_context


@pytest.fixture
def worker(users):
    return users[Role.SOCIAL_WORKER]


@pytest.fixture
def park(session, worker):
    context = new_context(session, name="Willow Gardens", kind="park", location="SW5 0AA",
                          organisation_id=worker.organisation_id, user=worker)
    session.commit()
    return context
