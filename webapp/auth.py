"""Sign-in and sign-out, API tokens, lock-out and session expiry. Who may reach which page is
declared in webapp.access."""

import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from models.audit import AuditAction
from models.people import SignInFailures, User, count_sign_in_failure, forget_sign_in_failures
from models.tokens import token_named
from webapp import audit
from webapp.access import Access, declare, needs
from webapp.db import get_session
from webapp.extensions import csrf, limiter, login_manager

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
    # CSRF is checked here rather than by Flask-WTF's own hook, so that API requests carrying a
    # bearer token (which a browser never adds by itself) are not asked for a form token.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_protect_from_csrf)
    app.before_request(_expire_session)
    limiter.init_app(app)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _protect_from_csrf():
    """Every write carrying the session cookie needs the form token, bearer header or not: only a
    request with no session at all (a GIS tool, a script) is let through on its token alone."""
    config = current_app.config
    cookieless_token = _bearer_token() is not None and config["SESSION_COOKIE_NAME"] not in request.cookies
    if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"] and not cookieless_token:
        csrf.protect()


@login_manager.request_loader
def _load_user_from_token(_request) -> User | None:
    """An API request with ``Authorization: Bearer <token>`` acts as the token's user, with her
    role; only on the API, never for pages, and never starting a session."""
    secret = _bearer_token()
    if secret is None or not request.path.startswith("/api/"):
        return None
    token = token_named(get_session(), secret)
    now = datetime.now(timezone.utc)
    if token is None or not token.active_at(now) or not token.user.active:
        return None
    if token.note_use(now):
        get_session().commit()
    token.user.via_token = True
    return token.user


def _expire_session():
    """A session ends after SESSION_IDLE_MINUTES without a request (the cookie's own lifetime) and
    SESSION_MAX_HOURS after signing in, whichever comes first."""
    signed_in_at = session.get("signed_in_at")
    if signed_in_at is None or not current_user.is_authenticated:
        return None
    if datetime.now(timezone.utc).timestamp() - signed_in_at > current_app.config["SESSION_MAX_HOURS"] * 3600:
        logout_user()
        session.clear()
        flash("Your session has ended: please sign in again.", "info")
    return None


def home_url() -> str:
    """Where a signed-in user starts: the dashboard, or the shared map for partner roles."""
    return url_for("dashboard.index" if current_user.role.sees_individuals else "shared.index")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The session's user, unless she is no longer active or has signed out since this session
    began (a copy of the cookie kept from before then signs nobody in)."""
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or session.get("session_version") != user.session_version:
        return None
    return user


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
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        user = get_session().scalar(select(User).where(User.username == username))
        # Hash even for unknown usernames, so the response time does not tell which ones exist.
        password_hash = user.password_hash if user is not None else UNKNOWN_USER_HASH
        right = check_password_hash(password_hash, form.password.data)
        now = datetime.now(timezone.utc)
        failures = get_session().get(SignInFailures, (username[:80], request.remote_addr or ""))
        if failures is not None and failures.locked_until is not None and failures.locked_until > now:
            audit.record(AuditAction.SIGN_IN_LOCKED, user=user, username=username)
            flash(f"Sign-in with this name is locked here after {current_app.config['SIGN_IN_LOCK_AFTER']} failed "
                  "tries. Try again later, or ask an administrator.", "danger")
            return render_template("auth/login.html", form=form), 401
        if not right or user is None or not user.active:
            lock_for = timedelta(minutes=current_app.config["SIGN_IN_LOCK_MINUTES"])
            get_session().execute(forget_sign_in_failures(now, lock_for))
            get_session().execute(count_sign_in_failure(
                username, request.remote_addr or "", now, current_app.config["SIGN_IN_LOCK_AFTER"], lock_for))
            audit.record(AuditAction.SIGN_IN_FAILED, user=user, username=username)
            flash("Username or password is not right.", "danger")
            return render_template("auth/login.html", form=form), 401
        if failures is not None:
            get_session().delete(failures)
        session.clear()  # a new session for the new sign-in
        login_user(user)
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request
        session["signed_in_at"] = now.timestamp()
        session["session_version"] = user.session_version
        audit.record(AuditAction.SIGN_IN, user=user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    audit.record(AuditAction.SIGN_OUT)
    current_user.session_version += 1  # every session from before now ends, copies included
    get_session().commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
