"""Declarative base, engine and session factory. No Flask here: loaders and benchmarks use it too."""

from collections.abc import Iterable
from datetime import datetime, timezone

from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, Enum, MetaData, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def copy_rows(connection: Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """Stream ``rows`` into ``table`` with ``COPY`` (under row-level security, one prepared INSERT
    run for every row in a pipeline), through ``connection``'s transaction: ten times faster than
    an INSERT a round trip for the demo's million episodes or an import's 100,000 placements.
    Geometries go as extended WKT, arrays as lists. Returns the number of rows. Rows of the tables
    that totals and tokens are kept for must name their organisation, and are kept for here."""
    from models import upkeep  # which imports the models, and so this module

    kept = table in upkeep.KEPT_TABLES.values()
    if kept and "organisation_id" not in columns:
        raise ValueError(f"rows copied into {table} must name their organisation_id")
    written = upkeep.Written()
    organisation_at = columns.index("organisation_id") if kept else None
    started_at = columns.index("started_at") if kept and table == "missing_episodes" else None
    count = 0

    def noted(rows: Iterable[tuple]) -> Iterable[tuple]:
        nonlocal count
        for row in rows:
            if started_at is not None:
                written.episode_month(row[organisation_at], row[started_at])
            elif kept:
                written.table(row[organisation_at], table)
            count += 1
            yield row

    # PostgreSQL refuses COPY into a table under row-level security (the app's role importing), and
    # Citus would turn an INSERT ... SELECT from a temporary table into a COPY on the shards: those
    # rows go as INSERTs, which the policies check. psycopg's executemany sends them in a pipeline
    # of one prepared statement: 100,000 placements in 6.6 s, against 8.3 s as SQLAlchemy's
    # executemany and 10.6 s as INSERTs of 1,000 rows (whose 9,000 placeholders psycopg parses).
    guarded = connection.scalar(text("SELECT row_security_active(CAST(:t AS regclass))"), {"t": table})
    with connection.connection.driver_connection.cursor() as cursor:
        if guarded:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", noted(rows))
        else:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in noted(rows):
                    copy.write_row(row)
    upkeep.keep(connection, written)
    return count


def make_engine(url: str, **options) -> Engine:
    return create_engine(url, pool_pre_ping=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def enum_column(enum_class, **options):
    """A VARCHAR with a CHECK constraint, storing the enum's values (not its names)."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        **options,
    )


def ours_to_migrate(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: PostGIS's own tables (spatial_ref_sys and friends) are not
    ours to migrate; GeoAlchemy2 decides for geometry columns and their spatial indexes."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
