"""SSDA903 imports: upload the return's Header, Episodes and Missing tables, see every problem with
its file, row, column and value, and look back at earlier loads and their rejected rows."""

import csv
import io

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from models.collection_years import CollectionYear
from models.imports import ImportOutcome, ImportRun
from models.ssda903 import FILES, REQUIRED_COLUMNS, import_return
from models.times import london_today
from webapp.access import Access, declare
from webapp.db import get_or_404, get_session

bp = Blueprint("imports", __name__, url_prefix="/imports")
declare(bp, Access.IMPORTS)

PROBLEMS_SHOWN = 200
RECENT_RUNS = 20
OUTCOMES = {
    ImportOutcome.IMPORTED: "Imported",
    ImportOutcome.VALID_ROWS_IMPORTED: "The rows that passed were imported",
    ImportOutcome.REFUSED: "Nothing was imported",
}


FIRST_YEAR_OFFERED = CollectionYear.named("2022/23")


@bp.context_processor
def _labels():
    latest = CollectionYear.containing(london_today())
    years = [CollectionYear(starts) for starts in range(latest.starts, FIRST_YEAR_OFFERED.starts - 1, -1)]
    return {"outcomes": OUTCOMES, "columns": REQUIRED_COLUMNS, "years": years}


@bp.before_request
def _authority_only():
    if current_user.is_authenticated and current_user.organisation.local_authority_code is None:
        abort(403, description="Only a local authority imports the SSDA903 return: your organisation has no authority code.")


@bp.get("/")
def index():
    return render_template("imports/index.html", runs=_recent_runs(), files=FILES, errors={})


def _recent_runs() -> list[ImportRun]:
    return get_session().scalars(
        select(ImportRun).where(ImportRun.organisation_id == current_user.organisation_id)
        .order_by(ImportRun.created_at.desc()).limit(RECENT_RUNS)
    ).all()


@bp.post("/ssda903")
def upload():
    uploads = {name: request.files.get(name.lower()) for name in FILES}
    chosen = {name: upload for name, upload in uploads.items() if upload and upload.filename}
    errors = {}
    if FILES[0] not in chosen:
        errors[FILES[0]] = "header: '' is missing: choose the Header file"
    stated = request.form.get("collection_year", "")
    try:
        year = CollectionYear.named(stated) if stated else None
    except ValueError as error:
        errors["collection_year"] = f"collection_year: {stated!r} {error}"
    if errors:
        return render_template("imports/index.html", runs=_recent_runs(), files=FILES, errors=errors), 400
    session = get_session()
    run = import_return(
        session, current_user.organisation, {name: (upload.filename, upload.read()) for name, upload in chosen.items()},
        valid_rows_only=request.form.get("valid_rows_only") == "1", user=current_user, year=year,
    )
    session.commit()
    if run.outcome == ImportOutcome.REFUSED:
        shown, warning_count = _problems(run)
        return render_template("imports/run.html", run=run, shown=shown, warning_count=warning_count), 400
    return redirect(url_for("imports.run_page", run_id=run.id), code=303)


def _run_of(run_id: int) -> ImportRun:
    return get_or_404(ImportRun, run_id, "import", current_user.organisation_id)


def _problems(run: ImportRun) -> tuple[list[list[str]], int]:
    """The first problems and warnings of the stored CSV, for the page (the download has them
    all), and how many warnings there are. Runs stored before warnings had only problems."""
    rows = csv.reader(io.StringIO(run.problems_csv, newline=""))
    next(rows)  # the column names
    shown, warnings = [], 0
    for row in rows:
        kind = row[6] if len(row) > 6 else "problem"
        warnings += kind == "warning"
        if len(shown) < PROBLEMS_SHOWN:
            shown.append([*row[:6], kind])
    return shown, warnings


@bp.get("/<int:run_id>")
def run_page(run_id: int):
    run = _run_of(run_id)
    shown, warning_count = _problems(run)
    return render_template("imports/run.html", run=run, shown=shown, warning_count=warning_count)


@bp.get("/<int:run_id>/problems.csv")
def problems_csv(run_id: int):
    run = _run_of(run_id)
    return Response(run.problems_csv, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=ssda903-import-{run.id}-problems.csv"})
