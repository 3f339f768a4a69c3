import re

import pytest

from tests.conftest import AuthActions



def asset_urls(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def test_dashboard_draws_hexagons_and_table(signed_in, episodes):
    response = signed_in.get("/?period=all&res=8")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '"h3":' in html  # hexagon features in the map's GeoJSON
    assert 'data-testid="busiest"' in html
    assert html.count("<tr>") >= 2
    assert "SW5" in html or "SW10" in html or "W8" in html  # nearest postcode to a hexagon in Earl's Court


def test_every_script_and_style_is_served_by_the_app(signed_in, episodes):
    html = signed_in.get("/?period=all").get_data(as_text=True)
    urls = asset_urls(html)
    assert urls, "the page loads no scripts or styles at all"
    external = [url for url in urls if not url.startswith(("/static/", "data:"))]
    assert external == []
    for url in urls:
        if url.startswith("/static/"):
            assert signed_in.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("tile_url", "has_tiles"), [("", False), ("https://tiles.example.test/{z}/{x}/{y}.png", True)]
)
def test_basemap_only_when_a_tile_url_is_set(make_app, users, episodes, tile_url, has_tiles):
    client = make_app(TILE_URL=tile_url, TILE_ATTRIBUTION="Example tiles").test_client()
    AuthActions(client).login()
    html = client.get("/?period=all").get_data(as_text=True)
    assert ("L.tileLayer" in html) == has_tiles
    assert ("tiles.example.test" in html) == has_tiles


def test_empty_period_shows_an_empty_table(signed_in):
    response = signed_in.get("/?period=3")
    assert response.status_code == 200
    assert "No missing episodes in this period." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["res=42", "period=forever", "layer=x"])
def test_bad_settings_are_a_400_page(signed_in, query):
    response = signed_in.get(f"/?{query}")
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)


def test_context_names_are_escaped_in_the_map(signed_in, session, organisations):
    signed_in.post("/api/v1/contexts", json={"name": "<img src=x onerror=alert(1)>", "kind": "park",
                                             "location": "SW5 0AA"})
    html = signed_in.get("/?period=all").get_data(as_text=True)
    assert "<img src=x onerror" not in html
