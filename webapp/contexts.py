"""Contexts: the register's list, each context's profile, and the form to add one (editing, closing,
merging and Level 2 cases are a later feature)."""

from collections import Counter

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from models.codes import CONCERN_CODES, CONTEXT_KIND_LABELS
from models.contexts import new_context
from models.queries import context_links, episodes_near
from models.safeguarding import Context
from models.times import LONDON
from models.validation import InvalidInput
from webapp import maps, params
from webapp.access import Access, declare
from webapp.analysis import when_table
from webapp.db import get_or_404, get_session
from webapp.peers import grouped, ties

bp = Blueprint("contexts", __name__, url_prefix="/contexts")
declare(bp, Access.INDIVIDUALS)


class ContextForm(FlaskForm):
    name = StringField("Name")
    kind = SelectField("Kind", choices=[SelectChoice(kind.value, label) for kind, label in CONTEXT_KIND_LABELS.items()])
    location = StringField(
        "Location",
        description="A postcode (SW5 0AA), a latitude and longitude (51.4915, -0.1935) or a British "
        "National Grid easting and northing (525800 178400). Leave empty for online spaces and peer groups.",
    )
    address = TextAreaField("Address (optional)")


@bp.get("/")
def index():
    contexts = get_session().scalars(select(Context).order_by(Context.created_at.desc(), Context.id.desc()).limit(200))
    return render_template("contexts/index.html", contexts=list(contexts), kind_labels=CONTEXT_KIND_LABELS)


NEAR_DISTANCES = (100, 250, 500, 1000)


@bp.get("/<int:context_id>")
def profile(context_id: int):
    """One context: its details, the young people linked to it, the missing episodes that began or
    ended near it and when they began, on a small map."""
    context = get_or_404(Context, context_id, "context", current_user.organisation_id)
    session = get_session()
    raw = request.args.get("within", "250")
    if raw not in {str(metres) for metres in NEAR_DISTANCES}:
        params.bad_parameter("within", raw, "is not one of: " + ", ".join(map(str, NEAR_DISTANCES)) + " (metres)")
    within = int(raw)
    period, since = params.period(request.args)
    links = session.execute(context_links(context.id)).all()
    linked = sorted({row.ContextLink.young_person_id for row in links})
    groups = grouped(session, linked, ties(session, linked, among_them=True, leave_out_context=context.id))
    nearby = session.execute(episodes_near(context.id, within, since)).all() if context.geometry is not None else []
    grid = Counter()
    for row in nearby:
        local = row.MissingEpisode.started_at.astimezone(LONDON)
        grid[(local.isoweekday(), local.hour)] += 1
    return render_template(
        "contexts/profile.html",
        context=context,
        kind_label=CONTEXT_KIND_LABELS[context.kind],
        concern_labels=CONCERN_CODES,
        links=links,
        peer_groups=groups,
        nearby=nearby,
        within=within,
        distances=NEAR_DISTANCES,
        period=period,
        periods=params.PERIODS,
        when=when_table(grid),
        map=maps.embed(maps.context_map(context, within, nearby)) if context.geometry is not None else None,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = ContextForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            context = new_context(
                session,
                name=form.name.data,
                kind=form.kind.data,
                location=form.location.data,
                address=form.address.data,
                organisation_id=current_user.organisation_id,
            )
        except InvalidInput as error:
            for problem in error.errors:
                getattr(form, problem.field).errors.append(problem.message)
            return render_template("contexts/new.html", form=form), 400
        session.commit()
        flash(f"Context “{context.name}” added.", "success")
        return redirect(url_for("contexts.index"))
    return render_template("contexts/new.html", form=form), 400 if form.errors else 200
