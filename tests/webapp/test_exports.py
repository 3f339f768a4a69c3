"""The panel pack: the selection as CSV, GeoJSON and a map that opens without the server."""

import csv
import io
import re
from collections import Counter

import h3
import pytest

from geo.hexes import cells_of
from models.codes import ContextKind
from models.safeguarding import Context
from models.times import london_today


def expected_cells(episodes, resolution):
    return Counter(h3.latlng_to_cell(point.lat, point.lng, resolution) for _, point in episodes)


def csv_rows(text: str) -> list[dict]:
    """The table after the lines that say what the selection is."""
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


def test_csv_has_every_hexagon_with_its_figures(signed_in, episodes):
    response = signed_in.get("/export/hotspots.csv?period=all&res=9")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="hotspots-')
    rows = csv_rows(response.get_data(as_text=True))
    assert {row["h3"]: int(row["episodes"]) for row in rows} == expected_cells(episodes, 9)
    assert [int(row["rank"]) for row in rows] == list(range(1, len(rows) + 1))
    assert all(row["near_postcode"] and row["gi_z"] != "" for row in rows)


def test_geojson_matches_the_csv(signed_in, episodes):
    body = signed_in.get("/export/hotspots.geojson?period=all&res=8").get_json()
    assert body["type"] == "FeatureCollection"
    got = {f["properties"]["h3"]: f["properties"]["episodes"] for f in body["features"]}
    assert got == expected_cells(episodes, 8)


def test_html_map_needs_no_server_and_no_network(signed_in, episodes):
    html = signed_in.get("/export/hotspots.html?period=all&res=9").get_data(as_text=True)
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "/static/" not in html
    assert "L.map(" in html and "Leaflet" in html  # the library itself is inside the file
    for cell in expected_cells(episodes, 9):
        assert cell in html


@pytest.mark.parametrize("extension", ["csv", "geojson", "html"])
def test_each_file_is_named_for_its_selection(signed_in, episodes, extension):
    response = signed_in.get(f"/export/hotspots.{extension}?period=6&res=8&sex=female")
    # The test users' authority (tests/conftest.py) is named in the file, with the period and resolution.
    name = re.fullmatch(r'attachment; filename="hotspots-([a-z0-9-]+)-6-months-res8-(\d{4}-\d\d-\d\d)\.' + extension + '"',
                        response.headers["Content-Disposition"])
    assert name and name[2] == london_today().isoformat()
    assert name[1] and not name[1].startswith("-")


def test_csv_and_geojson_say_what_selection_they_hold(signed_in, episodes):
    query = "period=all&res=8&sex=female&hours=22-06&type=M"
    text = signed_in.get(f"/export/hotspots.csv?{query}").get_data(as_text=True)
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# Period: All time" in header
    assert "# Sex: Female" in header and "# Time of day: Night, 22:00 to 06:00" in header
    assert "# Episode type: Missing (whereabouts unknown)" in header and "# Hexagon size: H3 resolution 8" in header
    selection = signed_in.get(f"/export/hotspots.geojson?{query}").get_json()["selection"]
    assert selection["Sex"] == "Female" and selection["Period"] == "All time"
    assert selection["Age at the time"] == "Any" and selection["Hexagon size"] == "H3 resolution 8"
    assert {line.removeprefix("# ").split(": ", 1)[0] for line in header[1:]} == set(selection)


def test_every_context_in_a_hexagon_is_named_in_full(signed_in, session, organisations, episodes):
    _, point = episodes[0]
    names = [f"Takeaway number {n}" for n in range(1, 6)]
    session.add_all(Context(name=name, kind=ContextKind.TAKEAWAY, geometry=point.wkt, cells=cells_of(point),
                            organisation_id=next(iter(organisations.values())).id) for name in names)
    session.commit()
    cell = h3.latlng_to_cell(point.lat, point.lng, 8)
    rows = csv_rows(signed_in.get("/export/hotspots.csv?period=all&res=8").get_data(as_text=True))
    assert sorted(next(row for row in rows if row["h3"] == cell)["context_names"].split("; ")) == names
    features = signed_in.get("/export/hotspots.geojson?period=all&res=8").get_json()["features"]
    assert sorted(next(f for f in features if f["properties"]["h3"] == cell)["properties"]["context_names"]
                  .split("; ")) == names
    html = signed_in.get("/export/hotspots.html?period=all&res=8").get_data(as_text=True)
    assert all(f">{name}</a>" in html for name in names)
    page = signed_in.get("/?period=all&res=8").get_data(as_text=True)
    assert "and 2 more" in page  # the page's own table names three


def test_the_html_pack_explains_itself(signed_in, episodes):
    html = signed_in.get("/export/hotspots.html?period=all&res=9&sex=female").get_data(as_text=True)
    assert re.search(r"<title>Hotspots: [^<]+, all time</title>", html)
    assert '<html lang="en-GB">' in html
    assert re.search(r"Figures as at \d{1,2} \w+ \d{4}, \d\d:\d\d \(London time\)", html)
    assert "<dt>Sex</dt><dd>Female</dd>" in html and "<dt>Period</dt><dd>All time</dd>" in html
    assert 'aria-label="Legend"' in html and "Missing episodes per hexagon:" in html
    table = html[html.index('data-testid="pack-table"'):]
    assert all(f"<code>{cell}</code>" in table for cell in expected_cells(episodes, 9))
    assert "user-scalable=no" not in html


@pytest.mark.parametrize("path", ["/export/hotspots.csv", "/export/hotspots.geojson", "/export/hotspots.html"])
def test_exports_refuse_bad_settings_and_partners(client, auth, path):
    auth.sign_in()
    assert client.get(f"{path}?res=42").status_code == 400
    auth.logout()
    auth.sign_in("police_partner")
    assert client.get(path).status_code == 403
