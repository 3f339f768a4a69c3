"""Links between young people and a context, from the context's profile: record one, change it (an
edit on a stale page is refused), remove it with a note of why; administrators restore removed ones."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from models.codes import CONCERN_CODES
from models.contexts import StaleChange
from models.links import LINK_ROLE_LABELS, RELIABILITY_LABELS, add_link, change_link, remove_link, restore_link
from models.people import Organisation
from models.safeguarding import Context, ContextLink
from models.validation import InvalidInput
from webapp.access import Access, declare, needs
from webapp.contexts import ChangeForm, own_context, require_form, show_errors, stale_page
from webapp.db import MAX_ID, get_session, visible_organisations

bp = Blueprint("links", __name__, url_prefix="/contexts/<int:context_id>/links")
declare(bp, Access.INDIVIDUALS)


class LinkForm(FlaskForm):
    # The choices are checked by models.links, whose messages name the field and the value.
    version = HiddenField()
    young_person = StringField("Young person (reference)", description="The pseudonymous reference, e.g. YP-PLACED.")
    # Nothing chosen until someone chooses: a default would be saved unread.
    role = SelectField("How they are connected", validate_choice=False,
                       choices=[SelectChoice("", "Choose…")]
                       + [SelectChoice(role.value, label) for role, label in LINK_ROLE_LABELS.items()])
    concerns = SelectMultipleField(
        "Concerns (Children in Need census codes)", validate_choice=False,
        choices=[SelectChoice(code, f"{code}: {label}") for code, label in CONCERN_CODES.items()],
        description="Hold Ctrl (or ⌘) to choose more than one.", render_kw={"size": 8})
    first_seen = StringField("First seen", render_kw={"type": "date"})
    last_seen = StringField("Last seen (optional)", render_kw={"type": "date"})
    recorded_by = SelectField("Recording agency", validate_choice=False)
    reliability = SelectField("How reliable the information is", validate_choice=False,
                              choices=[SelectChoice(value.value, label) for value, label in RELIABILITY_LABELS.items()])


def _form(**values) -> LinkForm:
    form = LinkForm(**values)
    organisations = get_session().scalars(select(Organisation).order_by(Organisation.name)).all()
    form.recorded_by.choices = [SelectChoice(str(organisation.id), organisation.name) for organisation in organisations]
    if request.method == "GET" and not form.recorded_by.data:
        form.recorded_by.data = str(current_user.organisation_id)
    return form


def _entered(form: LinkForm) -> dict:
    return {"reference": form.young_person.data, "role": form.role.data, "concerns": form.concerns.data,
            "first_seen": form.first_seen.data, "last_seen": form.last_seen.data,
            "recorded_by": form.recorded_by.data, "reliability": form.reliability.data}


def _link(context: Context, link_id: int, include_removed: bool = False) -> ContextLink:
    """A link to ``context`` of a young person the user may see, or a 404."""
    link = get_session().scalar(
        select(ContextLink).where(ContextLink.organisation_id.in_(visible_organisations()), ContextLink.id == link_id,
                                  ContextLink.context_id == context.id)
        .execution_options(include_removed=include_removed)) if link_id <= MAX_ID else None
    if link is None:
        abort(404, description=f"There is no link {link_id} on this context.")
    return link


@bp.route("/new", methods=["GET", "POST"])
def new(context_id: int):
    context = own_context(context_id)
    form = _form()
    if request.method == "GET":  # from a young person's page: her reference filled in
        form.young_person.data = request.args.get("young_person", "")[:20]
    if form.validate_on_submit():
        session = get_session()
        try:
            link = add_link(session, context, current_user, **_entered(form))
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("links/form.html", form=form, context=own_context(context_id), link=None), 400
        flash(f"{link.young_person.reference} linked to this context.", "success")
        return redirect(url_for("contexts.profile", context_id=context_id))
    return render_template("links/form.html", form=form, context=context, link=None), 400 if form.errors else 200


@bp.route("/<int:link_id>", methods=["GET", "POST"])
def edit(context_id: int, link_id: int):
    context = own_context(context_id)
    link = _link(context, link_id)
    if request.method == "GET":
        form = _form(version=link.version, young_person=link.young_person.reference, role=link.role.value,
                     concerns=link.concern_codes, first_seen=link.first_seen_on.isoformat(),
                     last_seen=link.last_seen_on.isoformat() if link.last_seen_on else "",
                     recorded_by=str(link.recorded_by_id), reliability=link.reliability.value)
    else:
        form = _form()
    if form.validate_on_submit():
        session = get_session()
        try:
            changes = change_link(session, link, current_user, version=form.version.data, **_entered(form))
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("links/form.html", form=form, context=own_context(context_id),
                                   link=_link(context, link_id)), 400
        except (StaleChange, StaleDataError) as error:
            return stale_page("links/form.html", context, error, "link", form=form, link=_link(context, link_id))
        changed = [field for field in changes if field != "young person" or changes[field][0] != changes[field][1]]
        flash("Link saved: " + ", ".join(changed) + "." if changes else "Nothing had changed, so nothing was saved.",
              "success" if changes else "info")
        return redirect(url_for("contexts.profile", context_id=context_id))
    return render_template("links/form.html", form=form, context=context, link=link), 400 if form.errors else 200


@bp.route("/<int:link_id>/remove", methods=["GET", "POST"])
def remove(context_id: int, link_id: int):
    context = own_context(context_id)
    link = _link(context, link_id)
    form = ChangeForm(version=link.version) if request.method == "GET" else ChangeForm()
    if form.validate_on_submit():
        session = get_session()
        reference = link.young_person.reference
        try:
            remove_link(session, link, current_user, version=form.version.data, note=form.note.data)
            session.commit()
        except InvalidInput as error:
            session.rollback()
            show_errors(form, error)
            return render_template("links/remove.html", form=form, context=own_context(context_id),
                                   link=_link(context, link_id)), 400
        except (StaleChange, StaleDataError) as error:
            return stale_page("links/remove.html", context, error, "link", form=form, link=_link(context, link_id))
        flash(f"{reference}'s link removed. An administrator can restore it.", "success")
        return redirect(url_for("contexts.profile", context_id=context_id))
    return render_template("links/remove.html", form=form, context=context, link=link), 400 if form.errors else 200


@bp.post("/<int:link_id>/restore")
@needs(Access.ADMINISTRATION)
def restore(context_id: int, link_id: int):
    context = own_context(context_id)
    link = _link(context, link_id, include_removed=True)
    require_form()
    session = get_session()
    try:
        restore_link(session, link, current_user)
    except InvalidInput as error:
        session.rollback()
        abort(400, description=str(error))
    session.commit()
    flash(f"{link.young_person.reference}'s link restored.", "success")
    return redirect(url_for("contexts.profile", context_id=context_id))
