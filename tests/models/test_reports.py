"""Report queries at their edges: a quarter is whole London days."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from models.codes import OrganisationKind, Role
from models.contexts import new_context
from models.reports import Period, notes_by_agency
from models.safeguarding import CaseNote


@pytest.mark.parametrize(("written_at", "counted"), [
    (datetime(2026, 9, 30, 22, 59, tzinfo=timezone.utc), False),  # 23:59 on 30 September in London (BST)
    (datetime(2026, 9, 30, 23, 0, tzinfo=timezone.utc), True),  # midnight, 1 October in London
    (datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc), True),  # GMT: still 31 December
    (datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc), False),
])
def test_a_note_counts_in_the_quarter_of_its_london_day(session, users, organisations, written_at, counted):
    worker = users[Role.SOCIAL_WORKER]
    park = new_context(session, name="Willow Gardens", kind="park", location="SW5 0AA",
                       organisation_id=worker.organisation_id, user=worker)
    other = new_context(session, name="Elsewhere Park", kind="park", location="SW5 0AA",
                        organisation_id=organisations[OrganisationKind.POLICE].id, user=worker)
    session.flush()
    for context in (park, other):  # the other organisation's context is never in this report
        session.add(CaseNote(context_id=context.id, organisation_id=organisations[OrganisationKind.SCHOOL].id,
                             author_id=worker.id, text="Seen at the gates", written_at=written_at))
    session.commit()
    found = session.execute(notes_by_agency(worker.organisation_id, Period.quarter("2026-Q4"))).all()
    assert [(row.name, row.notes, row.contexts) for row in found] == ([("Test school", 1, 1)] if counted else [])
    assert len(session.scalars(select(CaseNote)).all()) == 2
