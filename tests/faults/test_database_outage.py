"""The database stopped under a running app and started again: every request during the outage
is a prompt 503 (a page for people, JSON for the API, asking to retry), and the same app serves
again within seconds of the database's return, without a restart. The test stops a PostgreSQL
cluster of its own, so the suite's is never touched."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from models.people import Organisation, User
from tests.conftest import PASSWORD
from webapp import create_app

PORT = 54331  # Unix socket only: the number just names the socket file
PROMPT_SECONDS = 5  # an outage answer comes well within this
RECOVERY_SECONDS = 15


class Cluster:
    """A throwaway cluster, run by the postgres user when the tests run as root."""

    def __init__(self, root: Path, bindir: Path):
        self.root, self.bindir, self.data, self.socket = root, bindir, root / "data", root / "socket"

    def run(self, *command: str, check: bool = True, **options) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, text=True, cwd="/", **options)

    def pg_ctl(self, action: str, *options: str, check: bool = True) -> None:
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", *options, action,
                 check=check)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket}&port={PORT}"


@pytest.fixture(scope="module")
def cluster(database_url):
    # Read from this run's own copy: a session on the shared template would stop a parallel worker
    # copying it.
    suites = create_engine(database_url)
    with suites.connect() as connection:
        major = connection.scalar(text("SHOW server_version_num"))[:2]
    suites.dispose()
    root = Path(tempfile.mkdtemp(prefix="csmap-outage-", dir="/tmp"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    own = Cluster(root, Path(f"/usr/lib/postgresql/{major}/bin"))
    own.run("mkdir", "-m", "700", str(own.socket))
    own.run(str(own.bindir / "initdb"), "-D", str(own.data), "-U", "postgres", "--auth-local=trust",
            "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8")
    settings = (f"listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{own.socket}'\n"
                "shared_buffers = 32MB\nfsync = off\n")
    own.run("sh", "-c", f"cat >> {own.data}/postgresql.conf", input=settings)
    own.pg_ctl("start")
    try:
        # The app's schema (no data: the postcodes are not needed here).
        url = make_url(database_url)
        schema = subprocess.run(
            [str(own.bindir / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", "-h", url.query["host"],
             "-p", str(url.query["port"]), "-U", "postgres", "-d", url.database],
            check=True, capture_output=True, text=True).stdout
        engine = create_engine(own.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("CREATE DATABASE outage"))
        engine.dispose()
        subprocess.run([str(own.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(own.socket), "-p",
                        str(PORT), "-U", "postgres", "-d", "outage"], input=schema, check=True, capture_output=True,
                       text=True)
        yield own
    finally:
        own.pg_ctl("stop", "-m", "immediate", check=False)  # already stopped if a test failed mid-outage
        shutil.rmtree(root, ignore_errors=True)


def test_an_outage_is_a_prompt_503_and_the_same_app_serves_again_when_the_database_returns(cluster):
    url = cluster.url("outage")
    engine = create_engine(url)
    with engine.begin() as connection:
        organisation = connection.scalar(insert(Organisation).values(
            name="Outage borough", kind="local_authority", local_authority_code="E09000020").returning(Organisation.id))
        connection.execute(insert(User).values(username="worker", display_name="Worker", role="social_worker",
                                               organisation_id=organisation,
                                               password_hash=generate_password_hash(PASSWORD)))
    engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url, "APP_DATABASE_URL": None,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "TILE_URL": "", "DB_CONNECT_TIMEOUT": 2})
    client = app.test_client()
    assert client.post("/login", data={"username": "worker", "password": PASSWORD}).status_code == 302
    pages = {"/api/v1/hexes?res=8": "json", "/contexts/": "html", "/healthz": "health"}
    for path in pages:
        assert client.get(path).status_code == 200, path

    cluster.pg_ctl("stop", "-m", "fast")
    for path, kind in pages.items():
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < PROMPT_SECONDS, path
        assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
        if kind == "json":
            assert "cannot be reached" in response.get_json()["error"] and response.headers["Retry-After"] == "30"
        elif kind == "html":
            assert "cannot be reached" in response.get_data(as_text=True) and response.mimetype == "text/html"
        else:
            assert response.get_json()["database"] == "unreachable"

    cluster.pg_ctl("start")
    started = time.monotonic()
    while (status := client.get("/api/v1/hexes?res=8").status_code) != 200:
        assert status == 503 and time.monotonic() - started < RECOVERY_SECONDS
        time.sleep(0.2)
    assert all(client.get(path).status_code == 200 for path in pages)
    app.extensions["db_engine"].dispose()
