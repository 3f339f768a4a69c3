"""Level 2 work on a context, from its profile: record the next step of its case (referral,
assessment, plan, review, closure) and add agencies' notes; the list of overdue reviews."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from models.cases import (
    add_case_note,
    add_case_record,
    case_state,
    open_cases_by_stage,
    overdue_reviews,
    possible_owners,
)
from models.codes import CASE_STAGE_LABELS, CaseStage
from models.people import Organisation
from models.validation import InvalidInput
from webapp.access import Access, declare
from webapp.contexts import own_context, show_errors
from webapp.db import get_session

bp = Blueprint("cases", __name__, url_prefix="/contexts")
declare(bp, Access.INDIVIDUALS)


class CaseRecordForm(FlaskForm):
    # Choices are checked by models.cases, whose messages name the field and the value.
    stage = SelectField("Step", validate_choice=False)
    held_on = StringField("Date of the meeting or decision", render_kw={"type": "date"})
    owner = SelectField("Owner", validate_choice=False)
    agencies = SelectMultipleField("Agencies involved", validate_choice=False, render_kw={"size": 6},
                                   description="Hold Ctrl (or ⌘) to choose more than one.")
    decision = TextAreaField("Decision")
    next_review = StringField("Next review", render_kw={"type": "date"},
                              description="When the case is next looked at; empty for a closure.")


class NoteForm(FlaskForm):
    text = TextAreaField("Note")


def _record_form(context, state) -> CaseRecordForm:
    form = CaseRecordForm()
    session = get_session()
    form.stage.choices = [SelectChoice(stage.value, CASE_STAGE_LABELS[stage]) for stage in state.next_stages]
    form.owner.choices = [SelectChoice(str(user.id), user.display_name)
                          for user in session.scalars(possible_owners(context.organisation_id))]
    form.agencies.choices = [SelectChoice(str(organisation.id), organisation.name)
                             for organisation in session.scalars(select(Organisation).order_by(Organisation.name))]
    if request.method == "GET":
        form.owner.data = str(state.latest.owner_id if state.latest else current_user.id)
        form.agencies.data = [str(agency) for agency in state.latest.agency_ids] if state.latest else [
            str(current_user.organisation_id)]
    return form


@bp.route("/<int:context_id>/case", methods=["GET", "POST"])
def record(context_id: int):
    context = own_context(context_id)
    session = get_session()
    state = case_state(session, context.id)
    form = _record_form(context, state)
    if form.validate_on_submit():
        try:
            added = add_case_record(session, context, current_user, stage=form.stage.data, held_on=form.held_on.data,
                                    owner=form.owner.data, agencies=form.agencies.data, decision=form.decision.data,
                                    next_review=form.next_review.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("cases/record.html", form=form, context=own_context(context_id), state=state,
                                   labels=CASE_STAGE_LABELS), 400
        flash(f"{CASE_STAGE_LABELS[added.stage]} on {added.held_on:%d %b %Y} recorded.", "success")
        return redirect(url_for("contexts.profile", context_id=context_id, _anchor="case-heading"))
    return render_template("cases/record.html", form=form, context=context, state=state,
                           labels=CASE_STAGE_LABELS), 400 if form.errors else 200


@bp.route("/<int:context_id>/notes", methods=["GET", "POST"])
def note(context_id: int):
    """Add an agency's note against the context (the agency is the writer's organisation)."""
    context = own_context(context_id)
    form = NoteForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            add_case_note(session, context, current_user, form.text.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("cases/note.html", form=form, context=own_context(context_id)), 400
        flash("Note added.", "success")
        return redirect(url_for("contexts.profile", context_id=context_id, _anchor="notes-heading"))
    return render_template("cases/note.html", form=form, context=context), 400 if form.errors else 200


@bp.get("/reviews")
def reviews():
    """Open Level 2 cases whose next review has passed, and open cases by step."""
    session = get_session()
    today = date.today()
    overdue = session.execute(overdue_reviews(current_user.organisation_id, today)).all()
    by_stage = dict(session.execute(open_cases_by_stage(current_user.organisation_id)).all())
    return render_template("cases/reviews.html", overdue=overdue, today=today, labels=CASE_STAGE_LABELS,
                           by_stage=[(stage, by_stage.get(stage, 0)) for stage in CaseStage if stage != CaseStage.CLOSURE],
                           owners={user.id: user.display_name
                                   for user in session.scalars(possible_owners(current_user.organisation_id))})
