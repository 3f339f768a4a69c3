"""Children's assessments and conferences: whether extra-familial harm was a factor and which of
her contexts were its source, checked whole, never changed, counted by the quarter's report."""

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from models.codes import ChildMeetingKind, LinkRole, Reliability
from models.contexts import new_context
from models.meetings import add_meeting
from models.reports import Period, meeting_sources_by_kind, meetings_considering_harm
from models.safeguarding import ChildMeeting, ContextLink, YoungPerson
from models.validation import InvalidInput

TODAY = date(2026, 11, 30)


@pytest.fixture
def girl(session, worker):
    """A girl linked to a takeaway; a park she is not linked to."""
    person = YoungPerson(reference="YP-MEET01", birth_month=date(2010, 2, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=worker.organisation_id)
    session.add(person)
    takeaway = new_context(session, name="Chicken Palace", kind="takeaway", location="SW5 0AA",
                           organisation_id=worker.organisation_id, user=worker)
    park = new_context(session, name="Willow Gardens", kind="park", location="SW5 0AB",
                       organisation_id=worker.organisation_id, user=worker)
    session.flush()
    session.add(ContextLink(young_person_id=person.id, context_id=takeaway.id, role=LinkRole.HARMED_THERE,
                            concern_codes=["11A"], first_seen_on=date(2026, 9, 1),
                            recorded_by_id=worker.organisation_id, reliability=Reliability.CORROBORATED))
    session.commit()
    return person, takeaway, park


def meet(session, girl, worker, **changes):
    person, takeaway, _ = girl
    fields = {"kind": "initial_conference", "held_on": "2026-10-12", "extra_familial_harm": "yes",
              "sources": [str(takeaway.id)], "concerns": ["11A"], **changes}
    meeting = add_meeting(session, person, worker, today=TODAY, **fields)
    session.commit()
    return meeting


def test_a_conference_records_harm_and_its_source(session, girl, worker):
    meeting = meet(session, girl, worker)
    assert meeting.extra_familial_harm and meeting.source_context_ids == [girl[1].id]


def test_every_problem_is_named_at_once(session, girl, worker):
    _, _, park = girl
    with pytest.raises(InvalidInput) as raised:
        meet(session, girl, worker, kind="chat", held_on="2026-12-25", extra_familial_harm="maybe",
             sources=[str(park.id)], concerns=["99Z"])
    assert {error.field for error in raised.value.errors} == {"kind", "held_on", "extra_familial_harm", "sources",
                                                              "concerns"}
    session.rollback()
    assert session.scalars(select(ChildMeeting)).all() == []


@pytest.mark.parametrize(("held_on", "harm", "messages"), [
    ("", None, {"held_on: '' is required (the date it was held)", "extra_familial_harm: '' is not yes or no"}),
    ("12/10/2026", "", {"held_on: '12/10/2026' is not a date written as YYYY-MM-DD",
                        "extra_familial_harm: '' is not yes or no"}),
])
def test_an_unanswered_question_is_named_as_empty(session, girl, worker, held_on, harm, messages):
    """A radio button left unchosen arrives as nothing: the message says so, not "None"."""
    with pytest.raises(InvalidInput) as raised:
        meet(session, girl, worker, held_on=held_on, extra_familial_harm=harm, sources=[])
    assert {error.message for error in raised.value.errors} == messages


def test_sources_only_when_harm_was_a_factor(session, girl, worker):
    with pytest.raises(InvalidInput, match="sources: .* are given, but extra-familial harm is not a factor"):
        meet(session, girl, worker, extra_familial_harm="no")
    assert meet(session, girl, worker, extra_familial_harm="no", sources=[]).source_context_ids == []


def test_a_record_is_never_changed(session, girl, worker):
    meet(session, girl, worker)
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(update(ChildMeeting).values(extra_familial_harm=False))


def test_the_quarter_counts_conferences_that_considered_harm_and_their_sources(session, girl, worker):
    meet(session, girl, worker)
    meet(session, girl, worker, kind="review_conference", held_on="2026-11-20", extra_familial_harm="no", sources=[])
    meet(session, girl, worker, kind="assessment", held_on="2026-09-20")  # the quarter before
    quarter = Period.quarter("2026-Q4")
    counted = {row.kind: (row.meetings, row.extra_familial)
               for row in session.execute(meetings_considering_harm(worker.organisation_id, quarter))}
    assert counted == {ChildMeetingKind.INITIAL_CONFERENCE: (1, 1), ChildMeetingKind.REVIEW_CONFERENCE: (1, 0)}
    named = {row.kind: (row.times_named, row.contexts)
             for row in session.execute(meeting_sources_by_kind(worker.organisation_id, quarter))}
    assert named == {"takeaway": (1, 1)}
