"""Aggregate reports on contextual safeguarding work for a period: Level 2 referrals of contexts,
open context cases by step, the notes each agency added, children's assessments and conferences
that considered extra-familial harm, and the sources of harm recorded (links of young people harmed
or at risk at a context) by context kind and by concern code. Counts only: no child is named.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select

from models.cases import latest_case_records
from models.codes import CaseStage, LinkRole
from models.people import Organisation
from models.safeguarding import CaseNote, CaseRecord, ChildMeeting, Context, ContextLink
from models.times import london_midnight

HARM_ROLES = (LinkRole.HARMED_THERE, LinkRole.AT_RISK_THERE)
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """Whole days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @classmethod
    def quarter(cls, text: str) -> "Period":
        """A calendar quarter written 2026-Q4; raises ValueError otherwise.

        >>> Period.quarter("2026-Q4")
        Period(first=datetime.date(2026, 10, 1), last=datetime.date(2026, 12, 31))
        """
        match = QUARTER.match(text.strip().upper())
        if not match:
            raise ValueError(text)
        year, number = int(match[1]), int(match[2])
        first = date(year, 3 * number - 2, 1)
        after = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
        return cls(first, date.fromordinal(after.toordinal() - 1))

    @staticmethod
    def quarter_of(day: date) -> str:
        """
        >>> Period.quarter_of(date(2026, 11, 30))
        '2026-Q4'
        """
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _of(organisation_id: int):
    return Context.organisation_id == organisation_id


def referrals_by_kind(organisation_id: int, period: Period) -> Select:
    """Level 2 referrals of contexts held in the period, by context kind."""
    return (select(Context.kind, func.count().label("referrals"))
            .join(CaseRecord, CaseRecord.context_id == Context.id)
            .where(_of(organisation_id), CaseRecord.stage == CaseStage.REFERRAL,
                   CaseRecord.held_on.between(period.first, period.last))
            .group_by(Context.kind))


def steps_in_period(organisation_id: int, period: Period) -> Select:
    """Case records of each step held in the period."""
    return (select(CaseRecord.stage, func.count().label("records"))
            .join(Context, Context.id == CaseRecord.context_id)
            .where(_of(organisation_id), CaseRecord.held_on.between(period.first, period.last))
            .group_by(CaseRecord.stage))


def open_cases_at(organisation_id: int, day: date) -> Select:
    """Cases open at the end of ``day``, by the step they had reached."""
    latest = latest_case_records(organisation_id, until=day)
    return (select(latest.c.stage, func.count().label("cases")).where(latest.c.stage != CaseStage.CLOSURE.value)
            .group_by(latest.c.stage))


def notes_by_agency(organisation_id: int, period: Period) -> Select:
    """Notes written on the organisation's contexts in the period (London days), by the agency that
    wrote them: notes and contexts."""
    return (select(Organisation.name, func.count().label("notes"), func.count(CaseNote.context_id.distinct()).label("contexts"))
            .join(Organisation, Organisation.id == CaseNote.organisation_id)
            .join(Context, Context.id == CaseNote.context_id)
            .where(_of(organisation_id), CaseNote.written_at >= london_midnight(period.first),
                   CaseNote.written_at < london_midnight(period.last + timedelta(days=1)))
            .group_by(Organisation.name))


def _harm_links(organisation_id: int, period: Period, organisations: tuple[int, ...]):
    # Links to the organisation's contexts, of the young people of ``organisations`` (those it may see).
    return (ContextLink.role.in_(HARM_ROLES), _of(organisation_id), ContextLink.organisation_id.in_(organisations),
            ContextLink.first_seen_on <= period.last,
            func.coalesce(ContextLink.last_seen_on, period.last) >= period.first)


def harm_by_kind(organisation_id: int, period: Period, organisations: tuple[int, ...]) -> Select:
    """Sources of harm active in the period (links of young people harmed or at risk at a context,
    seen at some point in it), by context kind: links, distinct young people and contexts."""
    return (select(Context.kind, func.count().label("links"),
                   func.count(ContextLink.young_person_id.distinct()).label("young_people"),
                   func.count(Context.id.distinct()).label("contexts"))
            .join(Context, Context.id == ContextLink.context_id)
            .where(*_harm_links(organisation_id, period, organisations)).group_by(Context.kind))


def harm_by_concern(organisation_id: int, period: Period, organisations: tuple[int, ...]) -> Select:
    """The same links by Children in Need concern code (a link with two codes counts under each)."""
    code = func.unnest(ContextLink.concern_codes).label("code")
    links = (select(code, ContextLink.young_person_id).join(Context, Context.id == ContextLink.context_id)
             .where(*_harm_links(organisation_id, period, organisations)).subquery("coded"))
    return (select(links.c.code, func.count().label("links"),
                   func.count(links.c.young_person_id.distinct()).label("young_people"))
            .group_by(links.c.code))


def meetings_considering_harm(organisation_id: int, period: Period) -> Select:
    """Children's assessments and conferences held in the period, by kind: how many, and how many
    found extra-familial harm a factor."""
    return (select(ChildMeeting.kind, func.count().label("meetings"),
                   func.count().filter(ChildMeeting.extra_familial_harm).label("extra_familial"))
            .where(ChildMeeting.organisation_id == organisation_id,
                   ChildMeeting.held_on.between(period.first, period.last))
            .group_by(ChildMeeting.kind))


def meeting_sources_by_kind(organisation_id: int, period: Period) -> Select:
    """The contexts named as sources of extra-familial harm by the period's meetings, by kind."""
    source = func.unnest(ChildMeeting.source_context_ids).label("context_id")
    named = (select(source)
             .where(ChildMeeting.organisation_id == organisation_id,
                    ChildMeeting.held_on.between(period.first, period.last)).subquery("named"))
    return (select(Context.kind, func.count().label("times_named"), func.count(Context.id.distinct()).label("contexts"))
            .join(named, named.c.context_id == Context.id).group_by(Context.kind))
