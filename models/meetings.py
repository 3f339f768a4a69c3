"""Level 1: a young person's assessments and child protection conferences, recording whether
extra-familial harm was a factor and which of her contexts were its source. Checked whole before
anything is written; never changed afterwards. The caller commits."""

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.codes import ChildMeetingKind
from models.people import User
from models.queries import her_context_ids, hers
from models.safeguarding import ChildMeeting, YoungPerson
from models.validation import FieldError, InvalidInput, choice, concern_codes, typed_date


def add_meeting(session: Session, person: YoungPerson, user: User, *, kind: str | None, held_on: str | None,
                extra_familial_harm: str | None, sources: list[str] | None, concerns: list[str] | None,
                today: date | None = None) -> ChildMeeting:
    """Record an assessment or conference; raises InvalidInput naming every problem."""
    today = today or date.today()
    errors: list[FieldError] = []
    meeting_kind = choice(errors, "kind", kind, ChildMeetingKind)
    held = typed_date(errors, "held_on", held_on, required="is required (the date it was held)", today=today)
    if extra_familial_harm not in ("yes", "no"):
        errors.append(FieldError("extra_familial_harm", extra_familial_harm or "", "is not yes or no",
                                 plain="Choose yes or no: was extra-familial harm a factor?"))
    harm = extra_familial_harm == "yes"
    linked = set(session.scalars(her_context_ids(person)))
    chosen = [source.strip() for source in sources or [] if source.strip()]
    source_ids = [int(source) for source in chosen if source.isascii() and source.isdigit() and int(source) in linked]
    if len(source_ids) != len(chosen):
        errors.append(FieldError("sources", ", ".join(chosen)[:40], f"are not all contexts {person.reference} is linked to"))
    elif source_ids and not harm:
        errors.append(FieldError("sources", ", ".join(chosen)[:40], "are given, but extra-familial harm is not a factor"))
    codes = concern_codes(errors, concerns)
    if errors:
        raise InvalidInput(errors)
    meeting = ChildMeeting(young_person=person, kind=meeting_kind, held_on=held, extra_familial_harm=harm,
                           source_context_ids=sorted(set(source_ids)), concern_codes=codes,
                           recorded_by_id=user.id)
    session.add(meeting)
    return meeting


def meetings_of(person: YoungPerson) -> Select:
    return (select(ChildMeeting).where(hers(ChildMeeting, person))
            .order_by(ChildMeeting.held_on.desc(), ChildMeeting.id.desc()))
