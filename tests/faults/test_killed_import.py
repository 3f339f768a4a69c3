"""An SSDA903 import whose process is killed half-way, after it has begun writing, leaves the
database exactly as it was: the import is one transaction, and PostgreSQL undoes it when the
connection drops."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from models.base import make_engine
from models.demo import synthetic_return
from models.people import Organisation
from tests.conftest import copy_template_database, drop_database
from tests.database_state import table_fingerprints

APPLICATION = "csmap-killed-import"  # names the import's connection in pg_stat_activity
CHILDREN = 4_000  # 16,000 placement episodes: several seconds of writing to be killed in


@pytest.fixture
def database():
    url = copy_template_database("killed")
    yield url
    drop_database(url)


def import_backends(connection) -> list[tuple]:
    """The import's connections: whether each holds a transaction id (it has written something)."""
    return connection.execute(text("SELECT pid, backend_xid IS NOT NULL FROM pg_stat_activity "
                                   "WHERE application_name = :name"), {"name": APPLICATION}).all()


def test_an_import_killed_half_way_leaves_the_database_as_it_was(database, tmp_path):
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(insert(Organisation).values(name="Killed import borough", kind="local_authority",
                                                       local_authority_code="E09000020"))
        files = synthetic_return(connection, CHILDREN)
    paths = {}
    for table, (name, content) in files.items():
        paths[table] = tmp_path / name
        paths[table].write_bytes(content)
    with engine.connect() as connection:
        before = table_fingerprints(connection)
    flask = Path(sys.executable).with_name("flask")
    importing = subprocess.Popen(
        [str(flask), "--app", "webapp", "import-ssda903", "--organisation", "Killed import borough",
         "--header", str(paths["Header"]), "--episodes", str(paths["Episodes"]), "--missing", str(paths["Missing"])],
        env={**os.environ, "DATABASE_URL": database, "SECRET_KEY": "x", "PGAPPNAME": APPLICATION},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            while not any(writing for _, writing in import_backends(connection)):
                assert importing.poll() is None, importing.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the import never began writing"
                time.sleep(0.05)
            importing.send_signal(signal.SIGKILL)
            importing.wait(timeout=30)
            deadline = time.monotonic() + 30
            while import_backends(connection):  # PostgreSQL notices the dropped connection and rolls back
                assert time.monotonic() < deadline, "the killed import's connection lingered"
                time.sleep(0.05)
    finally:
        if importing.poll() is None:
            importing.kill()
    assert importing.returncode == -signal.SIGKILL
    with engine.connect() as connection:
        assert table_fingerprints(connection) == before
    engine.dispose()
