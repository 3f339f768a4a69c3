"""Links between young people and contexts: recorded, changed, removed and restored, each change
validated as a whole, refused on an older version, and kept in the context's history with the
young person's reference and every field before and after. The caller commits.

A removed link is hidden from every ORM query (the maps' concern and kind filters, peers, the
placement check) unless the query asks with the execution option ``include_removed``.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from models.base import utcnow
from models.codes import ContextChangeAction, LinkRole, Reliability
from models.contexts import StaleChange, check_version, note_checked, record_change
from models.people import Organisation, User
from models.queries import same_child
from models.safeguarding import Context, ContextLink, YoungPerson
from models.validation import FieldError, InvalidInput, choice, concern_codes, record_id, typed_date

LINK_ROLE_LABELS = {
    LinkRole.HARMED_THERE: "Harmed there",
    LinkRole.AT_RISK_THERE: "At risk there",
    LinkRole.FREQUENTS: "Spends time there",
    LinkRole.FOUND_THERE: "Found there while missing",
    LinkRole.LIVES_OR_PLACED_THERE: "Lives or is placed there",
    LinkRole.ATTENDS: "Attends (a school or college)",
    LinkRole.MEMBER: "Member (of a peer group or online space)",
}
RELIABILITY_LABELS = {
    Reliability.KNOWN_DIRECTLY: "Known directly",
    Reliability.CORROBORATED: "Corroborated",
    Reliability.NOT_CORROBORATED: "Not corroborated",
    Reliability.SUSPECTED_FALSE: "Suspected false",
}


class StaleLink(StaleChange):
    what = "link"

    @staticmethod
    def latest_change(record: ContextLink):
        return next((change for change in record.context.changes if change.link_id == record.id), None)


@dataclass(frozen=True)
class LinkFields:
    young_person: YoungPerson
    role: LinkRole
    concern_codes: list[str]
    first_seen_on: date
    last_seen_on: date | None
    recorded_by: Organisation
    reliability: Reliability


def checked_link(session: Session, context: Context, *, reference: str | None, role: str | None,
                 concerns: list[str] | None, first_seen: str | None, last_seen: str | None,
                 recorded_by: str | int | None, reliability: str | None) -> LinkFields:
    """Every field checked at once; raises InvalidInput naming each problem."""
    errors: list[FieldError] = []
    reference = (reference or "").strip().upper()
    person = session.scalar(select(YoungPerson).where(
        YoungPerson.reference == reference, YoungPerson.organisation_id == context.organisation_id)) if reference else None
    if person is None:
        errors.append(FieldError("young_person", reference[:40], "is not a young person's reference in your records")
                      if reference else FieldError("young_person", "", "is required",
                                                   plain="Enter the young person's reference, e.g. YP-PLACED"))
    if role:
        link_role = choice(errors, "role", role, LinkRole)
    else:
        link_role = None
        errors.append(FieldError("role", "", "is required", plain="Choose how they are connected to the context"))
    codes = concern_codes(errors, concerns)
    today = date.today()
    first = typed_date(errors, "first_seen", first_seen, required="is required (a date, e.g. 2026-03-14)", today=today)
    last = typed_date(errors, "last_seen", last_seen, today=today)
    if first and last and last < first:
        errors.append(FieldError("last_seen", last.isoformat(), f"is before the first seen date ({first.isoformat()})"))
    number = record_id(recorded_by)
    organisation = session.get(Organisation, number) if number else None
    if organisation is None:
        errors.append(FieldError("recorded_by", str(recorded_by or "").strip()[:20], "is not an organisation in this system"))
    link_reliability = choice(errors, "reliability", reliability, Reliability)
    if errors:
        raise InvalidInput(errors)
    return LinkFields(young_person=person, role=link_role, concern_codes=codes,
                      first_seen_on=first, last_seen_on=last, recorded_by=organisation, reliability=link_reliability)


def _shown(link: ContextLink, reference: str) -> dict[str, str]:
    """The link's fields as the history shows them."""
    return {
        "young person": reference,
        "role": LINK_ROLE_LABELS[link.role],
        "concerns": ", ".join(link.concern_codes) or "none",
        "first seen": link.first_seen_on.isoformat(),
        "last seen": link.last_seen_on.isoformat() if link.last_seen_on else "",
        "recorded by": link.recorded_by.name if link.recorded_by else "",
        "reliability": RELIABILITY_LABELS[link.reliability],
    }


def _apply(link: ContextLink, fields: LinkFields) -> None:
    # Through the relationship, so her organisation (part of the link's key to her) comes along.
    link.young_person, link.role, link.concern_codes = fields.young_person, fields.role, fields.concern_codes
    link.first_seen_on, link.last_seen_on = fields.first_seen_on, fields.last_seen_on
    link.recorded_by_id, link.recorded_by, link.reliability = fields.recorded_by.id, fields.recorded_by, fields.reliability


def _refuse_a_second_link(session: Session, context: Context, person: YoungPerson, other_than: int | None = None) -> None:
    """One current link per young person and context: a second would count her twice there."""
    linked = session.scalar(select(ContextLink.id).where(
        ContextLink.context_id == context.id, same_child(ContextLink, person), ContextLink.removed_at.is_(None),
        ContextLink.id != (other_than or 0)))
    if linked is not None:
        raise InvalidInput([FieldError(
            "young_person", person.reference, f"is already linked to this context (link {linked}): change that link",
            plain=f"{person.reference} is already linked to this context: change that link on the context's page "
                  "(its role, concerns and dates) rather than adding another")])


def add_link(session: Session, context: Context, user: User, **entered) -> ContextLink:
    """Link a young person to the context (fields as for :func:`checked_link`)."""
    fields = checked_link(session, context, **entered)
    _refuse_a_second_link(session, context, fields.young_person)
    link = ContextLink(context_id=context.id)
    _apply(link, fields)
    session.add(link)
    session.flush()
    record_change(session, context, user, ContextChangeAction.LINK_ADDED,
                  {field: ["", value] for field, value in _shown(link, fields.young_person.reference).items() if value},
                  link=link)
    return link


def change_link(session: Session, link: ContextLink, user: User, *, version: object, **entered) -> dict:
    """Apply a change made on ``version`` of the link; returns {field: [before, after]}."""
    check_version(link, version, StaleLink)
    fields = checked_link(session, link.context, **entered)
    _refuse_a_second_link(session, link.context, fields.young_person, other_than=link.id)
    before = _shown(link, link.young_person.reference)
    _apply(link, fields)
    after = _shown(link, fields.young_person.reference)
    changes = {field: [before[field], after[field]] for field in before if before[field] != after[field]}
    if changes:
        record_change(session, link.context, user, ContextChangeAction.LINK_CHANGED,
                      {"young person": [before["young person"], after["young person"]], **changes}, link=link)
    else:
        session.expire(link)
    return changes


def remove_link(session: Session, link: ContextLink, user: User, *, version: object, note: str | None) -> None:
    """Hide the link everywhere; an administrator can restore it."""
    check_version(link, version, StaleLink)
    note = note_checked(note, required=True, why="the link is removed")
    link.removed_at = utcnow()
    record_change(session, link.context, user, ContextChangeAction.LINK_REMOVED,
                  {"young person": [link.young_person.reference, ""]}, note, link=link)


def restore_link(session: Session, link: ContextLink, user: User) -> None:
    if link.removed_at is None:
        raise InvalidInput([FieldError("link", link.id, "is not removed")])
    link.removed_at = None
    record_change(session, link.context, user, ContextChangeAction.LINK_RESTORED,
                  {"young person": ["", link.young_person.reference]}, link=link)


def removed_links(context_id: int, organisations: tuple[int, ...]) -> Select:
    """The removed links to a context of young people of ``organisations`` (those the reader may see)."""
    return (select(ContextLink, YoungPerson.reference)
            .join(YoungPerson, same_child(YoungPerson, ContextLink))
            .where(ContextLink.context_id == context_id, ContextLink.organisation_id.in_(organisations),
                   ContextLink.removed_at.is_not(None))
            .order_by(ContextLink.removed_at.desc()).execution_options(include_removed=True))


@event.listens_for(Session, "do_orm_execute")
def _hide_removed(state: ORMExecuteState) -> None:
    if state.is_select and not state.is_column_load and not state.execution_options.get("include_removed", False):
        state.statement = state.statement.options(
            with_loader_criteria(ContextLink, lambda link: link.removed_at.is_(None), include_aliases=True))
