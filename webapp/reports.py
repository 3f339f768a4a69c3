"""The panel's aggregate report on contextual safeguarding for a quarter: Level 2 referrals, steps
recorded, open cases by step, the agencies' notes, and the sources of harm by context kind and by
concern code; as tables with bars, or as CSV. Counts only."""

import csv
import io
from datetime import date
from typing import NamedTuple

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from models.codes import CASE_STAGE_LABELS, CHILD_MEETING_LABELS, CONCERN_CODES, CONTEXT_KIND_LABELS, CaseStage
from models.reports import (
    Period,
    harm_by_concern,
    harm_by_kind,
    meeting_sources_by_kind,
    meetings_considering_harm,
    notes_by_agency,
    open_cases_at,
    referrals_by_kind,
    steps_in_period,
)
from webapp import params
from webapp.access import Access, declare
from webapp.db import get_session, visible_organisations

bp = Blueprint("reports", __name__, url_prefix="/reports")
declare(bp, Access.INDIVIDUALS)


def _period() -> tuple[str, Period]:
    text = request.args.get("quarter") or Period.quarter_of(date.today())
    try:
        period = Period.quarter(text)
    except ValueError:
        params.bad_parameter("quarter", text[:20], "is not a quarter written like 2026-Q4")
    if not 2000 <= period.first.year <= date.today().year + 1:
        params.bad_parameter("quarter", text, "is not between 2000 and next year")
    return text.strip().upper(), period


class Table(NamedTuple):
    """One table of the report: what each number measures, and (label, numbers...) rows."""

    measures: tuple[str, ...]
    rows: list[tuple]


def _tables(period: Period) -> dict[str, Table]:
    """Every table of the report, in a fixed order."""
    session = get_session()
    organisation = current_user.organisation_id
    referrals = dict(session.execute(referrals_by_kind(organisation, period)).all())
    steps = dict(session.execute(steps_in_period(organisation, period)).all())
    open_cases = dict(session.execute(open_cases_at(organisation, period.last)).all())
    kinds = {row.kind: row for row in session.execute(harm_by_kind(organisation, period, visible_organisations()))}
    concerns = {row.code: row for row in session.execute(harm_by_concern(organisation, period, visible_organisations()))}
    meetings = {row.kind: row for row in session.execute(meetings_considering_harm(organisation, period))}
    named = {row.kind: row for row in session.execute(meeting_sources_by_kind(organisation, period))}
    notes = session.execute(notes_by_agency(organisation, period)).all()
    return {
        "Level 2 referrals by context kind": Table(("referrals",), [
            (CONTEXT_KIND_LABELS[kind], count) for kind, count in sorted(referrals.items(), key=lambda item: -item[1])]),
        "Steps recorded in the quarter": Table(("records",), [
            (CASE_STAGE_LABELS[stage], steps.get(stage, 0)) for stage in CaseStage]),
        "Cases open at the end of the quarter, by step reached": Table(("cases",), [
            (CASE_STAGE_LABELS[stage], open_cases.get(stage, 0)) for stage in CaseStage if stage != CaseStage.CLOSURE]),
        "Agencies' notes on contexts, by agency": Table(("notes", "contexts"), [
            (row.name, row.notes, row.contexts) for row in sorted(notes, key=lambda row: (-row.notes, row.name))]),
        "Sources of harm by context kind": Table(("links", "young people", "contexts"), [
            (CONTEXT_KIND_LABELS[kind], row.links, row.young_people, row.contexts)
            for kind, row in sorted(kinds.items(), key=lambda item: -item[1].links)]),
        "Children's assessments and conferences": Table(("held", "extra-familial harm a factor"), [
            (CHILD_MEETING_LABELS[kind], meetings[kind].meetings if kind in meetings else 0,
             meetings[kind].extra_familial if kind in meetings else 0) for kind in CHILD_MEETING_LABELS]),
        "Contexts they named as sources of harm, by kind": Table(("times named", "contexts"), [
            (CONTEXT_KIND_LABELS[kind], row.times_named, row.contexts)
            for kind, row in sorted(named.items(), key=lambda item: -item[1].times_named)]),
        "Sources of harm by concern code": Table(("links", "young people"), [
            (f"{code}: {CONCERN_CODES[code]}", row.links, row.young_people)
            for code, row in sorted(concerns.items(), key=lambda item: -item[1].links)]),
    }


@bp.get("/contexts")
def contexts():
    quarter, period = _period()
    tables = _tables(period)
    return render_template("reports/contexts.html", quarter=quarter, period=period, tables=tables,
                           quarters=[Period.quarter_of(date(year, month, 1)) for year in
                                     range(date.today().year, date.today().year - 3, -1) for month in (10, 7, 4, 1)
                                     if date(year, month, 1) <= date.today()])


@bp.get("/contexts.csv")
def contexts_csv():
    quarter, period = _period()
    out = io.StringIO()
    writer = csv.writer(out)
    # One number per line: the tables measure different things.
    writer.writerow(["quarter", "table", "row", "measure", "value"])
    for title, table in _tables(period).items():
        for label, *numbers in table.rows:
            for measure, number in zip(table.measures, numbers, strict=True):
                writer.writerow([quarter, title, label, measure, number])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=contextual-safeguarding-{quarter}.csv"})
