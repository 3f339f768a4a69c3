"""Placements for commissioners: a page to compare candidate placements for one child, the report
of every current placement, and the children looked after on 31 March as the Department for
Education counts them."""

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from models.codes import PLACE_CODES, ContextKind
from models.collection_years import CollectionYear
from models.safeguarding import Context
from models.times import london_today
from models.validation import FieldError, InvalidInput
from webapp import maps
from webapp.access import Access, declare
from webapp.db import get_session, visible_organisations
from webapp.params import bad_parameter
from webapp.placement_check import MAX_CANDIDATES, CheckSettings, candidate_of, check, home_of
from webapp.placement_report import (
    DISTANCE_CATEGORIES,
    FLAG_KINDS,
    FLAG_LABELS,
    SORTS,
    dfe_csv,
    dfe_view,
    found_lines,
    placements_report,
    report_csv,
)

bp = Blueprint("placements", __name__, url_prefix="/placements")
declare(bp, Access.INDIVIDUALS)

# The report's page lists this many flagged placements (a city's 18,000 made a 9 MB page); the CSV
# has them all.
FLAGGED_LISTED = 500


@bp.get("/check")
def check_page():
    """The form and, once something is asked, the ranked candidates with their flags and a map."""
    session = get_session()
    providers = session.execute(
        select(Context.id, Context.name, Context.postcode)
        .where(Context.kind == ContextKind.PLACEMENT_PROVIDER, Context.geometry.is_not(None), Context.status == "open")
        .order_by(Context.name)
    ).all()
    typed_lines = [line.strip() for line in request.args.get("candidates", "").splitlines() if line.strip()]
    chosen = request.args.getlist("provider")
    # The form sends check=1; a link with only a young person (from her page) just fills the form in.
    asked = "check" in request.args or bool(typed_lines or chosen)
    settings = CheckSettings.from_config(current_app.config)
    page = {"providers": providers, "chosen": chosen, "args": request.args, "settings": settings, "errors": {},
            "results": None, "map": None, "max_candidates": MAX_CANDIDATES}
    if not asked:
        return render_template("placements/check.html", **page)
    problems, candidates, home = [], [], None
    try:
        home = home_of(session, request.args.get("young_person"), request.args.get("home_postcode"),
                       current_user.organisation_id)
    except InvalidInput as error:
        problems += error.errors
    for line in typed_lines:
        try:
            candidates.append(candidate_of(session, "candidates", typed=line))
        except InvalidInput as error:
            problems += error.errors
    for raw in chosen:
        try:
            candidates.append(candidate_of(session, "provider", context_id=int(raw) if raw.isdigit() else -1))
        except InvalidInput as error:
            problems += error.errors
    if not typed_lines and not chosen:
        problems.append(FieldError("candidates", "", "is empty: give at least one candidate placement or choose a provider"))
    if len(typed_lines) + len(chosen) > MAX_CANDIDATES:
        problems.append(FieldError("candidates", len(typed_lines) + len(chosen),
                                   f"are more than {MAX_CANDIDATES}: check at most {MAX_CANDIDATES} at once"))
    if problems:
        for problem in problems:
            page["errors"].setdefault(problem.field, []).append(problem.message)
        return render_template("placements/check.html", **page), 400
    results = check(session, home, candidates, settings)
    fmap = maps.placement_map(home, results, settings.easy_reach_miles)
    page.update(results=results, home=home, map=maps.embed(fmap) if fmap else None)
    return render_template("placements/check.html", **page)


@bp.get("/report")
def report_page():
    """The authority's current placements in the DfE's categories, and the ones the check flags."""
    flag = request.args.get("flag") or None
    if flag is not None and flag not in FLAG_LABELS:
        bad_parameter("flag", flag, f"is not one of {', '.join(FLAG_LABELS)}")
    sort = request.args.get("sort", "flags")
    if sort not in SORTS:
        bad_parameter("sort", sort, f"is not one of {', '.join(SORTS)}")
    descending = request.args.get("order") == "desc"
    text = request.args.get("q", "").strip()[:40]
    settings = CheckSettings.from_config(current_app.config)
    report = placements_report(get_session(), current_user.organisation, settings, visible_organisations())
    flagged = sorted(found_lines(report.flagged(flag), text), key=SORTS[sort][1], reverse=descending)
    return render_template("placements/report.html", report=report, categories=DISTANCE_CATEGORIES,
                           flag_labels=FLAG_LABELS, flag_kinds=FLAG_KINDS, flag=flag, settings=settings,
                           listed=FLAGGED_LISTED, flagged=flagged, sorts=SORTS, sort=sort, descending=descending,
                           text=text, place_labels=PLACE_CODES)


def _latest_ended() -> CollectionYear:
    return CollectionYear(CollectionYear.containing(london_today()).starts - 1)


def _dfe_year(args) -> CollectionYear:
    """The collection year asked for (``year``, like 2024/25), by default the latest that has ended."""
    latest = _latest_ended()
    typed = args.get("year")
    if not typed:
        return latest
    try:
        year = CollectionYear.named(typed)
    except ValueError as error:
        bad_parameter("year", typed, str(error))
    if year > latest:
        bad_parameter("year", typed, f"has not ended: the latest year ended is {latest.name}")
    return year


@bp.get("/dfe")
def dfe_page():
    """The children looked after on 31 March as the DfE counts them by distance and locality."""
    year = _dfe_year(request.args)
    view = dfe_view(get_session(), current_user.organisation, year.last_day)
    # The last six years ended, and the one asked for if it is older.
    latest = _latest_ended()
    years = [CollectionYear(starts) for starts in range(latest.starts, min(year.starts, latest.starts - 5) - 1, -1)]
    return render_template("placements/dfe.html", view=view, year=year, years=years, categories=DISTANCE_CATEGORIES)


@bp.get("/dfe.csv")
def dfe_download():
    year = _dfe_year(request.args)
    view = dfe_view(get_session(), current_user.organisation, year.last_day)
    return Response(dfe_csv(view), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=placements-dfe-{year.last_day.isoformat()}.csv"})


@bp.get("/report.csv")
def report_download():
    report = placements_report(get_session(), current_user.organisation, CheckSettings.from_config(current_app.config),
                               visible_organisations())
    return Response(report_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=placements-report.csv"})
