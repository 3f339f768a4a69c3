"""./scripts/backup and ./scripts/restore on real databases of the local cluster: every row of
every table comes back with the policies and grants, a database that is not empty is refused, and
a damaged backup leaves nothing behind."""

import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.base import make_engine, make_session_factory
from models.demo import DemoSize, write_demo, write_demo_cases
from tests.conftest import DEMO_PASSWORD, copy_template_database, drop_database
from tests.database_state import table_fingerprints
from webapp.cli import ensure_demo_users

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / script), *arguments], capture_output=True, text=True, timeout=900)


def database_name(url: str) -> str:
    return make_url(url).database


def other_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def fingerprint(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = table_fingerprints(connection)
        policies = set(connection.execute(text(
            "SELECT polrelid::regclass::text, polname, pg_get_expr(polqual, polrelid) FROM pg_policy")).all())
        grants = set(connection.execute(text(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = 'csmap_app'")).all())
        leakproof = connection.scalar(text(
            "SELECT proleakproof FROM pg_proc WHERE oid = 'geometry_overlaps(geometry, geometry)'::regprocedure"))
    engine.dispose()
    return {"tables": tables, "policies": policies, "grants": grants, "leakproof": leakproof}


@pytest.fixture(scope="module")
def source():
    """A database with records in every table the demo and its cases fill."""
    url = copy_template_database("backup")
    engine = make_engine(url)
    with engine.begin() as connection:
        write_demo(connection, size=DemoSize(young_people=60, contexts=40, missing_episodes=300))
    with make_session_factory(engine)() as session, session.begin():
        ensure_demo_users(session, DEMO_PASSWORD)
    with make_session_factory(engine)() as session, session.begin():
        write_demo_cases(session)
    with engine.begin() as connection:
        # One borough's postcodes rather than the UK's 2.7 million: the backup and restore of every
        # row are the same, in a second instead of 25.
        connection.execute(text("CREATE TEMPORARY TABLE kept AS SELECT * FROM postcodes "
                                "WHERE local_authority_code = 'E09000020'"))
        connection.execute(text("TRUNCATE postcodes"))
        connection.execute(text("INSERT INTO postcodes SELECT * FROM kept"))
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def backup(source, tmp_path_factory) -> Path:
    file = tmp_path_factory.mktemp("backups") / "csmap.dump"
    made = run("backup", database_name(source), str(file))
    assert made.returncode == 0, made.stderr
    assert file.stat().st_mode & 0o077 == 0  # every record is in it: its owner's alone
    return file


def test_a_restored_backup_holds_every_row_policy_and_grant(source, backup):
    restored = other_database(source, f"csmap_test_restored_{uuid.uuid4().hex[:8]}")
    try:
        done = run("restore", str(backup), database_name(restored))
        assert done.returncode == 0, done.stderr
        before, after = fingerprint(source), fingerprint(restored)
        assert after == before
        filled = {table for table, (rows, _) in before["tables"].items() if rows}
        assert {"young_people", "contexts", "context_links", "missing_episodes", "placements", "case_records",
                "case_notes", "users", "postcodes", "alembic_version"} <= filled
        assert after["leakproof"] is True and len(after["policies"]) > 10
    finally:
        drop_database(restored)


def test_a_database_that_holds_tables_is_never_restored_over(source, backup):
    before = fingerprint(source)
    refused = run("restore", str(backup), database_name(source))
    assert refused.returncode != 0 and f"database {database_name(source)} is not empty" in refused.stderr
    assert fingerprint(source) == before


@pytest.mark.parametrize("damage", ["truncated", "not a backup"])
def test_a_damaged_backup_leaves_nothing_behind(source, backup, tmp_path, damage):
    whole = backup.read_bytes()
    damaged = tmp_path / "damaged.dump"
    damaged.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"SELECT 1;\n")
    target = f"csmap_test_damaged_{uuid.uuid4().hex[:8]}"
    failed = run("restore", str(damaged), target)
    assert failed.returncode != 0
    assert "was undone" in failed.stderr or "is not a backup" in failed.stderr
    engine = create_engine(other_database(source, "postgres"))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": target}) == 0
    engine.dispose()


@pytest.mark.parametrize(("arguments", "message"), [
    ((), "usage: ./scripts/restore FILE DATABASE"),
    (("/nonexistent.dump", "csmap_x"), "cannot read the backup /nonexistent.dump"),
    (("/etc/hostname", "Bad-Name"), "must be lower-case letters"),
])
def test_restore_names_what_is_wrong_with_its_arguments(arguments, message):
    refused = run("restore", *arguments)
    assert refused.returncode != 0 and message in refused.stderr
