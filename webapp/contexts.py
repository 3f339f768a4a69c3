"""The context register: the searchable list, each context's profile and history, and the forms
to add, edit, close, reopen, merge and delete contexts; administrators restore deleted ones.
Level 2 cases are a later feature."""

import re
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from geo.locations import LocationError
from models.cases import case_notes, case_records, case_state
from models.codes import (
    CASE_STAGE_LABELS,
    CONCERN_CODES,
    CONTEXT_CHANGE_LABELS,
    CONTEXT_KIND_LABELS,
    ContextKind,
    ContextStatus,
    Role,
)
from models.contexts import (
    StaleChange,
    check_version,
    context_search,
    delete_context,
    deleted_contexts,
    edit_context,
    location_text,
    merge_candidates,
    merge_contexts,
    merged_into,
    new_context,
    restore_context,
    set_status,
)
from models.links import removed_links
from models.locations import resolve_location
from models.people import Organisation
from models.queries import context_links, episodes_near, episodes_near_by_start, linked_people
from models.safeguarding import Context, ContextLink
from models.times import LONDON
from models.validation import InvalidInput
from webapp import maps, params
from webapp.access import Access, declare, needs
from webapp.analysis import when_table
from webapp.dashboard import authority_area
from webapp.db import MAX_ID, get_session, visible_organisations
from webapp.peers import grouped, ties

bp = Blueprint("contexts", __name__, url_prefix="/contexts")
declare(bp, Access.INDIVIDUALS)

PAGE_SIZE = 50
SEARCH_DISTANCES = (250, 500, 1000, 2000, 5000)


class ContextForm(FlaskForm):
    name = StringField("Name")
    # Checked by models.contexts, whose message names the field and the value.
    kind = SelectField("Kind", validate_choice=False,
                       choices=[SelectChoice(kind.value, label) for kind, label in CONTEXT_KIND_LABELS.items()])
    location = StringField(
        "Location",
        description="A postcode (SW5 0AA), a latitude and longitude (51.4915, -0.1935) or a British "
        "National Grid easting and northing (525800 178400). Leave empty for online spaces and peer groups.",
    )
    # GeoJSON written by the map's drawing tools (static/js/area_draw.js); checked by geo.areas.
    area = HiddenField()
    address = TextAreaField("Address (optional)")
    # Checked by models.contexts too.
    responsible = SelectField(
        "Run by another organisation (optional)", validate_choice=False,
        description="A school, housing provider or children's home that runs the place: once the context is "
        "referred, its users see the case and the agencies' notes (never the young people linked to it).")


def context_form(form_class: type[ContextForm], **options) -> ContextForm:
    """The form, with every organisation but the user's own to choose as responsible."""
    form = form_class(**options)
    form.responsible.choices = [SelectChoice("", "None")] + [
        SelectChoice(str(organisation.id), organisation.name) for organisation in get_session().scalars(
            select(Organisation).where(Organisation.id != current_user.organisation_id).order_by(Organisation.name))]
    return form


class EditForm(ContextForm):
    version = HiddenField()


class ChangeForm(FlaskForm):
    """Close, reopen or delete: the version the page showed and a note of why."""

    version = HiddenField()
    note = TextAreaField("Note")


class MergeForm(FlaskForm):
    version = HiddenField()
    duplicate = StringField("Duplicate record's number", description="The number after # on its page.")
    duplicate_version = HiddenField()
    note = TextAreaField("Note (optional)")


def _find(context_id: int) -> Context:
    """The user's organisation's context, deleted or not, or a 404."""
    context = get_session().get(Context, context_id, execution_options={"include_deleted": True}) \
        if context_id <= MAX_ID else None
    if context is None or context.organisation_id != current_user.organisation_id:
        abort(404, description=f"There is no context {context_id}.")
    return context


def own_context(context_id: int) -> Context:
    """The user's organisation's context, or a 404; one merged into another redirects there."""
    context = _find(context_id)
    if context.deleted_at is not None:
        if context.merged_into_id is not None:
            abort(redirect(url_for("contexts.profile", context_id=context.merged_into_id, merged=context.id)))
        abort(404, description=f"Context {context_id} was deleted; an administrator can restore it.")
    return context


def require_form() -> None:
    """A 400 unless the posted form carries this site's CSRF token (a form with no fields of its own)."""
    if not FlaskForm().validate_on_submit():
        abort(400, description="The form had expired or was not sent from this site: reload the page and try again.")


def show_errors(form: FlaskForm, error: InvalidInput, fields: dict[str, str] | None = None) -> None:
    """Each problem in words beside its field (``fields`` maps the rules' names to the form's where
    they differ), or above the form. Beside a field the value is in view, so the words name the
    field by its label and quote the value, e.g. "Location “XX1 1XX” is not in the ONS Postcode Directory"."""
    for problem in error.errors:
        field = getattr(form, (fields or {}).get(problem.field, problem.field), None)
        if field is None:
            form.form_errors.append(problem.plain or problem.message)
        else:
            label = re.sub(r"\s*\([^)]*\)$", "", field.label.text)  # "Last seen (optional)" is "Last seen"
            value = f" “{problem.value}”" if problem.value not in (None, "") else ""
            field.errors.append(problem.plain or f"{label}{value} {problem.reason}")


def _search_arguments(args) -> dict:
    """The list's filters, each checked: a bad one is a 400 naming it, except a place the "Near"
    box cannot find, which a person typed: that comes back as ``near_problem``, in words."""
    text = args.get("q", "").strip()
    if len(text) > 200:
        params.bad_parameter("q", text[:40] + "...", "is longer than 200 characters")
    kind = args.get("kind", "")
    if kind and kind not in {k.value for k in ContextKind}:
        params.bad_parameter("kind", kind, "is not one of: " + ", ".join(k.value for k in ContextKind))
    status = args.get("status", "open")
    if status not in {"open", "closed", "any"}:
        params.bad_parameter("status", status, "is not one of: open, closed, any")
    near_text = args.get("near", "").strip()
    near = near_problem = None
    if near_text:
        try:
            near = resolve_location(get_session(), near_text).point
        except LocationError as error:
            near_problem = (f"“{error.value}” {error.reason}. Enter a postcode, e.g. SW5 0AA, a latitude and "
                            "longitude, e.g. 51.4915, -0.1935, or a grid reference.")
    within = args.get("within", "1000")
    if within not in {str(metres) for metres in SEARCH_DISTANCES}:
        params.bad_parameter("within", within, "is not one of: " + ", ".join(map(str, SEARCH_DISTANCES)) + " (metres)")
    return {"text": text, "kinds": frozenset({ContextKind(kind)} if kind else ()),
            "status": None if status == "any" else ContextStatus(status), "near": near,
            "metres": int(within) if near else None, "near_problem": near_problem,
            "form": {"q": text, "kind": kind, "status": status, "near": near_text, "within": within}}


@bp.get("/")
def index():
    """The register: search by name, address or postcode, kind, status and distance from a place."""
    arguments = _search_arguments(request.args)
    form = arguments.pop("form")
    near_problem = arguments.pop("near_problem")
    if near_problem:  # the search stays as typed, with what is wrong beside the box
        return render_template("contexts/index.html", contexts=[], kind_labels=CONTEXT_KIND_LABELS, total=0, page=1,
                               pages=1, form=form, distances=SEARCH_DISTANCES, location_text=location_text,
                               near_problem=near_problem), 400
    found = params.paginate(context_search(current_user.organisation_id, **arguments), request.args, PAGE_SIZE,
                            scalars=True)
    return render_template("contexts/index.html", contexts=found.rows, kind_labels=CONTEXT_KIND_LABELS,
                           total=found.total, page=found.number, pages=found.pages, form=form,
                           distances=SEARCH_DISTANCES, location_text=location_text)


NEAR_DISTANCES = (100, 250, 500, 1000)
# Peer groups compare every linked young person with every other: past this many, a page would
# wait on millions of pairs (a park on the benchmark data with 10,000 links ran past the 30 s limit).
PEER_GROUPS_AT_MOST = 300
# The map shows this many of the latest episodes near a context; the counts and the day-by-hour
# table take them all. A busy park on the benchmark data has 130,000, which as map points made a
# 30 MB page that took 12 s.
NEAR_ON_THE_MAP_AT_MOST = 500
LINKS_PER_PAGE = 100


@bp.get("/<int:context_id>")
def profile(context_id: int):
    """One context: its details, the young people linked to it, the missing episodes that began or
    ended near it and when they began, on a small map."""
    context = own_context(context_id)
    session = get_session()
    raw = request.args.get("within", "250")
    if raw not in {str(metres) for metres in NEAR_DISTANCES}:
        params.bad_parameter("within", raw, "is not one of: " + ", ".join(map(str, NEAR_DISTANCES)) + " (metres)")
    within = int(raw)
    period, since = params.period(request.args)
    merged = session.scalars(merged_into(context.id)).all()
    organisations = visible_organisations()
    links = params.paginate(context_links(context.id, organisations), request.args, LINKS_PER_PAGE, "links_page")
    linked = session.scalars(linked_people(context.id, organisations).limit(PEER_GROUPS_AT_MOST + 1)).all()
    groups = (grouped(session, linked, ties(session, linked, among_them=True, leave_out_context=context.id))
              if len(linked) <= PEER_GROUPS_AT_MOST else None)
    if context.geometry is not None:
        by_start = session.execute(episodes_near_by_start(context.id, within, organisations, since)).all()
        near_total = next(row for row in by_start if row.total)
        grid = {(row.weekday, row.hour): row.episodes for row in by_start if not row.total}
        latest = session.execute(episodes_near(context.id, within, organisations, since).limit(NEAR_ON_THE_MAP_AT_MOST)).all()
    else:
        near_total, grid, latest = None, {}, []
    return render_template(
        "contexts/profile.html",
        context=context,
        kind_label=CONTEXT_KIND_LABELS[context.kind],
        concern_labels=CONCERN_CODES,
        links=links.rows,
        links_total=links.total,
        links_page=links.number,
        links_pages=links.pages,
        peer_groups_at_most=PEER_GROUPS_AT_MOST,
        peer_groups=groups,
        near_total=near_total,
        near_on_map=len(latest),
        within=within,
        distances=NEAR_DISTANCES,
        period=period,
        periods=params.PERIODS,
        when=when_table(grid),
        map=maps.embed(maps.context_map(context, within, latest)) if context.geometry is not None else None,
        change_labels=CONTEXT_CHANGE_LABELS,
        london=LONDON,
        status_form=ChangeForm(version=context.version),
        merged=request.args.get("merged", type=int),
        removed=session.execute(removed_links(context.id, organisations)).all() if current_user.role == Role.ADMINISTRATOR else [],
        case=case_state(session, context.id),
        case_records=session.scalars(case_records(context.id)).all(),
        merged_case_records=session.scalars(case_records(*merged)).all() if merged else [],
        notes=session.scalars(case_notes(context.id, *merged)).all(),
        organisation_names=dict(session.execute(select(Organisation.id, Organisation.name)).all()),
        stage_labels=CASE_STAGE_LABELS,
        today=date.today(),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = context_form(ContextForm)
    if form.validate_on_submit():
        session = get_session()
        try:
            context = new_context(session, name=form.name.data, kind=form.kind.data, location=form.location.data,
                                  area=form.area.data, address=form.address.data, responsible=form.responsible.data,
                                  organisation_id=current_user.organisation_id, user=current_user)
        except InvalidInput as error:
            show_errors(form, error)
            return _form_page(form, None), 400
        session.commit()
        flash(f"Context “{context.name}” added.", "success")
        return redirect(url_for("contexts.profile", context_id=context.id))
    return _form_page(form, None), 400 if form.errors else 200


def _area_map(context: Context | None) -> dict:
    """The form's map: on the context's location, else on the authority, else on London."""
    outline, box = authority_area(get_session())
    if context is not None and context.geometry is not None:
        centre, zoom = to_shape(context.geometry).representative_point(), 16
        centre = (centre.y, centre.x)
    elif box is not None:
        centre, zoom = ((box[1] + box[3]) / 2, (box[0] + box[2]) / 2), 13
    else:
        centre, zoom = (51.5072, -0.1276), 11
    fmap = maps.area_map(centre, zoom, outline)
    return {**maps.embed(fmap), "name": fmap.get_name()}


def _form_page(form: ContextForm, context: Context | None) -> str:
    stored = None
    if context is not None and context.geometry is not None and location_text(context) == "an area":
        stored = mapping(to_shape(context.geometry))
    return render_template("contexts/form.html", form=form, context=context, map=_area_map(context), stored_area=stored)


def stale_message(error: Exception, what: str = "context") -> str:
    """Why a change made on an older version was refused: by the page's version (StaleChange), or
    by the database when two saves met (StaleDataError)."""
    if isinstance(error, StaleChange):
        return str(error)
    return (f"version: someone else saved this {what} at the same moment. Nothing was saved: reload it to see "
            "their change, then make yours again.")


def stale_page(template: str, context: Context, error: Exception, what: str = "context", **values):
    """A change refused because the record moved on: the page again, with the record as it is now
    and what the user typed, and a 409."""
    get_session().rollback()
    flash(stale_message(error, what), "danger")
    return render_template(template, context=own_context(context.id), **values), 409


@bp.route("/<int:context_id>/edit", methods=["GET", "POST"])
def edit(context_id: int):
    context = own_context(context_id)
    form = context_form(EditForm, obj=None if request.method == "POST" else context)
    if request.method == "GET":
        form.kind.data, form.location.data, form.version.data = context.kind.value, location_text(context), context.version
        form.responsible.data = str(context.responsible_organisation_id or "")
        if context.geometry is not None and not context.postcode and location_text(context) == "an area":
            form.location.data = ""
    if form.validate_on_submit():
        session = get_session()
        try:
            changes = edit_context(session, context, current_user, version=form.version.data, name=form.name.data,
                                   kind=form.kind.data, location=form.location.data, address=form.address.data,
                                   area=form.area.data, responsible=form.responsible.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return _form_page(form, own_context(context_id)), 400
        except (StaleChange, StaleDataError) as error:
            return stale_page("contexts/form.html", context, error, form=form, map=_area_map(context))
        flash("Saved: " + ", ".join(changes) + "." if changes else "Nothing had changed, so nothing was saved.",
              "success" if changes else "info")
        return redirect(url_for("contexts.profile", context_id=context_id))
    return _form_page(form, context), 400 if form.errors else 200


@bp.post("/<int:context_id>/status")
def change_status(context_id: int):
    """Close an open context, or reopen a closed one."""
    context = own_context(context_id)
    form = ChangeForm()
    wanted = ContextStatus.OPEN if context.status == ContextStatus.CLOSED else ContextStatus.CLOSED
    require_form()
    session = get_session()
    try:
        if wanted == ContextStatus.CLOSED and request.form.get("confirmed") != "yes":
            check_version(context, form.version.data)  # a stale page is refused before anything is asked
            case = case_state(session, context.id)
            if case.open:  # closing the context would leave its case open: ask first, naming the case
                return render_template("contexts/close.html", context=context, form=form, case=case,
                                       stage_labels=CASE_STAGE_LABELS)
        set_status(session, context, current_user, version=form.version.data, status=wanted, note=form.note.data)
        session.commit()
    except InvalidInput as error:
        session.rollback()
        abort(400, description=str(error))
    except (StaleChange, StaleDataError) as error:
        session.rollback()
        flash(stale_message(error), "danger")
        return redirect(url_for("contexts.profile", context_id=context_id)), 409
    flash(f"Context {'closed' if wanted == ContextStatus.CLOSED else 'reopened'}.", "success")
    return redirect(url_for("contexts.profile", context_id=context_id))


@bp.route("/<int:context_id>/delete", methods=["GET", "POST"])
def delete(context_id: int):
    context = own_context(context_id)
    form = ChangeForm(version=context.version) if request.method == "GET" else ChangeForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            delete_context(session, context, current_user, version=form.version.data, note=form.note.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("contexts/delete.html", form=form, context=own_context(context_id)), 400
        except (StaleChange, StaleDataError) as error:
            return stale_page("contexts/delete.html", context, error, form=form)
        flash(f"Context “{context.name}” deleted. An administrator can restore it.", "success")
        return redirect(url_for("contexts.index"))
    return render_template("contexts/delete.html", form=form, context=context), 400 if form.errors else 200


@bp.route("/<int:context_id>/merge", methods=["GET", "POST"])
def merge(context_id: int):
    """Merge a duplicate record of the same place or group into this one: first choose it, then
    confirm with both records side by side."""
    context = own_context(context_id)
    session = get_session()
    form = MergeForm(version=context.version) if request.method == "GET" else MergeForm()
    candidates = session.scalars(merge_candidates(context).limit(20)).all()
    duplicate = None
    if request.method == "POST" and form.validate_on_submit():
        number = (form.duplicate.data or "").strip().lstrip("#")
        if not number.isascii() or not number.isdigit() or int(number) > MAX_ID:
            form.duplicate.errors.append(f"duplicate: {form.duplicate.data!r} is not a context number")
        else:
            duplicate = session.scalar(select(Context).where(
                Context.id == int(number), Context.organisation_id == current_user.organisation_id))
            if duplicate is None:
                form.duplicate.errors.append(f"duplicate: {form.duplicate.data!r} is not one of your contexts")
        if duplicate is not None and form.duplicate_version.data:  # the confirmation
            try:
                moved = merge_contexts(session, context, duplicate, current_user, kept_version=form.version.data,
                                       duplicate_version=form.duplicate_version.data, note=form.note.data,
                                       organisations=visible_organisations())
                session.commit()
            except InvalidInput as error:
                session.rollback()
                show_errors(form, error)
                return _merge_page(own_context(context_id), form, candidates), 400
            except (StaleChange, StaleDataError) as error:
                return stale_page("contexts/merge.html", context, error, form=form, candidates=candidates,
                                  duplicate=None, **MERGE_PAGE_HELPERS)
            flash(f"“{duplicate.name}” merged into this record: {moved} links, episodes and placements moved.",
                  "success")
            return redirect(url_for("contexts.profile", context_id=context_id))
        if duplicate is not None:
            form.duplicate_version.data = duplicate.version
    return _merge_page(context, form, candidates, duplicate), 400 if form.errors else 200


MERGE_PAGE_HELPERS = {"kind_labels": CONTEXT_KIND_LABELS, "location_text": location_text}


def _merge_page(context: Context, form: MergeForm, candidates: list[Context], duplicate: Context | None = None) -> str:
    counted = [context.id] + ([duplicate.id] if duplicate is not None else [])
    links = dict(get_session().execute(
        select(ContextLink.context_id, func.count())
        .where(ContextLink.context_id.in_(counted), ContextLink.organisation_id.in_(visible_organisations()))
        .group_by(ContextLink.context_id)).all())
    return render_template("contexts/merge.html", form=form, context=context, candidates=candidates,
                           duplicate=duplicate, links=links, **MERGE_PAGE_HELPERS)


@bp.get("/deleted")
@needs(Access.ADMINISTRATION)
def deleted():
    contexts = get_session().scalars(deleted_contexts(current_user.organisation_id).limit(500)).all()
    return render_template("contexts/deleted.html", contexts=contexts, kind_labels=CONTEXT_KIND_LABELS,
                           form=FlaskForm())


@bp.post("/<int:context_id>/restore")
@needs(Access.ADMINISTRATION)
def restore(context_id: int):
    session = get_session()
    context = _find(context_id)
    require_form()
    try:
        restore_context(session, context, current_user)
    except InvalidInput as error:
        session.rollback()
        abort(400, description=str(error))
    session.commit()
    flash(f"Context “{context.name}” restored.", "success")
    return redirect(url_for("contexts.profile", context_id=context_id))
