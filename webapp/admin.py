"""Administration: search the audit log, and issue and revoke API tokens for partners' GIS tools."""

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from models.audit import AUDIT_PAGE, AuditAction, audit_search
from models.people import OrganisationSharing, User
from models.times import london_midnight
from models.tokens import MAX_DAYS, ApiToken, issue_token
from webapp import audit, params
from webapp.access import Access, declare
from webapp.db import MAX_ID, get_or_404, get_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
declare(bp, Access.ADMINISTRATION)


@bp.get("/audit")
def audit_log():
    """The organisation's audit events, newest first, narrowed by the form's fields."""
    args = request.args
    action = args.get("action") or None
    if action is not None and action not in {a.value for a in AuditAction}:
        params.bad_parameter("action", action, "is not one of: " + ", ".join(a.value for a in AuditAction))
    record = args.get("record") or None
    if record is not None and (not record.isascii() or not record.isdigit() or int(record) > MAX_ID):
        params.bad_parameter("record", record, "is not a record number")
    since, until = params.iso_date(args, "from"), params.iso_date(args, "to")
    events = get_session().scalars(audit_search(
        current_user.organisation_id,
        username=(args.get("username") or "").strip() or None,
        action=AuditAction(action) if action else None,
        since=london_midnight(since) if since else None,
        before=london_midnight(until.fromordinal(until.toordinal() + 1)) if until else None,
        record_id=int(record) if record else None,
    )).all()
    return render_template("admin/audit.html", events=events, actions=list(AuditAction), limit=AUDIT_PAGE)


def _token_holders() -> list[User]:
    """Users of this organisation and of the partners it shares with."""
    partners = select(OrganisationSharing.partner_id).where(OrganisationSharing.authority_id == current_user.organisation_id)
    return get_session().scalars(
        select(User).where(User.active, or_(User.organisation_id == current_user.organisation_id,
                                            User.organisation_id.in_(partners)))
        .order_by(User.username)).all()


def _tokens() -> list[ApiToken]:
    holders = [user.id for user in _token_holders()]
    return get_session().scalars(select(ApiToken).where(ApiToken.user_id.in_(holders))
                                 .order_by(ApiToken.created_at.desc())).all()


@bp.get("/tokens")
def tokens():
    return render_template("admin/tokens.html", tokens=_tokens(), holders=_token_holders(), errors={}, typed={},
                           now=datetime.now(timezone.utc), max_days=MAX_DAYS, secret=None)


@bp.post("/tokens")
def issue():
    form = request.form
    holders = {str(user.id): user for user in _token_holders()}
    errors = {}
    holder = holders.get(form.get("user", ""))
    if holder is None:
        errors["user"] = f"user: {form.get('user', '')!r} is not a user you may issue a token to"
    name = form.get("name", "").strip()
    if not name or len(name) > 100:
        errors["name"] = f"name: {name[:40]!r} must be 1 to 100 characters, saying what the token is for"
    days = form.get("days", "")
    if not days.isascii() or not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        errors["days"] = f"days: {days[:20]!r} is not a whole number of days from 1 to {MAX_DAYS}"
    session = get_session()
    if errors:
        return render_template("admin/tokens.html", tokens=_tokens(), holders=list(holders.values()), errors=errors,
                               typed=form, now=datetime.now(timezone.utc), max_days=MAX_DAYS, secret=None), 400
    token, secret = issue_token(session, holder, name, int(days), issued_by=current_user)
    session.commit()
    audit.record(AuditAction.API_TOKEN_ISSUED, record_id=token.id, detail={"for": holder.username, "days": int(days)})
    # Shown once, on this answer only; never stored, never logged.
    return render_template("admin/tokens.html", tokens=_tokens(), holders=list(holders.values()), errors={}, typed={},
                           now=datetime.now(timezone.utc), max_days=MAX_DAYS, secret=secret, issued=token)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    token = get_or_404(ApiToken, token_id, "API token")
    if token.user_id not in {user.id for user in _token_holders()}:
        abort(404, description=f"There is no API token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(timezone.utc)
        get_session().commit()
        audit.record(AuditAction.API_TOKEN_REVOKED, record_id=token.id, detail={"for": token.user.username})
        flash(f"The token {token.hint}… of {token.user.username} is revoked.", "info")
    return redirect(url_for("admin.tokens"))
