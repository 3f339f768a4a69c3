"""Sign-in and sign-out. Who may reach which page is declared in webapp.access."""

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from models.people import User
from webapp.access import Access, declare, needs
from webapp.db import get_session
from webapp.extensions import login_manager

bp = Blueprint("auth", __name__)
declare(bp, Access.SIGNED_IN)

UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16))


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    app.jinja_env.globals["home_url"] = home_url


def home_url() -> str:
    """Where a signed-in user starts: the dashboard, or the shared map for partner roles."""
    return url_for("dashboard.index" if current_user.role.sees_individuals else "shared.index")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id))
    return user if user is not None and user.active else None


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site, never to another host. Browsers read a backslash as
    a slash, so "/\\evil.example" would leave the site too."""
    if not target or target == "/":  # the front door: the dashboard, or the shared map for partners
        return home_url()
    parts = urlsplit(target)
    if (parts.netloc or parts.scheme or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(character) < 32 for character in target)):
        return home_url()
    return target


@bp.route("/login", methods=["GET", "POST"])
@needs(Access.PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
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
