"""Command-line steps of the web app: ``flask --app webapp seed-demo`` (run by ./scripts/run),
``flask --app webapp create-user``, ``flask --app webapp import-ssda903`` (scheduled loads),
``recount`` after rows were written outside the app, and ``distribution-plan`` and ``distribute``
for a Citus cluster."""

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from models.aggregates import EpisodeHexMonth
from models.base import make_engine, make_session_factory
from models.codes import OrganisationKind, Role
from models.collection_years import CollectionYear
from models.demo import DemoSize, demo_loaded, share_with_partners, write_demo, write_demo_cases
from models.distribution import (
    OWNER_ROLE,
    PLAN,
    DeploymentFailed,
    Placing,
    blockers,
    deploy,
    distribution_sql,
    joining_metadata,
)
from models.imports import ImportOutcome
from models.people import Organisation, User
from models.security import APP_ROLE
from models.ssda903 import EPISODES, HEADER, MISSING, UASC, import_return
from models.upkeep import recount_organisation

# (username, display name, role, organisation kind)
DEMO_USERS = (
    ("admin", "Demo administrator", Role.ADMINISTRATOR, OrganisationKind.LOCAL_AUTHORITY),
    ("social.worker", "Demo social worker", Role.SOCIAL_WORKER, OrganisationKind.LOCAL_AUTHORITY),
    ("panel", "Demo panel member", Role.PANEL_MEMBER, OrganisationKind.LOCAL_AUTHORITY),
    ("commissioner", "Demo placement commissioner", Role.PLACEMENT_COMMISSIONER, OrganisationKind.LOCAL_AUTHORITY),
    ("police", "Demo police partner", Role.POLICE_PARTNER, OrganisationKind.POLICE),
    ("community", "Demo community partner", Role.COMMUNITY_PARTNER, OrganisationKind.COMMUNITY),
    ("school", "Demo school safeguarding lead", Role.COMMUNITY_PARTNER, OrganisationKind.SCHOOL),
)


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(set_password_command)
    app.cli.add_command(deactivate_user_command)
    app.cli.add_command(reactivate_user_command)
    app.cli.add_command(import_ssda903_command)
    app.cli.add_command(recount_command)
    app.cli.add_command(distribution_plan_command)
    app.cli.add_command(distribute_command)


def _engine():
    """The owner's connection (DATABASE_URL): loads and set-up are not bound by row-level security."""
    if "db_owner_engine" not in current_app.extensions:
        current_app.extensions["db_owner_engine"] = make_engine(current_app.config["DATABASE_URL"])
    return current_app.extensions["db_owner_engine"]


def _owner_sessions():
    if "db_owner_sessions" not in current_app.extensions:
        current_app.extensions["db_owner_sessions"] = make_session_factory(_engine())
    return current_app.extensions["db_owner_sessions"]


@click.command("seed-demo")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def seed_demo_command(seed: int) -> None:
    """Create the demo data and demo users on first start, then print the demo sign-ins."""
    engine = _engine()
    with engine.connect() as connection:
        loaded = demo_loaded(connection)
    if not loaded:
        click.echo("Writing the synthetic demo data...")
        with engine.begin() as connection:
            counts = write_demo(connection, seed=seed, size=DemoSize())
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
        click.echo(", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in counts.items()))
    with engine.begin() as connection:  # also for demo data written before sharing existed
        share_with_partners(connection)
    password = os.environ.get("DEMO_PASSWORD", "safeguarding-demo")
    with _owner_sessions()() as session, session.begin():
        ensure_demo_users(session, password)
    with _owner_sessions()() as session, session.begin():
        write_demo_cases(session)
    click.echo("Demo sign-ins (synthetic data only):")
    for username, _, role, _ in DEMO_USERS:
        click.echo(f"  {username:<14} password: {password:<20} role: {role.value}")


@click.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name shown in the page header.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--organisation", required=True, help="Organisation name; created when new.")
@click.option("--organisation-kind", type=click.Choice([k.value for k in OrganisationKind]),
              default=OrganisationKind.LOCAL_AUTHORITY.value, show_default=True)
@click.option("--authority-code", help="For a local authority: its ONS code, e.g. E09000020.")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_user_command(username, display_name, role, organisation, organisation_kind, authority_code, password):
    """Add a user who can sign in (the first administrator of a real database, say)."""
    with _owner_sessions()() as session, session.begin():
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise click.ClickException(f"username {username!r} is taken")
        owner = session.scalar(select(Organisation).where(Organisation.name == organisation))
        if owner is None:
            owner = Organisation(name=organisation, kind=OrganisationKind(organisation_kind),
                                 local_authority_code=authority_code)
            session.add(owner)
            session.flush()
        session.add(User(username=username, display_name=display_name, role=Role(role),
                         organisation_id=owner.id, password_hash=generate_password_hash(password)))
    click.echo(f"User {username!r} ({role}) added to {organisation!r}.")


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"{username!r} is not a user of the app", param_hint="USERNAME")
    return user


@click.command("set-password")
@click.argument("username")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def set_password_command(username, password):
    """Give a user a new password; every session the user has open ends."""
    with _owner_sessions()() as session, session.begin():
        user = _user(session, username)
        user.password_hash = generate_password_hash(password)
        user.session_version += 1
    click.echo(f"New password set for {username!r}; the user's sessions have ended.")


@click.command("deactivate-user")
@click.argument("username")
@with_appcontext
def deactivate_user_command(username):
    """Stop a user signing in (someone who left, an account thought taken over); every session the
    user has open ends, and the user's API tokens stop working."""
    with _owner_sessions()() as session, session.begin():
        user = _user(session, username)
        user.active = False
        user.session_version += 1
    click.echo(f"{username!r} can no longer sign in; the user's sessions have ended.")


@click.command("reactivate-user")
@click.argument("username")
@with_appcontext
def reactivate_user_command(username):
    """Let a deactivated user sign in again."""
    with _owner_sessions()() as session, session.begin():
        _user(session, username).active = True
    click.echo(f"{username!r} can sign in again.")


PROBLEMS_PRINTED = 20
CSV_FILE = click.Path(exists=True, dir_okay=False, readable=True)


@click.command("import-ssda903")
@click.option("--organisation", required=True, help="The local authority's organisation, by its name in the app.")
@click.option("--header", type=CSV_FILE, required=True, help="The Header table as CSV.")
@click.option("--episodes", type=CSV_FILE, help="The Episodes table as CSV.")
@click.option("--missing", type=CSV_FILE, help="The Missing table as CSV.")
@click.option("--uasc", type=CSV_FILE, help="The UASC table (unaccompanied asylum-seeking children) as CSV.")
@click.option("--valid-rows-only", is_flag=True, help="When there are problems, import the rows that pass.")
@click.option("--collection-year", help="The return's collection year, like 2024/25, whose codes are checked "
              "(by default the year of the latest date in the files).")
@click.option("--problems", "problems_path", type=click.Path(dir_okay=False, writable=True),
              help="Write every problem (the rejected rows) to this CSV file.")
@with_appcontext
def import_ssda903_command(organisation, header, episodes, missing, uasc, valid_rows_only, collection_year,
                           problems_path):
    """Check the SSDA903 tables and import them: all or nothing, unless --valid-rows-only. Exits
    with status 1 when nothing was imported."""
    try:
        year = CollectionYear.named(collection_year) if collection_year else None
    except ValueError as error:
        raise click.BadParameter(f"{collection_year!r} {error}", param_hint="--collection-year") from None
    paths = {HEADER: header, EPISODES: episodes, MISSING: missing, UASC: uasc}
    files = {name: (path, Path(path).read_bytes()) for name, path in paths.items() if path}
    with _owner_sessions()() as session:
        owner = session.scalar(select(Organisation).where(Organisation.name == organisation))
        if owner is None:
            raise click.BadParameter(f"{organisation!r} is not an organisation in the app", param_hint="--organisation")
        try:
            run = import_return(session, owner, files, valid_rows_only=valid_rows_only, year=year)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--organisation") from None
        session.commit()
    lines = run.problems_csv.rstrip("\n").split("\n")[1:]  # problems first, then warnings
    for line in lines[:PROBLEMS_PRINTED]:
        click.echo(line, err=True)
    if len(lines) > PROBLEMS_PRINTED:
        click.echo(f"... and {len(lines) - PROBLEMS_PRINTED:,} more problems or warnings", err=True)
    if problems_path:
        with open(problems_path, "w", encoding="utf-8", newline="") as out:
            out.write(run.problems_csv)
    for table, counts in run.counts.items():
        click.echo(f"{table}: " + ", ".join(f"{number:,} {outcome}" for outcome, number in counts.items()))
    click.echo(f"Import {run.id}: {run.outcome.value.replace('_', ' ')}, {run.problem_count:,} problems.")
    if run.outcome == ImportOutcome.REFUSED:
        raise SystemExit(1)


@click.command("recount")
@click.argument("organisation")
@with_appcontext
def recount_command(organisation: str) -> None:
    """Count ORGANISATION's monthly hexagon totals again from its missing episodes and renew its
    data-version tokens, after its young people, links or episodes were written outside the app
    (psql, a restore): the app's own writes keep both (models.upkeep)."""
    with _engine().begin() as connection:
        organisation_id = connection.scalar(select(Organisation.id).where(Organisation.name == organisation))
        if organisation_id is None:
            raise click.BadParameter(f"{organisation!r} is not an organisation in the app", param_hint="ORGANISATION")
        recount_organisation(connection, organisation_id)
        months = connection.scalar(select(func.count(func.distinct(EpisodeHexMonth.month)))
                                   .where(EpisodeHexMonth.organisation_id == organisation_id))
    click.echo(f"{organisation}: monthly hexagon totals recounted ({months:,} months with episodes), "
               "data versions renewed.")


@click.command("distribution-plan")
@with_appcontext
def distribution_plan_command() -> None:
    """Print where each table goes on a Citus cluster, what in the schema stops it, and the
    statements that distribute it once nothing does (README "Past one machine")."""
    with _engine().connect() as connection:
        problems = blockers(connection)
        statements = distribution_sql(connection)
        joining = joining_metadata(connection)
    for table, placing in sorted(PLAN.items(), key=lambda item: (list(Placing).index(item[1]), item[0])):
        click.echo(f"{table:24} {placing.value}")
    if joining:
        click.echo(f"\nIn Citus's metadata, held to its rules, by their foreign keys: {', '.join(sorted(joining))}.")
    click.echo(f"\n{len(problems)} to change before distributing:" if problems else "\nReady to distribute.")
    for problem in problems:
        click.echo(f"  {problem}")
    click.echo("\nThe statements, run on the coordinator:")
    for statement in statements:
        click.echo(f"  {statement}")


@click.command("distribute")
@click.option("--superuser-url", envvar="DATABASE_URL", required=True,
              help="A superuser's connection to the database on the Citus coordinator; DATABASE_URL by default.")
@click.option("--owner-password", envvar="CSMAP_OWNER_PASSWORD", help=f"For {OWNER_ROLE}, when it is created or differs.")
@click.option("--app-password", envvar="CSMAP_APP_PASSWORD", help=f"For {APP_ROLE}, likewise.")
def distribute_command(superuser_url, owner_password, app_password) -> None:
    """Set up the database on a Citus coordinator whose workers are added, migrate it and
    distribute its tables (models.distribution.deploy); run again, it changes nothing."""
    try:
        done = deploy(superuser_url, owner_password=owner_password, app_password=app_password, echo=click.echo)
    except DeploymentFailed as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Deployed: {len(done)} changes." if done else "Already deployed: nothing to change.")


def ensure_demo_users(session, password: str) -> None:
    """One user per role in the demo organisations, each with ``password``; existing ones are kept."""
    organisations = {o.kind: o.id for o in session.scalars(select(Organisation))}
    for username, display_name, role, kind in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            session.add(
                User(
                    username=username,
                    display_name=display_name,
                    role=role,
                    organisation_id=organisations[kind],
                    password_hash=generate_password_hash(password),
                )
            )
