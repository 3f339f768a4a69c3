"""Sign-in and sign-out. Every page but the sign-in page, /healthz and static files needs a user."""

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from models.codes import Role
from models.people import User
from webapp.db import get_session
from webapp.errors import wants_json
from webapp.extensions import login_manager

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"auth.login", "health.healthz", "static"}
UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16))


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    app.before_request(_require_login)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id))
    return user if user is not None and user.active else None


def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if wants_json():
        abort(401, description="Sign in first: this needs a signed-in session.")
    return login_manager.unauthorized()


def require_individual_access():
    """``before_request`` of every blueprint that shows individual children or exact places, so
    that no view in it can be left open to partner roles. The shared, disclosure-controlled
    partner map is a separate feature."""
    if current_user.is_authenticated and not current_user.role.sees_individuals:
        abort(403, description="Your role sees only the shared, disclosure-controlled partner map, "
              "which is not available yet; no page about individual children or exact places is open to it.")


def require_roles(*roles: Role):
    """A ``before_request`` hook letting only ``roles`` into a blueprint (403 for the others)."""
    names = ", ".join(role.value.replace("_", " ") for role in roles)

    def check():
        if current_user.is_authenticated and current_user.role not in roles:
            abort(403, description=f"This page is for these roles only: {names}.")

    return check


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site, never to another host. Browsers read a backslash as
    a slash, so "/\\evil.example" would leave the site too."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if (parts.netloc or parts.scheme or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(character) < 32 for character in target)):
        return url_for("dashboard.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = get_session().scalar(select(User).where(User.username == form.username.data.strip()))
        # Hash even for unknown usernames, so the response time does not tell which ones exist.
        password_hash = user.password_hash if user is not None else UNKNOWN_USER_HASH
        if not check_password_hash(password_hash, form.password.data) or user is None or not user.active:
            flash("Username or password is not right.", "danger")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
