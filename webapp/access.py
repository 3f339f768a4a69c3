"""Who may reach each page and API endpoint.

Every endpoint declares an :class:`Access` level, for a whole blueprint with :func:`declare` or for
one view with :func:`needs`. An endpoint that declares nothing is refused to everyone, so a new
page stays closed until someone decides who it is for. ``tests/webapp/test_access.py`` checks every
route against every role, and that the README's table says the same as this module.
"""

from enum import StrEnum

from flask import Blueprint, Flask, abort, current_app, request
from flask_login import current_user

from models.codes import Role
from webapp.db import act_for_organisation
from webapp.errors import wants_json
from webapp.extensions import login_manager


class Access(StrEnum):
    PUBLIC = "public"  # sign-in page, health check, static files
    SIGNED_IN = "signed_in"  # every role, partners included: the shared map, signing out
    INDIVIDUALS = "individuals"  # roles that see individual children and exact places
    IMPORTS = "imports"  # loading the SSDA903 return
    ADMINISTRATION = "administration"  # audit log, API tokens

    @property
    def roles(self) -> frozenset[Role]:
        if self in (Access.PUBLIC, Access.SIGNED_IN):
            return frozenset(Role)
        if self == Access.INDIVIDUALS:
            return frozenset(role for role in Role if role.sees_individuals)
        if self == Access.IMPORTS:
            return frozenset(role for role in Role if role.imports_returns)
        return frozenset({Role.ADMINISTRATOR})

    @property
    def refusal(self) -> str:
        return {
            Access.INDIVIDUALS: "Your role sees the shared, disclosure-controlled partner map; no page about "
                                "individual children or exact places is open to it.",
            Access.IMPORTS: "Only placement commissioners and administrators import returns.",
            Access.ADMINISTRATION: "This page is for administrators only.",
        }.get(self, "Your role may not open this page.")


_BLUEPRINT_ACCESS = "csmap_blueprint_access"


def declare(blueprint: Blueprint, access: Access) -> None:
    """Every endpoint of ``blueprint`` needs ``access`` unless its view says otherwise."""
    blueprint.record_once(lambda state: state.app.extensions.setdefault(_BLUEPRINT_ACCESS, {})
                          .__setitem__(blueprint.name, access))


def needs(access: Access):
    """Decorator: this view needs ``access`` (overrides its blueprint's)."""
    def mark(view):
        view.access = access
        return view
    return mark


def access_of(app: Flask, endpoint: str) -> Access | None:
    """The access an endpoint declared, or None if it declared nothing."""
    if endpoint == "static":
        return Access.PUBLIC
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    if hasattr(view, "access"):
        return view.access
    blueprint = endpoint.rpartition(".")[0]
    return app.extensions.get(_BLUEPRINT_ACCESS, {}).get(blueprint)


def init_app(app: Flask) -> None:
    app.before_request(_check_access)


def _check_access():
    if request.endpoint == "static":
        return None  # open to all, and not worth loading the user for
    if current_user.is_authenticated:
        # Every page a signed-in user sees, a 404 included, counts that user's items in its menu.
        act_for_organisation(current_user.organisation_id)
    if request.endpoint is None:  # no such route: a 404 for the signed-in, the sign-in page for others
        return None if current_user.is_authenticated else login_manager.unauthorized()
    access = access_of(current_app, request.endpoint)
    if access == Access.PUBLIC:
        return None
    if not current_user.is_authenticated:
        if wants_json():
            abort(401, description="Sign in first: this needs a signed-in session or an API token.")
        return login_manager.unauthorized()
    if access is None:
        abort(403, description="This page has not declared who may see it, so nobody may.")
    if current_user.role not in access.roles:
        abort(403, description=access.refusal)
    return None
