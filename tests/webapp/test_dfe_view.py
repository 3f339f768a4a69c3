"""The DfE's view of placement distance and locality, from a 2024/25-shaped return imported through
the import page: every rule it counts by, worked out by hand cell by cell."""

import csv
import io
import re
from math import hypot

import pytest

from models.codes import Role
from models.collection_years import CollectionYear
from models.times import london_today
from tests.models.test_ssda903 import EPISODE_COLUMNS, HEADER_COLUMNS, MISSING_COLUMNS, table

# Responsible authority: Kensington and Chelsea (E09000020), as every test authority. Homes in
# SW5 0AA (Kensington) unless said. Distances from the directory: W8 4AA 1.4 miles (Kensington,
# inside); SW6 1AA 0.6 (Fulham, outside); LU1 1AA 29.2 (Luton, outside).
HEADER = ["C1,F,01/01/2010,,,,", "C2,M,01/01/2010,,,,", "C3,F,01/01/2010,,,,", "C4,M,01/01/2010,,,,",
          "C5,M,01/01/2008,,,,", "C6,F,01/01/2010,,,,", "C7,F,01/01/2010,,,,", "C9,M,01/01/2010,,,,"]
EPISODES = [
    "C1,01/05/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,W8 4AA,",  # inside, 20 miles or less
    "C2,01/05/2024,S,C2,N1,K2,PR4,,,,SW5 0AA,LU1 1AA,SC123456",  # outside, over 20 miles
    "C3,01/05/2024,S,V3,N2,U4,PR1,,,,SW5 0AA,SW6 1AA,",  # short breaks: left out
    # A change of legal status only: one placement, outside, 20 miles or less.
    "C4,01/05/2024,S,V2,N1,U4,PR1,01/09/2024,X1,,SW5 0AA,SW6 1AA,",
    "C4,01/09/2024,L,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,",
    "C5,01/06/2024,S,V2,N1,K2,PR4,,,,SW5 0AA,W8 4AA,XXXXXXX",  # UASC: inside, distance not known
    "C6,01/06/2024,S,C2,N1,U4,PR4,,,,SW5 0AA,JE2 3AA,",  # Jersey: outside England, no grid reference
    "C7,01/05/2024,S,C2,N1,U4,PR1,15/03/2025,E4A,,SW5 0AA,W8 4AA,",  # ended before 31 March: left out
    "C9,01/07/2024,S,C2,N1,K2,PR4,,,,SW5 0AA,BT1 1AA,",  # Belfast: outside, over 20 miles on either grid
]
UASC = ["C5,M,01/01/2008,"]
EXPECTED = {  # (distance category, boundary): children
    ("20 miles or less", "Inside the boundary"): 1,  # C1
    ("20 miles or less", "Outside the boundary"): 1,  # C4
    ("Over 20 miles", "Inside the boundary"): 0,
    ("Over 20 miles", "Outside the boundary"): 2,  # C2, C9
    ("Not known or not recorded", "Inside the boundary"): 1,  # C5
    ("Not known or not recorded", "Outside the boundary"): 1,  # C6
}


@pytest.fixture
def imported(client, auth, session):
    auth.sign_in(Role.PLACEMENT_COMMISSIONER.value)
    data = {"header": (io.BytesIO(table(HEADER_COLUMNS, HEADER)), "header.csv"),
            "episodes": (io.BytesIO(table(EPISODE_COLUMNS, EPISODES)), "episodes.csv"),
            "missing": (io.BytesIO(table(MISSING_COLUMNS, [])), "missing.csv"),
            "uasc": (io.BytesIO(table("CHILD,SEX,DOB,DUC", UASC)), "uasc.csv"),
            "collection_year": "2024/25"}
    response = client.post("/imports/ssda903", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    return client


def test_the_dfe_view_counts_a_return_as_the_dfe_does_cell_by_cell(imported):
    html = imported.get("/placements/dfe?year=2024/25").get_data(as_text=True)
    grid = html[html.index('data-testid="dfe-categories"'):html.index("</table>")]
    boundaries = re.findall(r'<th scope="col" class="text-end">([^<]+)</th>', grid)[:-1]
    assert boundaries == ["Inside the boundary", "Outside the boundary"]
    cells = {(category, boundary): int(count)
             for category, counts in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', grid, re.S)
             if category != "All children looked after"
             for boundary, count in zip(boundaries, re.findall(r'data-testid="cell-\d">([\d,]+)</td>', counts))}
    assert cells == EXPECTED
    assert re.search(r'data-testid="dfe-categories-total">(\d+)<', grid)[1] == str(sum(EXPECTED.values()))


def test_the_csv_names_every_child_with_both_figures_for_northern_ireland(imported, session):
    response = imported.get("/placements/dfe.csv?year=2024/25")
    assert response.headers["Content-Disposition"].endswith("placements-dfe-2025-03-31.csv")
    rows = {row["young_person"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert sorted(rows) == ["C1", "C2", "C4", "C5", "C6", "C9"]
    assert (rows["C1"]["miles"], rows["C4"]["miles"], rows["C2"]["miles"]) == ("1.4", "0.6", "29.2")
    assert rows["C4"]["started_on"] == "2024-05-01"  # the placement goes on through the change of legal status
    assert rows["C5"]["distance_not_known_because"].startswith("an unaccompanied asylum-seeking child")
    assert rows["C6"]["distance_not_known_because"].startswith("the placement postcode JE2 3AA has no grid reference")
    # Belfast's grid reference is on the Irish Grid: the DfE's formula mixes it with London's British
    # one (the directory's figures: SW5 0AA 526217, 177764; BT1 1AA 334316, 374675).
    assert rows["C9"]["miles"] == f"{round(hypot(526217 - 334316, 177764 - 374675) / 1609.3, 1):.1f}" == "170.9"
    assert 310 < float(rows["C9"]["miles_on_one_grid"]) < 330 and rows["C1"]["miles_on_one_grid"] == ""


THIS_YEAR = CollectionYear.containing(london_today())  # not ended yet


@pytest.mark.parametrize(("year", "reason"), [
    ("2024-25", "is not a collection year written as the DfE writes it, like 2024/25"),
    (THIS_YEAR.name, f"has not ended: the latest year ended is {CollectionYear(THIS_YEAR.starts - 1).name}"),
])
def test_a_year_that_cannot_be_counted_is_named(imported, year, reason):
    response = imported.get(f"/placements/dfe?year={year}")
    assert response.status_code == 400 and reason in response.get_data(as_text=True)
