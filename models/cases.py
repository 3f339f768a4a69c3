"""Level 2 work on a context: its case moves from referral to assessment, plan, reviews and
closure, each step a dated record that is never changed, and agencies add notes against it.
Every record is checked whole before anything is written; the caller commits.

A case is open from a referral until a closure. Its next review is the latest record's; a case
whose next review has passed is overdue.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from models.codes import CaseStage, ContextStatus, Role
from models.people import Organisation, User
from models.safeguarding import CaseNote, CaseRecord, Context
from models.validation import FieldError, InvalidInput, choice, record_id, typed_date

DECISION_MAX = 4000
NOTE_MAX = 4000
LONGEST_BEFORE_REVIEW = timedelta(days=366)
# What may follow each step; a case starts with a referral, and a closed one only starts again so.
NEXT_STAGES = {
    None: (CaseStage.REFERRAL,),
    CaseStage.REFERRAL: (CaseStage.ASSESSMENT, CaseStage.CLOSURE),
    CaseStage.ASSESSMENT: (CaseStage.PLAN, CaseStage.CLOSURE),
    CaseStage.PLAN: (CaseStage.REVIEW, CaseStage.CLOSURE),
    CaseStage.REVIEW: (CaseStage.REVIEW, CaseStage.PLAN, CaseStage.CLOSURE),
    CaseStage.CLOSURE: (CaseStage.REFERRAL,),
}
CASE_OWNER_ROLES = (Role.ADMINISTRATOR, Role.SOCIAL_WORKER, Role.PANEL_MEMBER, Role.PLACEMENT_COMMISSIONER)


@dataclass(frozen=True)
class CaseState:
    """Where a context's case stands, from its latest record."""

    latest: CaseRecord | None

    @property
    def stage(self) -> CaseStage | None:
        return self.latest.stage if self.latest else None

    @property
    def open(self) -> bool:
        return self.stage not in (None, CaseStage.CLOSURE)

    def overdue(self, today: date) -> bool:
        return self.open and self.latest.next_review_on < today

    @property
    def next_stages(self) -> tuple[CaseStage, ...]:
        return NEXT_STAGES[self.stage]


LATEST_FIRST = (CaseRecord.held_on.desc(), CaseRecord.id.desc())


def case_records(*context_ids: int) -> Select:
    """The case records of a context (or of the records merged into it), latest first."""
    return select(CaseRecord).where(CaseRecord.context_id.in_(context_ids)).order_by(*LATEST_FIRST)


def latest_per_context(query: Select) -> Select:
    """Of the records ``query`` selects, each context's latest."""
    return query.order_by(CaseRecord.context_id, *LATEST_FIRST).ext(distinct_on(CaseRecord.context_id))


def case_notes(*context_ids: int) -> Select:
    """The notes on a context and on the records merged into it, latest first."""
    return select(CaseNote).where(CaseNote.context_id.in_(context_ids)).order_by(CaseNote.written_at.desc())


def case_state(session: Session, context_id: int) -> CaseState:
    return CaseState(session.scalars(case_records(context_id).limit(1)).first())


def possible_owners(organisation_id: int) -> Select:
    return (select(User).where(User.organisation_id == organisation_id, User.active.is_(True),
                               User.role.in_(CASE_OWNER_ROLES)).order_by(User.display_name))


def add_case_record(session: Session, context: Context, user: User, *, stage: str | None, held_on: str | None,
                    owner: str | None, agencies: list[str] | None, decision: str | None,
                    next_review: str | None, today: date | None = None) -> CaseRecord:
    """Add the next step of the context's case; raises InvalidInput naming every problem."""
    today = today or date.today()
    state = case_state(session, context.id)
    errors: list[FieldError] = []
    case_stage = choice(errors, "stage", stage, CaseStage)
    if case_stage is not None and case_stage not in state.next_stages:
        after = f"after a {state.stage.value}" if state.stage else "as the first step"
        errors.append(FieldError("stage", case_stage.value, f"cannot come {after}: it may be "
                                 + " or ".join(s.value for s in state.next_stages)))
    if case_stage == CaseStage.REFERRAL and context.status == ContextStatus.CLOSED:
        errors.append(FieldError("stage", case_stage.value, "cannot start a case on a closed context: reopen it first"))
    held = typed_date(errors, "held_on", held_on, required="is required (the date of the meeting or decision)",
                      today=today)
    if held is not None and state.latest is not None and held < state.latest.held_on:
        errors.append(FieldError("held_on", held.isoformat(),
                                 f"is before the case's latest record ({state.latest.held_on.isoformat()})"))
    owner_id = record_id(owner)
    owner_user = session.scalar(possible_owners(context.organisation_id).where(User.id == owner_id)) if owner_id else None
    if owner_user is None:
        errors.append(FieldError("owner", (owner or "")[:20], "is not a practitioner of your organisation"))
    agency_ids = [record_id(agency) for agency in agencies or []]
    known = set(session.scalars(select(Organisation.id).where(Organisation.id.in_([a for a in agency_ids if a]))))
    unknown = [str(agency) for agency, number in zip(agencies or [], agency_ids) if number not in known]
    if unknown:
        errors.append(FieldError("agencies", ", ".join(unknown)[:40], "are not organisations in this system"))
    decision = (decision or "").strip()
    if not decision:
        errors.append(FieldError("decision", decision, "is required: what was decided", plain="Say what was decided"))
    elif len(decision) > DECISION_MAX:
        errors.append(FieldError("decision", decision[:40] + "...", f"is longer than {DECISION_MAX} characters"))
    review = typed_date(errors, "next_review", next_review)
    if case_stage == CaseStage.CLOSURE and review is not None:
        errors.append(FieldError("next_review", review.isoformat(), "must be empty: a closed case has no review"))
    elif case_stage not in (None, CaseStage.CLOSURE) and review is None and not any(
            error.field == "next_review" for error in errors):
        errors.append(FieldError("next_review", next_review or "", "is required: when the case is next looked at",
                                 plain="Enter the date the case is next looked at"))
    elif review is not None and held is not None and not held <= review <= held + LONGEST_BEFORE_REVIEW:
        errors.append(FieldError("next_review", review.isoformat(), "is not between the record's date and a year after it",
                                 plain="The next review must be within a year of the meeting or decision, and not before it"))
    if errors:
        raise InvalidInput(errors)
    record = CaseRecord(context_id=context.id, stage=case_stage, held_on=held, owner_id=owner_user.id,
                        agency_ids=sorted(known), decision=decision, next_review_on=review, recorded_by_id=user.id)
    session.add(record)
    return record


def add_case_note(session: Session, context: Context, user: User, text: str | None) -> CaseNote:
    text = (text or "").strip()
    if not text:
        raise InvalidInput([FieldError("text", text, "is required", plain="Write the note")])
    if len(text) > NOTE_MAX:
        raise InvalidInput([FieldError("text", text[:40] + "...", f"is longer than {NOTE_MAX} characters")])
    note = CaseNote(context_id=context.id, organisation_id=user.organisation_id, author_id=user.id, text=text)
    session.add(note)
    return note


def latest_case_records(organisation_id: int, until: date | None = None):
    """Each of the organisation's contexts' latest case record, as held by the end of ``until`` if
    given (a subquery)."""
    query = select(CaseRecord).join(Context, Context.id == CaseRecord.context_id).where(
        Context.organisation_id == organisation_id)
    if until is not None:
        query = query.where(CaseRecord.held_on <= until)
    return latest_per_context(query).subquery("latest")


def latest_records(context_ids: list[int]) -> Select:
    """The latest case record of each of ``context_ids`` that has a case."""
    return latest_per_context(select(CaseRecord).where(CaseRecord.context_id.in_(context_ids)))


def overdue_reviews(organisation_id: int, today: date) -> Select:
    """Open cases whose next review has passed, longest overdue first: (Context, latest record)."""
    latest = latest_case_records(organisation_id)
    return (select(Context, latest.c.stage, latest.c.next_review_on, latest.c.owner_id)
            .join(latest, latest.c.context_id == Context.id)
            .where(latest.c.stage != CaseStage.CLOSURE.value, latest.c.next_review_on < today)
            .order_by(latest.c.next_review_on, Context.name))


def open_cases_by_stage(organisation_id: int) -> Select:
    latest = latest_case_records(organisation_id)
    return (select(latest.c.stage, func.count().label("cases")).where(latest.c.stage != CaseStage.CLOSURE.value)
            .group_by(latest.c.stage))
