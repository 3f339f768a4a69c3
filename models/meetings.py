"""Level 1: a young person's assessments and child protection conferences, recording whether
extra-familial harm was a factor and which of her contexts were its source. Checked whole before
anything is written; never changed afterwards. The caller commits."""

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.codes import CONCERN_CODES, ChildMeetingKind
from models.people import User
from models.safeguarding import ChildMeeting, ContextLink, YoungPerson
from models.validation import FieldError, InvalidInput


def her_contexts(person_id: int) -> Select:
    """The ids of the contexts she is linked to: the only possible sources of her harm."""
    return select(ContextLink.context_id).where(ContextLink.young_person_id == person_id).distinct()


def add_meeting(session: Session, person: YoungPerson, user: User, *, kind: str | None, held_on: str | None,
                extra_familial_harm: str | None, sources: list[str] | None, concerns: list[str] | None,
                today: date | None = None) -> ChildMeeting:
    """Record an assessment or conference; raises InvalidInput naming every problem."""
    today = today or date.today()
    errors: list[FieldError] = []
    try:
        meeting_kind = ChildMeetingKind(kind)
    except ValueError:
        meeting_kind = None
        errors.append(FieldError("kind", kind, "is not one of: " + ", ".join(k.value for k in ChildMeetingKind)))
    held = None
    text = (held_on or "").strip()
    try:
        held = date.fromisoformat(text)
        if held > today:
            errors.append(FieldError("held_on", text, "is in the future"))
    except ValueError:
        errors.append(FieldError("held_on", text[:40], "is not a date written as YYYY-MM-DD"))
    if extra_familial_harm not in ("yes", "no"):
        errors.append(FieldError("extra_familial_harm", extra_familial_harm, "is not yes or no"))
    harm = extra_familial_harm == "yes"
    linked = set(session.scalars(her_contexts(person.id)))
    chosen = [source.strip() for source in sources or [] if source.strip()]
    source_ids = [int(source) for source in chosen if source.isascii() and source.isdigit() and int(source) in linked]
    if len(source_ids) != len(chosen):
        errors.append(FieldError("sources", ", ".join(chosen)[:40], f"are not all contexts {person.reference} is linked to"))
    elif source_ids and not harm:
        errors.append(FieldError("sources", ", ".join(chosen)[:40], "are given, but extra-familial harm is not a factor"))
    codes = [code.strip().upper() for code in concerns or [] if code.strip()]
    unknown = [code for code in codes if code not in CONCERN_CODES]
    if unknown:
        errors.append(FieldError("concerns", ", ".join(unknown)[:60], "are not Children in Need census concern codes"))
    if errors:
        raise InvalidInput(errors)
    meeting = ChildMeeting(young_person_id=person.id, kind=meeting_kind, held_on=held, extra_familial_harm=harm,
                           source_context_ids=sorted(set(source_ids)), concern_codes=sorted(set(codes), key=list(CONCERN_CODES).index),
                           recorded_by_id=user.id)
    session.add(meeting)
    return meeting


def meetings_of(person_id: int) -> Select:
    return (select(ChildMeeting).where(ChildMeeting.young_person_id == person_id)
            .order_by(ChildMeeting.held_on.desc(), ChildMeeting.id.desc()))
