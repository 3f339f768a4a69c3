"""The placements report: DfE categories inside and outside the boundary, medians by placement type,
and flags that agree with the placement check, placement by placement."""

import csv
import io
import re
from datetime import date
from decimal import Decimal
from unittest.mock import patch

import pytest
from sqlalchemy import update

from geo.coords import LatLng
from geo.grid import grid_to_latlng
from geo.hexes import cells_of
from models.codes import PLACE_CODES, OrganisationKind, Role
from models.distances import place_of
from models.people import Organisation
from models.queries import nearest_postcodes
from models.safeguarding import Placement, YoungPerson
from tests.conftest import AuthActions
from tests.webapp.test_placement_check import CLUSTER, PEER_PLACEMENT, RECENT_FOUND, TAKEAWAY, check, child, kinds
from webapp.placement_check import CheckSettings
from webapp.placement_report import FAR, INSIDE, NEAR, NOT_KNOWN, OUTSIDE, dfe_csv, dfe_view, placements_report

__all__ = ["child"]  # the placement check's fixture, shared

SETTINGS = CheckSettings(easy_reach_miles=20, near_miles=1)
# From SW5 0AA (526217, 177764 in the ONS Postcode Directory), worked by hand with the DfE formula:
# W8 4AA (525511, 179965): sqrt(706² + 2201²) = 2311.5 m = 1.44 miles; SW6 1AA (525329, 177220): 0.65;
# LU1 1AA (508653, 221332): 29.19; EH1 1AA (325910, 674040): 332.55.
MILES = {"W8 4AA": 1.4, "SW6 1AA": 0.6, "LU1 1AA": 29.2, "EH1 1AA": 332.6}


def place(session, person: YoungPerson, postcode: str | None, code: str = "U4", ended: date | None = None,
          legal_status: str | None = None):
    point = None
    if postcode:
        record = place_of(session, postcode, "test")
        point = grid_to_latlng(record.easting, record.northing, record.grid_srid)
    session.add(Placement(young_person_id=person.id, place_code=code, started_on=date(2025, 3, 1), ended_on=ended,
                          postcode=postcode, location=point.wkt if point else None,
                          cells=cells_of(point) if point else None, legal_status=legal_status))


@pytest.fixture
def authority(organisations) -> Organisation:
    return organisations[OrganisationKind.LOCAL_AUTHORITY]


def young(session, organisation, reference, home_postcode=None) -> YoungPerson:
    person = YoungPerson(reference=reference, birth_month=date(2010, 1, 1), sex=1, home_postcode=home_postcode,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.flush()
    return person


def test_current_placements_fall_in_the_dfe_categories(session, authority, organisations):
    # Homes in Kensington and Chelsea (E09000020).
    for reference, home, placement, code in [
        ("R-NEAR-IN", "SW5 0AA", "W8 4AA", "U4"),  # Kensington: inside, 2 miles
        ("R-NEAR-OUT", "SW5 0AA", "SW6 1AA", "U4"),  # Fulham: outside, under 20 miles
        ("R-FAR-OUT", "SW5 0AA", "LU1 1AA", "K2"),  # Luton
        ("R-SCOTLAND", "SW5 0AA", "EH1 1AA", "K2"),  # Edinburgh: outside, as Scotland always is
        ("R-NO-HOME", None, "W8 4AA", "K2"),  # no home postcode: distance not known, boundary known
        ("R-NO-PLACE", "SW5 0AA", None, "U4"),  # no placement postcode: neither known
    ]:
        place(session, young(session, authority, reference, home), placement, code)
    ended = young(session, authority, "R-ENDED", "SW5 0AA")
    place(session, ended, "LU1 1AA", ended=date(2025, 6, 1))
    stranger = young(session, organisations[OrganisationKind.POLICE], "R-OTHER-ORG", "SW5 0AA")
    place(session, stranger, "LU1 1AA")
    for short_breaks in ("V3", "V4"):  # left out, as the DfE leaves them out; a care order is not
        place(session, young(session, authority, f"R-SHORT-{short_breaks}", "SW5 0AA"), "LU1 1AA", legal_status=short_breaks)
    place(session, young(session, authority, "R-CARE-ORDER", "SW5 0AA"), "LU1 1AA", "K2", legal_status="C2")
    session.flush()

    report = placements_report(session, authority, SETTINGS, (authority.id,))
    assert sorted(line.reference for line in report.lines) == [
        "R-CARE-ORDER", "R-FAR-OUT", "R-NEAR-IN", "R-NEAR-OUT", "R-NO-HOME", "R-NO-PLACE", "R-SCOTLAND"]
    assert {category: dict(counts) for category, counts in report.table.items()} == {
        NEAR: {INSIDE: 1, OUTSIDE: 1}, FAR: {OUTSIDE: 3}, NOT_KNOWN: {INSIDE: 1, "Boundary not known": 1}}
    miles = {line.reference: line.miles for line in report.lines}
    assert miles == {"R-NEAR-IN": MILES["W8 4AA"], "R-NEAR-OUT": MILES["SW6 1AA"], "R-FAR-OUT": MILES["LU1 1AA"],
                     "R-SCOTLAND": MILES["EH1 1AA"], "R-NO-HOME": None, "R-NO-PLACE": None,
                     "R-CARE-ORDER": MILES["LU1 1AA"]}
    by_type = {row.place_code: (row.placements, row.measured, row.median_miles) for row in report.medians}
    assert by_type == {"K2": (4, 3, MILES["LU1 1AA"]),
                       "U4": (3, 2, round((MILES["W8 4AA"] + MILES["SW6 1AA"]) / 2, 1))}


def nearest(session, point: LatLng) -> str:
    return session.execute(nearest_postcodes([(0, point.lat, point.lng)])).one().postcode


@pytest.mark.parametrize("where, expected", [
    (TAKEAWAY, "linked_context"), (PEER_PLACEMENT, "peers"), (RECENT_FOUND, "missing"), (CLUSTER, "hotspot"),
    (LatLng(51.8787, -0.4200), None)], ids=["her-context", "peer", "her-episode", "hotspot", "luton"])
def test_the_report_flags_a_placement_as_its_check_does(session, signed_in, child, authority, where, expected):
    postcode = nearest(session, where)
    place(session, child, postcode)
    session.commit()
    line = next(line for line in placements_report(session, authority, SETTINGS, (authority.id,)).lines if line.reference == child.reference)
    checked = check(signed_in, postcode, young_person=child.reference)[postcode]
    assert set(line.flags) == kinds(checked)
    assert line.miles == checked["miles"]
    assert (expected in line.flags) if expected else ("home" not in line.flags)


@pytest.fixture
def report_client(client, auth, child):
    auth.sign_in(Role.PLACEMENT_COMMISSIONER.value)
    return client


def test_the_page_links_each_flagged_placement_to_its_check(session, report_client, child):
    place(session, child, "SW5 9QJ")
    session.commit()
    page = report_client.get("/placements/report").get_data(as_text=True)
    assert "20 miles or less" in page and "Over 20 miles" in page and "Not known or not recorded" in page
    assert "/placements/check?young_person=YP-CHECK1&amp;candidates=SW5+9QJ&amp;check=1" in page


def test_the_csv_has_every_current_placement(session, report_client, child):
    place(session, child, "LU1 1AA", code="K2")
    session.commit()
    response = report_client.get("/placements/report.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["young_person"], r["placement_postcode"], r["miles"], r["distance_category"],
             r["distance_not_known_because"], r["boundary"]) for r in rows] == [
        ("YP-CHECK1", "LU1 1AA", "29.2", "Over 20 miles", "", "Outside the boundary"),
        # the peer's placement in the fixture has coordinates but no postcode
        ("YP-CHECK2", "", "", "Not known or not recorded", "no home postcode recorded; no placement postcode recorded",
         "Boundary not known")]


def test_partners_cannot_open_the_report(client, auth):
    auth.sign_in(Role.POLICE_PARTNER.value)
    assert client.get("/placements/report").status_code == 403
    assert client.get("/placements/report.csv").status_code == 403


def test_the_list_can_be_narrowed_to_one_flag(session, report_client, child):
    place(session, child, "SW5 9QJ")  # by the takeaway she is linked to, far from the Kingston hotspot
    session.commit()
    assert "YP-CHECK1" in report_client.get("/placements/report?flag=linked_context").get_data(as_text=True)
    assert "YP-CHECK1" not in report_client.get("/placements/report?flag=hotspot").get_data(as_text=True)
    response = report_client.get("/placements/report?flag=nearby")
    assert response.status_code == 400
    assert "flag: &#39;nearby&#39; is not one of home, linked_context" in response.get_data(as_text=True)


@pytest.mark.parametrize("placement, miles, category, home_flag", [
    ("TN14 5PQ", 20.0, NEAR, True),  # 20.0002 miles: "20 miles or less", and within easy reach
    ("EN11 8AF", 20.0, NEAR, True),  # 19.950, recorded as 20.0
    ("AL10 0AH", 20.1, FAR, False),  # 20.050, recorded as 20.1
])
def test_exactly_twenty_miles_is_twenty_or_less(session, authority, placement, miles, category, home_flag):
    place(session, young(session, authority, "R-TWENTY", "SW5 0AA"), placement)
    session.flush()
    [line] = placements_report(session, authority, SETTINGS, (authority.id,)).lines
    assert (line.miles, line.category, "home" in line.flags) == (miles, category, home_flag)


def test_a_long_list_of_flagged_placements_is_cut_short_on_the_page(make_app, users, session, child):
    client = make_app().test_client()
    AuthActions(client).sign_in(Role.PLACEMENT_COMMISSIONER.value)
    place(session, child, "SW5 9QJ")
    session.commit()
    with patch("webapp.placements.FLAGGED_LISTED", 0):
        page = client.get("/placements/report").get_data(as_text=True)
    assert "YP-CHECK1" not in page and "The first 0 of 1" in page


@pytest.mark.parametrize(("home", "placement", "because"), [
    (None, "W8 4AA", "no home postcode recorded"),
    ("ZZ9 9ZZ", "W8 4AA", "the home postcode ZZ9 9ZZ is not in the ONS Postcode Directory"),
    ("SW5 0AA", "JE2 3AA", "the placement postcode JE2 3AA has no grid reference in the ONS Postcode Directory "
                           "(the Channel Islands, the Isle of Man and some others have none)"),
    ("IM1 1AA", "W8 4AA", "the home postcode IM1 1AA has no grid reference in the ONS Postcode Directory "
                          "(the Channel Islands, the Isle of Man and some others have none)"),
])
def test_a_distance_not_known_says_why(session, authority, home, placement, because):
    person = young(session, authority, "R-WHY", home)
    session.add(Placement(young_person_id=person.id, place_code="U4", started_on=date(2025, 3, 1), postcode=placement))
    session.flush()
    [line] = placements_report(session, authority, SETTINGS, (authority.id,)).lines
    assert (line.miles, line.category, line.not_measured_because) == (None, NOT_KNOWN, because)


def test_the_dfe_view_measures_a_placement_without_its_own_home_postcode_from_the_childs(session, authority):
    """A placement recorded in the app rather than imported has no HOME_POST of its own."""
    place(session, young(session, authority, "R-NO-OWN-HOME", "SW5 0AA"), "LU1 1AA")  # from 1 March 2025
    session.flush()
    [line] = dfe_view(session, authority, date(2025, 3, 31)).lines
    assert (line.home_postcode, line.miles, line.category) == ("SW5 0AA", MILES["LU1 1AA"], FAR)
    assert dfe_view(session, authority, date(2025, 2, 28)).lines == []  # not yet placed


def test_the_dfe_csv_gives_the_returns_own_distance_beside_the_dfes(session, authority):
    person = young(session, authority, "R-OWN-FIGURE", "SW5 0AA")
    place(session, person, "LU1 1AA")
    session.flush()
    session.execute(update(Placement).where(Placement.young_person_id == person.id)
                    .values(return_distance_miles=Decimal("28.4")))
    [row] = csv.DictReader(io.StringIO(dfe_csv(dfe_view(session, authority, date(2025, 3, 31)))))
    assert (row["miles"], row["miles_in_the_return"]) == (f"{MILES['LU1 1AA']:.1f}", "28.4")


@pytest.fixture
def three_near_home(session, authority, child):
    """Three young people placed near their home (SW5 0AA), at 1.4, 0.6 and 20.0 miles, and the
    check's child placed by a takeaway she is linked to."""
    for reference, postcode in (("YP-SORT1", "W8 4AA"), ("YP-SORT2", "SW6 1AA"), ("YP-SORT3", "TN14 5PQ")):
        place(session, young(session, authority, reference, home_postcode="SW5 0AA"), postcode, code="U6")
    place(session, child, "SW5 9QJ")
    session.commit()


def flagged_references(page: str) -> list[str]:
    table = page[page.index('data-testid="flagged"'):page.index("</table>", page.index('data-testid="flagged"'))]
    return [reference for reference in re.findall(r">(YP-[A-Z0-9]+)</a></td>", table)]


def test_flags_say_by_their_badge_whether_they_are_a_risk_or_nearness_to_home(report_client, three_near_home):
    page = report_client.get("/placements/report").get_data(as_text=True)
    assert 'data-testid="flag-legend"' in page
    assert re.search(r'<span class="badge text-bg-info me-1" data-kind="near_home">Within easy reach of home</span>', page)
    assert re.search(r'<span class="badge text-bg-danger me-1" data-kind="risk">Near her contexts</span>', page)
    assert "text-bg-warning" not in page[page.index('data-testid="flagged"'):]
    assert f"<td>{PLACE_CODES['U6']}</td>" in page  # the type by its name, not its code


@pytest.mark.parametrize(("query", "expected"), [
    ("sort=reference&order=desc", ["YP-SORT3", "YP-SORT2", "YP-SORT1", "YP-CHECK1"]),
    ("q=sort2", ["YP-SORT2"]),
    ("q=w84aa", ["YP-SORT1"]),
    ("q=TN14 5PQ&sort=reference", ["YP-SORT3"]),
])
def test_the_flagged_placements_are_searched_and_sorted(report_client, three_near_home, query, expected):
    page = report_client.get(f"/placements/report?{query}").get_data(as_text=True)
    assert flagged_references(page) == expected


def test_the_sorted_column_says_so_and_a_bad_sort_is_refused(report_client, three_near_home):
    page = report_client.get("/placements/report?sort=miles&order=desc").get_data(as_text=True)
    assert re.search(r'<th scope="col" class="text-end" aria-sort="descending">\s*<a href="[^"]*sort=miles[^"]*">Miles</a>',
                     page)
    assert page.count("aria-sort=") == 1
    response = report_client.get("/placements/report?sort=age")
    assert response.status_code == 400 and "sort: &#39;age&#39; is not one of" in response.get_data(as_text=True)


@pytest.mark.parametrize("order", ["", "desc"])
def test_sorting_by_miles_orders_the_distances(report_client, three_near_home, order):
    page = report_client.get(f"/placements/report?sort=miles&order={order}").get_data(as_text=True)
    table = page[page.index('data-testid="flagged"'):page.index("</table>", page.index('data-testid="flagged"'))]
    miles = [float(m) for m in re.findall(r'<td class="text-end">([0-9.]+)</td>', table)]
    assert len(miles) == 4 and miles == sorted(miles, reverse=order == "desc")
    assert {"YP-SORT1", "YP-SORT2", "YP-SORT3"} < set(flagged_references(page))
