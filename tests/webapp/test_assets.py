"""Static files under fingerprinted names, kept by browsers for a year; and the JSON request logs
with their request ids."""

import json
import logging
import os
import re
from pathlib import Path

import pytest
from flask import url_for

from webapp.assets import Digests, fingerprinted
from webapp.logs import JsonFormatter

STYLESHEET = re.compile(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"')


def test_pages_name_their_files_by_content_and_those_are_kept_for_a_year(client, app):
    page = client.get("/login").get_data(as_text=True)
    (address,) = STYLESHEET.findall(page)
    response = client.get(address)
    assert response.status_code == 200
    assert response.get_data() == (Path(app.static_folder) / "css" / "app.css").read_bytes()
    assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.immutable


def test_a_name_with_another_files_hash_is_not_found(client):
    assert client.get("/static/css/app.000000000000.css").status_code == 404


def test_files_a_stylesheet_reaches_by_their_own_names_are_kept_for_an_hour(client):
    response = client.get("/static/vendor/leaflet/dist/images/marker-icon.png")
    assert response.status_code == 200 and response.cache_control.max_age == 3600
    assert not response.cache_control.immutable


@pytest.mark.parametrize("filename", ["../webapp/config.py", "css/missing.css"])
def test_a_file_outside_the_folder_or_missing_has_no_digest(app, filename):
    assert app.extensions["static_digests"].of(filename) is None


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "app.css").write_text("body { color: black; }")
    digests = Digests(tmp_path.resolve())
    first = digests.of("app.css")
    (tmp_path / "app.css").write_text("body { color: navy; }")
    os.utime(tmp_path / "app.css", ns=(1, 10**18))  # a later modification time, as an edit gives
    assert digests.of("app.css") != first
    assert fingerprinted("app.css", first) == f"app.{first}.css"


def test_maps_load_their_scripts_by_fingerprinted_names(app):
    with app.test_request_context():
        assert re.fullmatch(r"/static/vendor/leaflet/dist/leaflet\.[0-9a-f]{12}\.js",
                            url_for("static", filename="vendor/leaflet/dist/leaflet.js"))


def test_each_request_is_logged_as_json_with_its_id_and_no_query_string(client, caplog):
    caplog.set_level(logging.INFO, logger="webapp.requests")
    response = client.get("/login?next=/young-people/?reference=YP-SECRET", headers={"X-Request-ID": "proxy-id-1234"})
    assert response.headers["X-Request-ID"] == "proxy-id-1234"
    (record,) = [r for r in caplog.records if r.name == "webapp.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request" and line["path"] == "/login" and line["status"] == 200
    assert line["request_id"] == "proxy-id-1234"
    assert "YP-SECRET" not in json.dumps(line) and line["duration_ms"] >= 0


@pytest.mark.parametrize("incoming", ["", "short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"])
def test_a_request_without_a_sensible_id_gets_one_made_here(client, incoming):
    made = client.get("/healthz", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
