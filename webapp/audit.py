"""Recording to the audit log (models.audit): sign-ins as they happen, and after each answered
request the views and exports listed in :data:`AUDITED`, with who, when, what and from where."""

import re
from urllib.parse import unquote_plus

from flask import Flask, request
from flask_login import current_user
from sqlalchemy import insert

from models.audit import AuditAction, AuditEvent
from models.people import User
from models.tokens import TOKEN_PREFIX
from webapp.db import get_session

# A secret pasted into a URL is not kept in the log: the values of these query parameters, and
# anything that looks like one of the API's tokens wherever it stands.
SECRET_PARAMETERS = frozenset({"token", "access_token", "api_key", "key", "password", "secret"})
AN_API_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_%\-]*")
LEFT_OUT = "[left out]"

# Endpoint: what a successful answer to it is recorded as. Every view that shows one child, an
# export or the shared map is here; tests/webapp/test_audit.py checks them.
AUDITED = {
    "people.profile": AuditAction.VIEW_YOUNG_PERSON,
    "contexts.profile": AuditAction.VIEW_CONTEXT,
    "dashboard.hexagon": AuditAction.VIEW_HEXAGON,
    "inbox.item": AuditAction.VIEW_CONTEXT,
    "placements.check_page": AuditAction.PLACEMENT_CHECK,
    "api.placement_checks": AuditAction.PLACEMENT_CHECK,
    "dashboard.export_csv": AuditAction.EXPORT,
    "dashboard.export_geojson": AuditAction.EXPORT,
    "dashboard.export_html": AuditAction.EXPORT,
    "placements.report_download": AuditAction.EXPORT,
    "placements.dfe_download": AuditAction.EXPORT,
    "imports.problems_csv": AuditAction.EXPORT,
    "reports.contexts_csv": AuditAction.EXPORT,
    "imports.upload": AuditAction.IMPORT,
    "shared.index": AuditAction.SHARED_MAP,
    "shared.hexes": AuditAction.SHARED_MAP,
}


def init_app(app: Flask) -> None:
    app.after_request(_record_answered)


def record(action: AuditAction, *, user: User | None = None, username: str | None = None,
           record_id: int | None = None, detail: dict | None = None) -> None:
    """Add one event and commit it at once, so it stays even if the request fails later.
    ``user`` defaults to the signed-in user; ``username`` is what was typed, for failed sign-ins."""
    if user is None and current_user.is_authenticated:
        user = current_user
    session = get_session()
    session.execute(insert(AuditEvent).values(
        user_id=user.id if user else None,
        username=(user.username if user else (username or ""))[:80],
        organisation_id=user.organisation_id if user else None,
        action=action,
        target=_target(),
        record_id=record_id,
        detail=detail or {},
        remote_addr=request.remote_addr,
        user_agent=request.user_agent.string[:200] or None,
    ))
    session.commit()


def _record_answered(response):
    action = AUDITED.get(request.endpoint)
    if action is not None and response.status_code < 400 and current_user.is_authenticated:
        if action == AuditAction.PLACEMENT_CHECK and request.method == "GET" and not request.args:
            return response  # the empty form names nobody
        view_args = request.view_args or {}
        record(action, record_id=view_args.get("person_id") or view_args.get("context_id") or view_args.get("run_id"),
               detail={"status": response.status_code, "method": request.method,
                       **({"api_token": True} if getattr(current_user, "via_token", False) else {})})
    return response


def _target() -> str:
    """The path and query string asked for, without secrets, at most 500 characters."""
    pairs = []
    for pair in filter(None, request.query_string.decode("latin-1").split("&")):
        name, _, value = pair.partition("=")
        pairs.append(f"{name}={LEFT_OUT}" if unquote_plus(name).lower() in SECRET_PARAMETERS else pair)
    target = request.path + ("?" + "&".join(pairs) if pairs else "")
    return AN_API_TOKEN.sub(TOKEN_PREFIX + LEFT_OUT, target)[:500]
