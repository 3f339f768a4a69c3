"""Contexts: the register's list and the form to add one (the full register is a later feature)."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from models.codes import CONTEXT_KIND_LABELS
from models.contexts import new_context
from models.safeguarding import Context
from models.validation import InvalidInput
from webapp.auth import require_individual_access
from webapp.db import get_session

bp = Blueprint("contexts", __name__, url_prefix="/contexts")
bp.before_request(require_individual_access)


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
