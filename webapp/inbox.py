"""Other organisations' items: the referred contexts an organisation runs (a school, a housing
provider, a children's home) or is named in as an agency, listed for its users with the new ones
first; each shows the context, its case and the agencies' notes, and takes a note. The young people
linked to a context, their episodes and the link history stay with the authority that owns it.
"""


from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from models.cases import add_case_note, case_notes, case_records, case_state
from models.codes import CASE_STAGE_LABELS, CONTEXT_KIND_LABELS
from models.contexts import merged_into
from models.inbox import NEW_ITEM_COUNT, mark_read, organisation_item, organisation_items
from models.people import Organisation
from models.safeguarding import Context
from models.times import LONDON, london_today
from models.validation import InvalidInput
from webapp.access import Access, declare
from webapp.cases import NoteForm
from webapp.contexts import show_errors
from webapp.db import MAX_ID, get_session

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
declare(bp, Access.SIGNED_IN)


def init_app(app: Flask) -> None:
    app.context_processor(_new_items)


def _new_items() -> dict:
    """How many items are new to the signed-in user, for the menu."""
    if not current_user.is_authenticated:
        return {}
    return {"new_items": get_session().scalar(
        NEW_ITEM_COUNT, {"user_id": current_user.id, "organisation_id": current_user.organisation_id})}


def organisation_context(context_id: int) -> Context:
    """A referred context that involves the user's organisation, or a 404."""
    context = get_session().scalar(organisation_item(current_user.organisation_id, context_id)) \
        if context_id <= MAX_ID else None
    if context is None:
        abort(404, description=f"There is no context {context_id} in your organisation's items.")
    return context


@bp.get("/")
def index():
    items = get_session().execute(organisation_items(current_user.id, current_user.organisation_id)).all()
    return render_template("inbox/index.html", items=items, kind_labels=CONTEXT_KIND_LABELS,
                           stage_labels=CASE_STAGE_LABELS, london=LONDON, today=london_today())


def _item_page(context: Context, form: NoteForm, status: int = 200):
    session = get_session()
    return render_template(
        "inbox/item.html", context=context, form=form, kind_labels=CONTEXT_KIND_LABELS, stage_labels=CASE_STAGE_LABELS,
        case=case_state(session, context.id), case_records=session.scalars(case_records(context.id)).all(),
        notes=session.scalars(case_notes(context.id, *session.scalars(merged_into(context.id)))).all(),
        london=LONDON, today=london_today(),
        organisation_names=dict(session.execute(select(Organisation.id, Organisation.name)).all()),
    ), status


@bp.get("/<int:context_id>")
def item(context_id: int):
    """The context, its case and the notes; opening it marks it read for this user."""
    context = organisation_context(context_id)
    session = get_session()
    mark_read(session, current_user.id, context.id)
    session.commit()
    return _item_page(context, NoteForm())


@bp.post("/<int:context_id>/notes")
def note(context_id: int):
    """Add a note as the user's organisation."""
    context = organisation_context(context_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _item_page(context, form, 400)
    session = get_session()
    try:
        add_case_note(session, context, current_user, form.text.data)
        mark_read(session, current_user.id, context.id)
        session.commit()
    except InvalidInput as error:
        session.rollback()
        show_errors(form, error)
        return _item_page(organisation_context(context_id), form, 400)
    flash("Note added: the authority and every agency on the case can read it.", "success")
    return redirect(url_for("inbox.item", context_id=context_id, _anchor="notes-heading"))
