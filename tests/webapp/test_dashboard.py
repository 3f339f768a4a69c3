import re
from datetime import date, timedelta
from html import escape

import h3
import pytest
from jinja2.utils import htmlsafe_json_dumps

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import ContextKind, MissingType
from models.safeguarding import Context, MissingEpisode, YoungPerson
from models.times import london_midnight, london_today, months_before
from tests.conftest import AuthActions


def asset_urls(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def test_dashboard_draws_hexagons_and_table(signed_in, episodes):
    response = signed_in.get("/?period=all&res=8")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '"h3":' in html  # hexagon features in the map's GeoJSON
    table = html[html.index('data-testid="busiest"'):]
    table = table[: table.index("</table>")]
    first_row = re.search(r"<tbody>\s*<tr>\s*<td>1</td>\s*<td><a [^>]+>([A-Z0-9 ]+)</a>.*?</td>\s*<td[^>]*>(\d+)</td>", table,
                          re.S)
    assert first_row, "the table has no data row"
    postcode, episodes_in_busiest = first_row.groups()
    assert postcode.startswith(("SW5", "SW10", "SW7", "W8", "W14"))  # near Earl's Court
    assert int(episodes_in_busiest) >= 1


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
    AuthActions(client).sign_in()
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


@pytest.mark.parametrize(
    "name",
    ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "${alert(document.cookie)}",
     "`+alert(1)+`"],
)
def test_context_names_reach_the_map_only_as_escaped_data(signed_in, name):
    created = signed_in.post("/api/v1/contexts", json={"name": name, "kind": "park", "location": "SW5 0AA"})
    assert created.status_code == 201
    html = signed_in.get("/?period=all").get_data(as_text=True)
    # Escaped for the tooltip's HTML, then embedded as HTML-safe JSON data, and nowhere else
    # (not inside a script's template string or tooltip code).
    as_data = htmlsafe_json_dumps(escape(name))
    assert html.count(f'"name": {as_data}') == 1
    assert html.count(as_data) == 1
    # Names with markup appear only escaped; the others only once, as that JSON data.
    assert html.count(name) == (0 if "<" in name else 1)


def test_change_against_the_previous_period(signed_in, episodes):
    # 40 nightly episodes from 1 January to 9 February 2026: 20 January to 8 February holds 20
    # of them; the 20 days before (31 December to 19 January) hold 19, nothing being on 31 December.
    html = signed_in.get("/?period=all&from=2026-01-20&to=2026-02-08&res=6").get_data(as_text=True)
    row = re.search(r"<td class=\"text-end\">(\d+)</td>\s*<td class=\"text-end\">([+-]\d+)</td>", html)
    assert row, "no change column in the table"
    assert row.groups() == ("20", "+1")


@pytest.mark.parametrize("query", ["period=all&from=0900-01-01", "period=all&from=0001-01-01&to=0001-01-02"])
def test_very_early_dates_do_not_break_the_page_or_exports(signed_in, query):
    assert signed_in.get(f"/?{query}").status_code == 200
    assert signed_in.get(f"/export/hotspots.csv?{query}").status_code == 200


def test_live_update_gives_hexagons_and_the_page_parts(signed_in, episodes):
    body = signed_in.get("/hotspots.json?period=all&res=auto&zoom=13").get_json()
    assert body["resolution"] == 8 and body["layer"] == "last_seen"
    features = body["hexes"]["features"]
    assert features and all(f["properties"]["colour"].startswith("#") for f in features)
    assert set(body["html"]) == {"summary", "busiest", "when", "months", "exports"}
    total = sum(f["properties"]["episodes"] for f in features)
    assert f"{total} missing episodes in {len(features)} hexagons" in body["html"]["summary"]
    assert "res=auto" in body["html"]["exports"]


@pytest.mark.parametrize(("query", "parameter"), [("res=11", "res"), ("res=auto&zoom=x", "zoom"),
                                                  ("layer=homes", "layer"), ("period=forever", "period")])
def test_live_update_bad_settings_are_json_400s_naming_them(signed_in, query, parameter):
    response = signed_in.get(f"/hotspots.json?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{parameter}: ")


def test_busiest_hexagons_name_their_contexts_and_peak_hours(signed_in, session, organisations, episodes):
    # The fixture's episodes (webapp conftest) start at 22:00 UTC around Earl's Court.
    _, point = episodes[0]
    session.add(Context(name="Peak <Chicken>", kind=ContextKind.TAKEAWAY, geometry=point.wkt, cells=cells_of(point),
                        organisation_id=next(iter(organisations.values())).id))
    session.commit()
    html = signed_in.get("/?period=all&res=6").get_data(as_text=True)
    table = html[html.index('data-testid="busiest"'):]
    assert "Peak &lt;Chicken&gt;</a>" in table  # named, escaped, linked to its profile
    assert "Most starts 22:00–02:00 (100%)" in table
    csv_text = signed_in.get("/export/hotspots.csv?period=all&res=6").get_data(as_text=True)
    assert "Peak <Chicken>" in csv_text and "(100%)" in csv_text


def test_the_page_says_which_study_area_the_hotspot_scores_used(signed_in, episodes):
    html = signed_in.get("/?period=all&res=8").get_data(as_text=True)
    said = re.search(r'data-testid="gi-area">The whole area here is every hexagon whose centre lies in the box '
                     r'[-0-9.,]+: ([0-9,]+) hexagons, empty ones included\.</span>', html)
    assert said and int(said[1].replace(",", "")) > 0


def month_start(months_back: int) -> date:
    return months_before(london_today().replace(day=1), months_back)


@pytest.fixture
def monthly_episodes(session, organisations):
    """One episode on the 1st of this month, one on the 1st of last month, one two months back."""
    organisation = next(iter(organisations.values()))
    person = YoungPerson(reference="YP-MONTHS", birth_month=date(2011, 1, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.flush()
    point = LatLng(51.49, -0.19)
    for months_back in range(3):
        started = london_midnight(month_start(months_back)) + timedelta(hours=1)
        session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING, started_at=started,
                                   ended_at=started + timedelta(hours=3), last_seen_location=point.wkt,
                                   last_seen_cells=cells_of(point)))
    session.commit()


@pytest.mark.parametrize(("query", "episodes", "words"), [
    ("period=this", 1, lambda: f"from {month_start(0):%-d %B %Y} to date"),
    ("period=last", 1, lambda: f"from {month_start(1):%-d %B %Y} to {month_start(0) - timedelta(days=1):%-d %B %Y}"),
    ("period=3", 3, lambda: f"from {month_start(2):%-d %B %Y} to date"),
    (lambda: f"period=custom&from={month_start(1)}&to={month_start(1)}", 1,
     lambda: f"from {month_start(1):%-d %B %Y} to {month_start(1):%-d %B %Y}"),
    (lambda: f"period=12&to={month_start(1)}", 2, lambda: f"up to {month_start(1):%-d %B %Y}"),
])
def test_a_panel_chooses_a_calendar_month_or_dates_of_its_own(signed_in, monthly_episodes, query, episodes, words):
    query = query() if callable(query) else query
    html = signed_in.get(f"/?{query}&res=8").get_data(as_text=True)
    summary = re.search(r'data-testid="summary">\s*(.*?)</p>', html, re.S)[1]
    assert f"Episodes that started {words()}." in summary
    assert f"{episodes} missing episode{'s' if episodes != 1 else ''} in 1 hexagon." in summary
    chosen = "custom" if "from=" in query or "to=" in query else query.split("=")[1]
    assert f'<option value="{chosen}" selected' in html


def test_dates_of_one_s_choice_need_a_date(signed_in):
    response = signed_in.get("/?period=custom")
    assert response.status_code == 400 and "period: &#39;custom&#39; needs a from date" in response.get_data(as_text=True)


def test_each_busiest_row_opens_its_hexagon_s_page(signed_in, session, organisations, episodes):
    _, point = episodes[0]
    session.add(Context(name="Corner Kebab", kind=ContextKind.TAKEAWAY, geometry=point.wkt, cells=cells_of(point),
                        organisation_id=next(iter(organisations.values())).id))
    session.commit()
    html = signed_in.get("/?period=all&res=8&sex=female").get_data(as_text=True)
    links = re.findall(r'<a href="(/hexagons/[0-9a-f]{15}\?[^"]*)" data-testid="hexagon-link">', html)
    assert links and all("period=all" in link and "sex=female" in link for link in links)
    cell = h3.latlng_to_cell(point.lat, point.lng, 8)
    expected = sum(1 for _, p in episodes if h3.latlng_to_cell(p.lat, p.lng, 8) == cell)
    page = signed_in.get(f"/hexagons/{cell}?period=all&sex=female").get_data(as_text=True)
    assert f'data-testid="hexagon-total">{expected} missing episode' in page
    listed = page[page.index('data-testid="hexagon-episodes"'):page.index("</table>", page.index('data-testid="hexagon-episodes"'))]
    assert listed.count("YP-API001</a>") == expected
    assert ">Corner Kebab</a>" in page[page.index('data-testid="hexagon-contexts"'):]
    # The settings carry through: no boys' episodes are in a girls' selection.
    assert 'data-testid="hexagon-total">0 missing episodes' in signed_in.get(
        f"/hexagons/{cell}?period=all&sex=male").get_data(as_text=True)


@pytest.mark.parametrize("cell", ["nothing", "8f194ad16dfffff", "85194ad3fffffff"])
def test_a_hexagon_that_is_not_a_map_hexagon_is_a_404(signed_in, cell):
    assert signed_in.get(f"/hexagons/{cell}").status_code == 404


def test_the_map_says_its_contexts_are_all_the_open_ones_whatever_the_kind_filter(signed_in, session, organisations,
                                                                                    episodes):
    _, point = episodes[0]
    session.add_all(Context(name=name, kind=kind, geometry=point.wkt, cells=cells_of(point),
                            organisation_id=next(iter(organisations.values())).id)
                    for name, kind in (("A park", ContextKind.PARK), ("A takeaway", ContextKind.TAKEAWAY)))
    session.commit()
    html = signed_in.get("/?period=all&res=8&kinds=park").get_data(as_text=True)
    assert "All 2 open contexts are on the map, whatever the filters." in html
