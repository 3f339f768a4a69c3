"""Command-line set-up steps, run by ./scripts/run and ./scripts/test: ``flask --app webapp ...``."""

import os

import click
from flask import Flask, current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models.codes import OrganisationKind, Role
from models.demo import DemoSize, demo_loaded, write_demo
from models.people import Organisation, User
from models.postcode_loader import load_local_authorities, load_postcodes, postcodes_loaded

# (username, display name, role, organisation kind)
DEMO_USERS = (
    ("admin", "Demo administrator", Role.ADMINISTRATOR, OrganisationKind.LOCAL_AUTHORITY),
    ("social.worker", "Demo social worker", Role.SOCIAL_WORKER, OrganisationKind.LOCAL_AUTHORITY),
    ("panel", "Demo panel member", Role.PANEL_MEMBER, OrganisationKind.LOCAL_AUTHORITY),
    ("commissioner", "Demo placement commissioner", Role.PLACEMENT_COMMISSIONER, OrganisationKind.LOCAL_AUTHORITY),
    ("police", "Demo police partner", Role.POLICE_PARTNER, OrganisationKind.POLICE),
    ("community", "Demo community partner", Role.COMMUNITY_PARTNER, OrganisationKind.COMMUNITY),
)


def init_app(app: Flask) -> None:
    app.cli.add_command(load_postcodes_command)
    app.cli.add_command(seed_demo_command)


def _engine():
    return current_app.extensions["db_engine"]


@click.command("load-postcodes")
@click.option("--force", is_flag=True, help="Reload even when postcodes are already there.")
def load_postcodes_command(force: bool) -> None:
    """Load every UK postcode (ONS Postcode Directory) and the local authority lookup."""
    engine = _engine()
    with current_app.extensions["db_sessions"]() as session, session.begin():
        load_local_authorities(session)
    if postcodes_loaded(engine) and not force:
        return
    click.echo("Loading every UK postcode from the ONS Postcode Directory (about a minute)...")
    click.echo(f"{load_postcodes(engine):,} postcodes loaded.")


@click.command("seed-demo")
@click.option("--seed", default=2026, show_default=True)
def seed_demo_command(seed: int) -> None:
    """Create the demo data and demo users on first start, then print the demo sign-ins."""
    engine = _engine()
    with engine.connect() as connection:
        loaded = demo_loaded(connection)
    if not loaded:
        click.echo("Writing the synthetic demo data...")
        counts = write_demo(engine, seed=seed, size=DemoSize())
        click.echo(", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in counts.items()))
    password = os.environ.get("DEMO_PASSWORD", "safeguarding-demo")
    with current_app.extensions["db_sessions"]() as session, session.begin():
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
    click.echo("Demo sign-ins (synthetic data only):")
    for username, _, role, _ in DEMO_USERS:
        click.echo(f"  {username:<14} password: {password:<20} role: {role.value}")
