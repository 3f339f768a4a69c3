"""The panel pack: the selection as CSV, GeoJSON and a map that opens without the server."""

import csv
import io
import re
from collections import Counter

import h3
import pytest


def expected_cells(episodes, resolution):
    return Counter(h3.latlng_to_cell(point.lat, point.lng, resolution) for _, point in episodes)


def test_csv_has_every_hexagon_with_its_figures(signed_in, episodes):
    response = signed_in.get("/export/hotspots.csv?period=all&res=9")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="hotspots-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
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


@pytest.mark.parametrize("path", ["/export/hotspots.csv", "/export/hotspots.geojson", "/export/hotspots.html"])
def test_exports_refuse_bad_settings_and_partners(client, auth, path):
    auth.sign_in()
    assert client.get(f"{path}?res=42").status_code == 400
    auth.logout()
    auth.sign_in("police_partner")
    assert client.get(path).status_code == 403
