"""A young person's page: the contexts they are linked to, their missing episodes and placements,
and their peers (individual-level: partner roles are refused)."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from models.cases import CaseState, latest_records
from models.codes import (
    CASE_STAGE_LABELS,
    CHILD_MEETING_LABELS,
    CONCERN_CODES,
    CONTEXT_KIND_LABELS,
    LEGAL_STATUS_CODES,
    PLACE_CODES,
    ContextStatus,
)
from models.collection_years import SEX_LABELS
from models.geography import LocalAuthority
from models.meetings import add_meeting, meetings_of
from models.queries import her_context_ids, her_links, hers
from models.safeguarding import Context, MissingEpisode, Placement, YoungPerson
from models.times import LONDON, age_in_years, london_today
from models.validation import InvalidInput
from webapp import params
from webapp.access import Access, declare
from webapp.contexts import show_errors
from webapp.db import MAX_ID, get_or_404, get_session
from webapp.peers import grouped, people_by_id, ties

bp = Blueprint("people", __name__, url_prefix="/young-people")
declare(bp, Access.INDIVIDUALS)


@bp.get("/")
def find():
    """Open a young person's page by their reference (the search box in the page header)."""
    reference = request.args.get("reference", "").strip().upper()[:40]
    if not reference:  # the search stays on the page, with what is wrong beside it
        return render_template("people/find.html", reference="",
                               problem="Enter a young person's reference, e.g. YP-PLACED."), 400
    person_id = get_session().scalar(select(YoungPerson.id).where(
        YoungPerson.reference == reference, YoungPerson.organisation_id == current_user.organisation_id))
    if person_id is None:
        return render_template("people/find.html", reference=reference,
                               problem=f"No young person in your records has the reference “{reference}”. "
                                       "Check it, or find her through a context she is linked to."), 404
    return redirect(url_for("people.profile", person_id=person_id))


@bp.get("/<int:person_id>")
def profile(person_id: int):
    person = get_or_404(YoungPerson, person_id, "young person", current_user.organisation_id)
    session = get_session()
    period, since = params.period(request.args)
    links = session.execute(her_links(person)).all()
    episodes = select(MissingEpisode).where(hers(MissingEpisode, person))
    if since is not None:
        episodes = episodes.where(MissingEpisode.started_at >= since)
    placements = session.scalars(
        select(Placement).where(hers(Placement, person)).order_by(Placement.started_on.desc())
    ).all()
    # Direct peers first, then the groups they form among themselves.
    direct = ties(session, [person.id], among_them=False)
    peer_ids = sorted({peer for _, peer in direct})
    strong_ids = sorted({peer for (_, peer), tie in direct.items() if tie.strong})
    peers = people_by_id(session, peer_ids)
    cases = {record.context_id: CaseState(record)
             for record in session.scalars(latest_records([context.id for _, context in links]))} if links else {}
    return render_template(
        "people/profile.html",
        person=person,
        age=age_in_years(person.birth_month, london_today()),
        authority_name=session.scalar(select(LocalAuthority.name).where(
            LocalAuthority.code == person.responsible_authority_code)),
        sex_labels=SEX_LABELS,
        links=links,
        cases=cases,
        stage_labels=CASE_STAGE_LABELS,
        meetings=session.scalars(meetings_of(person)).all(),
        meeting_labels=CHILD_MEETING_LABELS,
        context_names={context.id: context.name for _, context in links},
        own_contexts=session.execute(select(Context.id, Context.name).where(
            Context.organisation_id == current_user.organisation_id, Context.status == ContextStatus.OPEN)
            .order_by(Context.name)).all(),
        today=date.today(),
        episodes=session.scalars(episodes.order_by(MissingEpisode.started_at.desc())).all(),
        placements=placements,
        # Strongest ties first: missing together, then the most shared contexts.
        peers=sorted(((peers[peer], tie) for (_, peer), tie in direct.items()),
                     key=lambda pair: (-pair[1].episodes, -len(pair[1].contexts), pair[0].reference)),
        peer_groups=grouped(session, strong_ids, ties(session, strong_ids, among_them=True)),
        period=period,
        periods=params.PERIODS,
        london=LONDON,
        kind_labels=CONTEXT_KIND_LABELS,
        concern_labels=CONCERN_CODES,
        place_labels=PLACE_CODES,
        legal_status_labels=LEGAL_STATUS_CODES,
    )


class MeetingForm(FlaskForm):
    # Checked by models.meetings, whose messages name the field and the value.
    kind = SelectField("What", validate_choice=False,
                       choices=[SelectChoice(kind.value, label) for kind, label in CHILD_MEETING_LABELS.items()])
    held_on = StringField("Date", render_kw={"type": "date"})
    extra_familial_harm = RadioField("Was extra-familial harm a factor?", validate_choice=False,
                                     choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")])
    sources = SelectMultipleField("Contexts that were its source", validate_choice=False, render_kw={"size": 5},
                                  description="Of the contexts linked to this young person; only if harm was a factor.")
    concerns = SelectMultipleField("Concerns (Children in Need census codes)", validate_choice=False,
                                   render_kw={"size": 6},
                                   choices=[SelectChoice(code, f"{code}: {label}") for code, label in CONCERN_CODES.items()])


@bp.route("/<int:person_id>/meetings", methods=["GET", "POST"])
def meeting(person_id: int):
    """Record an assessment or child protection conference about the young person."""
    person = get_or_404(YoungPerson, person_id, "young person", current_user.organisation_id)
    session = get_session()
    form = MeetingForm()
    form.sources.choices = [SelectChoice(str(context.id), context.name) for context in session.scalars(
        select(Context).where(Context.id.in_(her_context_ids(person))).order_by(Context.name))]
    if form.validate_on_submit():
        try:
            add_meeting(session, person, current_user, kind=form.kind.data, held_on=form.held_on.data,
                        extra_familial_harm=form.extra_familial_harm.data, sources=form.sources.data,
                        concerns=form.concerns.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("people/meeting.html", form=form, person=person), 400
        flash("Recorded.", "success")
        return redirect(url_for("people.profile", person_id=person_id, _anchor="meetings-heading"))
    return render_template("people/meeting.html", form=form, person=person), 400 if form.errors else 200


@bp.get("/<int:person_id>/link")
def link_to_context(person_id: int):
    """From her page, to the form linking her to the chosen context (one of the organisation's)."""
    person = get_or_404(YoungPerson, person_id, "young person", current_user.organisation_id)
    chosen = request.args.get("context", "")
    context_id = int(chosen) if chosen.isascii() and chosen.isdigit() and int(chosen) <= MAX_ID else None
    context = get_session().get(Context, context_id) if context_id else None
    if context is None or context.organisation_id != current_user.organisation_id:
        params.bad_parameter("context", chosen[:20], "is not one of your contexts")
    return redirect(url_for("links.new", context_id=context.id, young_person=person.reference))
