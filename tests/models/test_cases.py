"""Level 2 context cases: steps in order, every field checked at once, records never changed,
overdue reviews found."""

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from models.cases import add_case_note, add_case_record, case_state, open_cases_by_stage, overdue_reviews
from models.codes import CaseStage, ContextStatus, Role
from models.contexts import new_context, set_status
from models.safeguarding import CaseNote, CaseRecord
from models.validation import InvalidInput

TODAY = date(2026, 11, 30)


def step(session, park, worker, stage: str, held: str, review: str | None = "2027-01-15", **changes):
    fields = {"stage": stage, "held_on": held, "owner": str(worker.id), "agencies": [str(worker.organisation_id)],
              "decision": f"{stage} decided", "next_review": review or "", **changes}
    record = add_case_record(session, park, worker, today=TODAY, **fields)
    session.commit()
    return record


def test_a_case_runs_from_referral_to_closure(session, park, worker):
    assert case_state(session, park.id).stage is None
    step(session, park, worker, "referral", "2026-09-01", "2026-09-15")
    step(session, park, worker, "assessment", "2026-09-14", "2026-10-14")
    step(session, park, worker, "plan", "2026-10-10", "2026-12-10")
    step(session, park, worker, "review", "2026-11-10", "2026-12-10")
    state = case_state(session, park.id)
    assert state.stage == CaseStage.REVIEW and state.open and not state.overdue(TODAY)
    step(session, park, worker, "closure", "2026-11-20", None)
    assert not case_state(session, park.id).open
    step(session, park, worker, "referral", "2026-11-25", "2026-12-01")  # a new case on the same context


@pytest.mark.parametrize(("steps", "stage", "message"), [
    ([], "plan", "stage: 'plan' cannot come as the first step: it may be referral"),
    (["referral"], "review", "stage: 'review' cannot come after a referral: it may be assessment or closure"),
    (["referral"], "referral", "cannot come after a referral"),
])
def test_steps_come_in_order(session, park, worker, steps, stage, message):
    for earlier in steps:
        step(session, park, worker, earlier, "2026-09-01")
    with pytest.raises(InvalidInput, match=message):
        step(session, park, worker, stage, "2026-10-01")


def test_every_problem_is_named_at_once(session, park, worker, users):
    with pytest.raises(InvalidInput) as raised:
        add_case_record(session, park, worker, today=TODAY, stage="referral", held_on="2026-12-25",
                        owner=str(users[Role.POLICE_PARTNER].id), agencies=["99999"], decision=" ",
                        next_review="2026-12-20")
    assert {error.field: error.reason for error in raised.value.errors} == {
        "held_on": "is in the future",
        "owner": "is not a practitioner of your organisation",
        "agencies": "are not organisations in this system",
        "decision": "is required: what was decided",
        "next_review": "is not between the record's date and a year after it",
    }
    session.rollback()
    assert session.scalars(select(CaseRecord)).all() == []


@pytest.mark.parametrize(("stage", "review", "message"), [
    ("referral", "", "next_review: '' is required"),
    ("referral", "2028-01-01", "is not between the record's date and a year after it"),
])
def test_the_next_review(session, park, worker, stage, review, message):
    with pytest.raises(InvalidInput, match=message):
        step(session, park, worker, stage, "2026-09-01", review)


def test_a_closure_has_no_review_and_a_record_cannot_go_back_in_time(session, park, worker):
    step(session, park, worker, "referral", "2026-09-01")
    with pytest.raises(InvalidInput, match="next_review: '2026-12-01' must be empty"):
        step(session, park, worker, "closure", "2026-09-02", "2026-12-01")
    with pytest.raises(InvalidInput, match="held_on: '2026-08-01' is before the case's latest record"):
        step(session, park, worker, "assessment", "2026-08-01")


def test_a_closed_context_takes_no_new_case(session, park, worker):
    set_status(session, park, worker, version=1, status=ContextStatus.CLOSED, note="")
    session.commit()
    with pytest.raises(InvalidInput, match="cannot start a case on a closed context"):
        step(session, park, worker, "referral", "2026-09-01")


def test_records_and_notes_are_never_changed(session, park, worker):
    record = step(session, park, worker, "referral", "2026-09-01")
    add_case_note(session, park, worker, "Police patrols agreed for Friday evenings")
    session.commit()
    for statement in (update(CaseRecord).values(decision="rewritten"), update(CaseNote).values(text="rewritten")):
        with pytest.raises(DBAPIError, match="append-only"):
            with session.begin_nested():
                session.execute(statement)
    assert session.get(CaseRecord, record.id).decision == "referral decided"


def test_overdue_reviews_and_open_cases_by_stage(session, park, worker):
    other = new_context(session, name="Station forecourt", kind="transport_hub", location="SW5 0AB",
                        organisation_id=worker.organisation_id, user=worker)
    closed = new_context(session, name="Old chat room", kind="online_space", location="",
                         organisation_id=worker.organisation_id, user=worker)
    session.commit()
    step(session, park, worker, "referral", "2026-09-01", "2026-10-01")  # overdue since 1 October
    step(session, other, worker, "referral", "2026-11-01", "2026-12-01")  # not yet due
    step(session, closed, worker, "referral", "2026-06-01", "2026-07-01")
    step(session, closed, worker, "closure", "2026-06-20", None)  # closed: never overdue
    overdue = session.execute(overdue_reviews(worker.organisation_id, TODAY)).all()
    assert [(row.Context.name, row.next_review_on) for row in overdue] == [("Willow Gardens", date(2026, 10, 1))]
    assert case_state(session, park.id).overdue(TODAY) and not case_state(session, other.id).overdue(TODAY)
    assert dict(session.execute(open_cases_by_stage(worker.organisation_id)).all()) == {CaseStage.REFERRAL: 2}


def test_a_note_needs_text(session, park, worker):
    with pytest.raises(InvalidInput, match="text: '' is required"):
        add_case_note(session, park, worker, "  ")
