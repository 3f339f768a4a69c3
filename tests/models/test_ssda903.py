"""SSDA903 import: every problem is named with file, row, column and value; nothing is written when
there is one, unless only the valid rows are asked for; a second load of the same files changes
nothing."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models.codes import PLACE_CODES, MissingType, OrganisationKind
from models.collection_years import EVERY_PLACE_CODE, FEMALE, MALE, SEX_NOT_KNOWN, CollectionYear
from models.imports import ImportOutcome, ImportRun
from models.people import Organisation
from models.safeguarding import MissingEpisode, Placement, YoungPerson
from models.ssda903 import EPISODES, HEADER, MISSING, UASC, import_return
from models.times import LONDON, london_midnight

HEADER_COLUMNS = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"
EPISODE_COLUMNS = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"
MISSING_COLUMNS = "CHILD,DOB,MISSING,MIS_START,MIS_END"

GOOD_HEADER = [
    "101,F,14/03/2010,WBRI,A123456789012,,",
    "102,M,02/11/2009,MWBC,,,",
]
GOOD_EPISODES = [
    # 101: a local foster placement, then a children's home in Luton, far from home.
    "101,01/04/2024,S,C2,N1,U4,PR1,10/01/2025,E11,,SW5 0AA,SW6 1AA,",
    "101,10/01/2025,P,C2,N1,K2,PR3,,,,SW5 0AA,LU1 1AA,SC123456",
    "102,15/06/2025,S,V2,N1,U1,PR2,,,,nw1 2db,sw1a1aa,",
]
GOOD_MISSING = [
    "101,14/03/2010,M,02/02/2025,03/02/2025",
    "101,14/03/2010,A,20/02/2025,20/02/2025",
    "101,14/03/2010,M,01/03/2025,",
    "102,02/11/2009,M,05/07/2025,06/07/2025",
]


def table(columns: str, rows: list[str]) -> bytes:
    return ("\n".join([columns, *rows]) + "\n").encode()


def files(header=GOOD_HEADER, episodes=GOOD_EPISODES, missing=GOOD_MISSING) -> dict:
    made = {HEADER: ("header.csv", table(HEADER_COLUMNS, header))}
    if episodes is not None:
        made[EPISODES] = ("episodes.csv", table(EPISODE_COLUMNS, episodes))
    if missing is not None:
        made[MISSING] = ("missing.csv", table(MISSING_COLUMNS, missing))
    return made


@pytest.fixture
def authority(session) -> Organisation:
    organisation = Organisation(name="Test authority", kind=OrganisationKind.LOCAL_AUTHORITY,
                                local_authority_code="E09000020")
    session.add(organisation)
    session.flush()
    return organisation


def problems(run: ImportRun) -> list[dict]:
    return list(csv.DictReader(io.StringIO(run.problems_csv)))


def stored(session) -> dict[str, int]:
    return {name: session.scalar(select(func.count()).select_from(model))
            for name, model in (("young people", YoungPerson), ("placements", Placement),
                                ("missing episodes", MissingEpisode))}


def test_a_clean_return_creates_young_people_placements_and_episodes(session, authority):
    run = import_return(session, authority, files())
    assert run.outcome == ImportOutcome.IMPORTED and run.problem_count == 0
    assert run.rows_read == {HEADER: 2, EPISODES: 3, MISSING: 4}
    assert {table: counts["created"] for table, counts in run.counts.items()} == {
        "young people": 2, "placements": 3, "missing episodes": 4}
    child = session.scalar(select(YoungPerson).where(YoungPerson.reference == "101"))
    # Only the month of birth is kept; the home is the latest episode's HOME_POST.
    assert (child.birth_month, child.sex, child.home_postcode) == (date(2010, 3, 1), 2, "SW5 0AA")
    assert child.responsible_authority_code == "E09000020" and child.home_cells is not None
    current = session.scalar(select(Placement).where(Placement.young_person_id == child.id, Placement.ended_on.is_(None)))
    assert (current.place_code, current.postcode, current.urn, current.started_on) == ("K2", "LU1 1AA", "SC123456", date(2025, 1, 10))
    assert current.cells is not None
    other = session.scalar(select(Placement).join(YoungPerson).where(YoungPerson.reference == "102"))
    assert other.postcode == "SW1A 1AA"  # typed in lower case without its space
    episodes = session.scalars(select(MissingEpisode).where(MissingEpisode.young_person_id == child.id)
                               .order_by(MissingEpisode.started_at)).all()
    assert [(e.missing_type, e.started_at, e.ended_at) for e in episodes] == [
        (MissingType.MISSING, london_midnight(date(2025, 2, 2)), london_midnight(date(2025, 2, 3))),
        (MissingType.AWAY, london_midnight(date(2025, 2, 20)), london_midnight(date(2025, 2, 20))),
        (MissingType.MISSING, london_midnight(date(2025, 3, 1)), None),
    ]


def test_importing_the_same_files_twice_changes_nothing(session, authority):
    import_return(session, authority, files())
    before = stored(session)
    again = import_return(session, authority, files())
    assert stored(session) == before
    assert {table: (c["created"], c["updated"]) for table, c in again.counts.items()} == {
        "young people": (0, 0), "placements": (0, 0), "missing episodes": (0, 0)}
    assert again.counts["missing episodes"]["unchanged"] == 4


def test_a_changed_row_updates_the_record_it_matches(session, authority):
    import_return(session, authority, files())
    ended = GOOD_EPISODES[:1] + ["101,10/01/2025,P,C2,N1,K2,PR3,30/06/2025,E12,,SW5 0AA,LU1 1AA,SC123456"] + GOOD_EPISODES[2:]
    run = import_return(session, authority, files(episodes=ended))
    assert run.counts["placements"] == {"created": 0, "updated": 1, "unchanged": 2}
    child = session.scalar(select(YoungPerson.id).where(YoungPerson.reference == "101"))
    assert session.scalar(select(Placement.ended_on).where(Placement.young_person_id == child,
                                                           Placement.started_on == date(2025, 1, 10))) == date(2025, 6, 30)


def test_an_episode_recorded_in_the_app_keeps_its_times_and_places(session, authority):
    import_return(session, authority, files())
    child = session.scalar(select(YoungPerson).where(YoungPerson.reference == "101"))
    recorded = session.scalar(select(MissingEpisode).where(MissingEpisode.young_person_id == child.id,
                                                           MissingEpisode.started_at == london_midnight(date(2025, 2, 2))))
    late = london_midnight(date(2025, 2, 2)) + timedelta(hours=22)
    recorded.started_at, recorded.ended_at = late, late + timedelta(hours=5)
    recorded.last_seen_location = "SRID=4326;POINT(-0.19 51.49)"
    session.flush()
    run = import_return(session, authority, files())
    assert run.counts["missing episodes"]["unchanged"] == 4
    session.refresh(recorded)
    assert (recorded.started_at, recorded.ended_at) == (late, late + timedelta(hours=5))
    assert recorded.last_seen_location is not None


FUTURE = (date.today() + timedelta(days=40)).strftime("%d/%m/%Y")


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"episodes": ["101,01/04/2024,S,C2,N1,Q9,PR1,,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "PLACE", "Q9", "is not a placement type of 2025/26")),
        ({"episodes": ["101,2024-04-01,S,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "DECOM", "2024-04-01", "is not a date as dd/mm/YYYY")),
        ({"episodes": ["101,31/02/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "DECOM", "31/02/2024", "is not a date as dd/mm/YYYY")),
        ({"episodes": ["101,01/04/2024,S,C2,N1,U4,PR1,01/03/2024,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "DEC", "01/03/2024", "is before DECOM (01/04/2024)")),
        ({"episodes": ["101,01/04/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,ZZ9 9ZZ,"]},
         ("Episodes", "2", "PL_POST", "ZZ9 9ZZ", "is not in the ONS Postcode Directory")),
        ({"episodes": ["101,01/04/2024,S,C2,N1,U4,PR1,,,,not a postcode,SW6 1AA,"]},
         ("Episodes", "2", "HOME_POST", "not a postcode", "is not a UK postcode")),
        ({"episodes": ["999,01/04/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "CHILD", "999", "is not in the Header file")),
        ({"episodes": [f"101,{FUTURE},S,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]},
         ("Episodes", "2", "DECOM", FUTURE, "is in the future")),
        ({"missing": ["101,14/03/2010,M,05/03/2025,01/03/2025"]},
         ("Missing", "2", "MIS_END", "01/03/2025", "is before MIS_START (05/03/2025)")),
        ({"missing": ["101,14/03/2010,M,01/03/2025,10/03/2025", "101,14/03/2010,A,05/03/2025,06/03/2025"]},
         ("Missing", "3", "MIS_START", "05/03/2025", "overlaps the episode in row 2 (01/03/2025 to 10/03/2025)")),
        ({"missing": ["101,14/03/2010,M,01/03/2025,", "101,14/03/2010,M,01/06/2025,02/06/2025"]},
         ("Missing", "3", "MIS_START", "01/06/2025", "overlaps the episode in row 2 (01/03/2025 to (still open))")),
        ({"missing": ["101,14/03/2010,X,01/03/2025,"]},
         ("Missing", "2", "MISSING", "X", "is not M (missing) or A (away from placement)")),
        ({"missing": ["101,15/03/2010,M,01/03/2025,"]},
         ("Missing", "2", "DOB", "15/03/2010", "is not the DOB in the Header file (14/03/2010)")),
        ({"missing": ["555,01/01/2010,M,01/03/2025,"]},
         ("Missing", "2", "CHILD", "555", "is not in the Header file")),
        ({"header": ["101,3,14/03/2010,,,,"]}, ("Header", "2", "SEX", "3", "is not a sex code of 2025/26, whose codes are F, M and U")),
        ({"header": ["101,F,,,,,"]}, ("Header", "2", "DOB", "", "is missing: give a date as dd/mm/YYYY")),
        ({"header": ["101,F,14/03/2010,,,,", "101,F,14/03/2010,,,,"]},
         ("Header", "3", "CHILD", "101", "is in the Header file more than once")),
    ],
)
def test_each_problem_names_file_row_column_and_value_and_nothing_is_written(session, authority, changes, expected):
    run = import_return(session, authority, files(**{"header": GOOD_HEADER, **changes}))
    found = [(p["file"], p["row"], p["column"], p["value"], p["reason"]) for p in problems(run)]
    assert expected in found
    assert run.outcome == ImportOutcome.REFUSED
    assert stored(session) == {"young people": 0, "placements": 0, "missing episodes": 0}


def test_an_episode_overlapping_one_already_recorded_is_refused(session, authority):
    import_return(session, authority, files())
    overlapping = GOOD_MISSING[:2] + ["101,14/03/2010,M,25/02/2025,04/03/2025"] + GOOD_MISSING[3:]
    run = import_return(session, authority, files(missing=overlapping))
    assert run.outcome == ImportOutcome.REFUSED
    assert [(p["row"], p["column"], p["reason"]) for p in problems(run)] == [
        ("4", "MIS_START", "overlaps an episode already recorded (01/03/2025 to (still open))")]


def test_a_missing_column_is_named(session, authority):
    bad = {HEADER: ("header.csv", b"CHILD,DOB\n101,14/03/2010\n")}
    run = import_return(session, authority, bad)
    assert [(p["file"], p["row"], p["column"], p["reason"]) for p in problems(run)] == [
        ("Header", "1", "SEX", "is a column the file does not have")]


def test_a_file_that_is_not_utf8_is_named(session, authority):
    run = import_return(session, authority, {**files(), MISSING: ("missing.csv", "CHILD,DOB\n\u00e9".encode("latin-1"))})
    assert run.outcome == ImportOutcome.REFUSED
    assert problems(run)[0]["file"] == "Missing" and "is not UTF-8 text" in problems(run)[0]["reason"]


def test_valid_rows_only_writes_the_rest_and_returns_the_rejected(session, authority):
    header = GOOD_HEADER + ["103,9,01/01/2011,,,,"]  # SEX 9: the child and all her rows are refused
    episodes = GOOD_EPISODES + ["102,01/08/2025,P,C2,N1,QQ,PR1,,,,NW1 2DB,SW5 0AB,", "103,01/01/2025,S,C2,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]
    missing = GOOD_MISSING + ["103,01/01/2011,M,01/02/2025,"]
    run = import_return(session, authority, files(header, episodes, missing), valid_rows_only=True)
    assert run.outcome == ImportOutcome.VALID_ROWS_IMPORTED
    rejected = {(p["file"], p["row"], p["CHILD"], p["column"]) for p in problems(run)}
    assert rejected == {("Header", "4", "103", "SEX"), ("Episodes", "5", "102", "PLACE"),
                        ("Episodes", "6", "103", "CHILD"), ("Missing", "6", "103", "CHILD")}
    assert stored(session) == {"young people": 2, "placements": 3, "missing episodes": 4}
    assert run.counts["placements"]["created"] == 3


def test_two_authorities_may_use_the_same_child_id(session, authority):
    """CHILD is each authority's own identifier: the same one in two returns is two children."""
    other = Organisation(name="Other authority", kind=OrganisationKind.LOCAL_AUTHORITY, local_authority_code="E09000013")
    session.add(other)
    session.flush()
    import_return(session, other, files(missing=None))
    run = import_return(session, authority, files(missing=None))
    assert run.outcome == ImportOutcome.IMPORTED and run.counts["young people"]["created"] == 2
    owners = session.execute(select(YoungPerson.reference, YoungPerson.organisation_id)).all()
    assert sorted(owners) == sorted([(r, o) for r in ("101", "102") for o in (authority.id, other.id)])
    # The first authority's placements were not touched by the second's return.
    assert session.scalar(select(func.count()).select_from(Placement)) == 2 * len(GOOD_EPISODES)


@pytest.mark.parametrize("child", ["' OR '1'='1", "<b>1</b>", "10 1", "ÄB1"])
def test_a_child_id_of_other_characters_is_refused(session, authority, child):
    run = import_return(session, authority, files(header=[f"{child},F,01/01/2011,,,,"], episodes=None, missing=None))
    assert run.outcome == ImportOutcome.REFUSED
    assert {p["reason"] for p in problems(run)} == {"holds characters other than letters, digits, - and _"}


def test_dates_are_read_in_london(session, authority):
    # 30 March 2025 is the day the clocks went forward: midnight is still 00:00 GMT.
    run = import_return(session, authority, files(missing=["101,14/03/2010,M,30/03/2025,31/03/2025"]))
    assert run.outcome == ImportOutcome.IMPORTED
    episode = session.scalar(select(MissingEpisode))
    assert episode.started_at.astimezone(LONDON).hour == 0 and episode.ended_at.astimezone(LONDON).hour == 0


def test_a_formula_in_an_uploaded_value_is_not_run_by_a_spreadsheet(session, authority):
    run = import_return(session, authority, files(header=['=1+2,F,14/03/2010,,,,', '101,@SUM(A1),14/03/2010,,,,']))
    values = {(p["column"], p["value"]) for p in problems(run)}
    assert ("SEX", "'@SUM(A1)") in values
    assert all(not p["CHILD"].startswith("=") for p in problems(run))


def test_the_same_dob_written_without_leading_zeros_agrees(session, authority):
    run = import_return(session, authority, files(header=["101,F,1/2/2010,,,,"], episodes=None,
                                                  missing=["101,01/02/2010,M,01/03/2025,02/03/2025"]))
    assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv


@pytest.mark.parametrize("content, reason", [
    (b"CHILD,SEX,DOB\n1\x0001,2,14/03/2010\n", "holds a NUL byte"),
    (b"CHILD,SEX,DOB\n" + b"A" * 200_000 + b",1,01/01/2010\n", "cannot be read as CSV"),
])
def test_a_file_that_is_not_a_text_csv_is_named_not_an_error(session, authority, content, reason):
    run = import_return(session, authority, {HEADER: ("header.csv", content)})
    assert run.outcome == ImportOutcome.REFUSED and reason in problems(run)[0]["reason"]


def test_a_refused_row_leaves_no_clash_with_what_is_stored(session, authority):
    import_return(session, authority, files(missing=["101,14/03/2010,M,05/03/2024,20/03/2024"]))
    clashing = ["101,14/03/2010,M,01/03/2024,10/03/2024", "101,14/03/2010,M,05/03/2024,20/03/2024"]
    run = import_return(session, authority, files(missing=clashing), valid_rows_only=True)
    assert {(p["row"], p["reason"]) for p in problems(run)} == {
        ("2", "overlaps an episode already recorded (05/03/2024 to 20/03/2024)")}
    assert run.outcome == ImportOutcome.VALID_ROWS_IMPORTED


# ---- collection years ---------------------------------------------------------------------------

def one_child(sex: str, place: str, decom: str = "01/05/2023") -> dict:
    """A return of one child with one open placement from ``decom``."""
    return files(header=[f"201,{sex},14/03/2010,,,,"], missing=None,
                 episodes=[f"201,{decom},S,C2,N1,{place},PR1,,,,SW5 0AA,SW6 1AA,"])


@pytest.mark.parametrize(("year", "decom", "sex", "stored_sex"), [
    ("2023/24", "01/05/2023", "2", FEMALE), ("2023/24", "01/05/2023", "1", MALE),
    ("2024/25", "01/05/2024", "F", FEMALE), ("2024/25", "01/05/2024", "m", MALE),
    ("2024/25", "01/05/2024", "U", SEX_NOT_KNOWN), ("2025/26", "01/05/2025", "F", FEMALE),
])
def test_each_year_accepts_its_own_sex_codes(session, authority, year, decom, sex, stored_sex):
    run = import_return(session, authority, one_child(sex, "U4", decom))
    assert run.outcome == ImportOutcome.IMPORTED and run.collection_year == year, run.problems_csv
    assert session.scalar(select(YoungPerson.sex)) == stored_sex


@pytest.mark.parametrize(("year", "decom", "sex", "reason"), [
    ("2023/24", "01/05/2023", "F", "is not a sex code of 2023/24, whose codes are 1 and 2 (F is one from 2024/25)"),
    ("2024/25", "01/05/2024", "2", "is not a sex code of 2024/25, whose codes are F, M and U (2 is one up to 2023/24)"),
    ("2025/26", "01/05/2025", "1", "is not a sex code of 2025/26, whose codes are F, M and U (1 is one up to 2023/24)"),
])
def test_another_years_sex_code_is_refused_naming_both_years(session, authority, year, decom, sex, reason):
    run = import_return(session, authority, one_child(sex, "U4", decom))
    assert run.outcome == ImportOutcome.REFUSED and run.collection_year == year
    assert ("Header", "2", "SEX", sex, reason) in [tuple(p[k] for k in ("file", "row", "column", "value", "reason"))
                                                    for p in problems(run)]


@pytest.mark.parametrize(("place", "accepted_in", "refused_reason"), [
    ("H5", {"2023/24", "2024/25"}, "(H5 is one up to 2024/25)"),
    ("P2", {"2023/24", "2024/25"}, "(P2 is one up to 2024/25)"),
    ("Z1", {"2023/24", "2024/25"}, "(Z1 is one up to 2024/25)"),
    ("K3", {"2024/25", "2025/26"}, "(K3 is one from 2024/25)"),
    ("Z12", {"2025/26"}, "(Z12 is one from 2025/26)"),
    ("R4", set(), ""),
    ("U4", {"2023/24", "2024/25", "2025/26"}, ""),
])
@pytest.mark.parametrize(("year", "decom"), [("2023/24", "01/05/2023"), ("2024/25", "01/05/2024"), ("2025/26", "01/05/2025")])
def test_each_year_accepts_its_own_placement_types(session, authority, place, accepted_in, refused_reason, year, decom):
    sex = "2" if year == "2023/24" else "F"
    run = import_return(session, authority, one_child(sex, place, decom))
    if year in accepted_in:
        assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv
        assert session.scalar(select(Placement.place_code)) == place
    else:
        assert run.outcome == ImportOutcome.REFUSED
        [problem] = problems(run)
        assert (problem["column"], problem["value"]) == ("PLACE", place)
        assert problem["reason"] == f"is not a placement type of {year} {refused_reason}".strip()


def test_the_year_stated_is_used_and_a_date_after_its_end_named(session, authority):
    """A 2024/25 return loaded as 2023/24 by mistake: its codes and dates are refused in words."""
    run = import_return(session, authority, one_child("F", "K3", "01/05/2024"), year=CollectionYear.named("2023/24"))
    assert run.outcome == ImportOutcome.REFUSED and run.collection_year == "2023/24"
    assert {(p["column"], p["reason"]) for p in problems(run)} == {
        ("SEX", "is not a sex code of 2023/24, whose codes are 1 and 2 (F is one from 2024/25)"),
        ("PLACE", "is not a placement type of 2023/24 (K3 is one from 2024/25)"),
        ("DECOM", "is after the end of the 2023/24 collection year (31/03/2024): is this a later year's return?"),
        ("CHILD", "has a problem in the Header file, so this row is not imported"),
    }


def test_without_a_stated_year_the_latest_date_decides(session, authority):
    """An episode that began years before keeps the return in the year of its latest date."""
    episodes = ["201,01/05/2019,S,C2,N1,H5,PR1,31/03/2025,E8,,SW5 0AA,SW6 1AA,"]
    run = import_return(session, authority, files(header=["201,F,14/03/2010,,,,"], episodes=episodes, missing=None))
    assert run.outcome == ImportOutcome.IMPORTED and run.collection_year == "2024/25", run.problems_csv


def test_every_years_placement_types_are_labelled_and_stored():
    assert set(PLACE_CODES) == EVERY_PLACE_CODE


# ---- the Episodes file's codes and what they mean -----------------------------------------------

EPISODE = "201,{decom},{rne},{ls},N1,{place},PR1,{dec},{rec},,SW5 0AA,{pl_post},{urn}"


def episode(decom="01/05/2024", rne="S", ls="C2", place="U4", dec="", rec="", pl_post="SW6 1AA", urn="") -> str:
    return EPISODE.format(decom=decom, rne=rne, ls=ls, place=place, dec=dec, rec=rec, pl_post=pl_post, urn=urn)


def child_episodes(*rows: str) -> dict:
    return files(header=["201,F,14/03/2010,,,,"], episodes=list(rows), missing=None)


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("RNE", "Q", "is not a reason for a new episode of 2024/25"),
    ("LS", "V9", "is not a legal status of 2024/25"),
    ("CIN", "N9", "is not a category of need of 2024/25"),
    ("PLACE_PROVIDER", "PR9", "is not a placement provider code of 2024/25"),
    ("REC", "E99", "is not a reason an episode ceased of 2024/25"),
    ("REASON_PLACE_CHANGE", "NOPE", "is not a reason for a placement change of 2024/25"),
])
def test_every_coded_column_of_the_episodes_is_checked(session, authority, column, value, reason):
    row = dict(zip(EPISODE_COLUMNS.split(","), episode(dec="01/09/2024", rec="E8").split(",")))
    row[column] = value
    run = import_return(session, authority, child_episodes(",".join(row.values())))
    assert run.outcome == ImportOutcome.REFUSED
    assert [(p["column"], p["value"], p["reason"]) for p in problems(run)] == [(column, value, reason)]


def test_only_the_latest_episode_may_be_open(session, authority):
    run = import_return(session, authority, child_episodes(episode(), episode(decom="01/09/2024", rne="P", place="K2")))
    assert run.outcome == ImportOutcome.REFUSED
    assert [(p["row"], p["column"], p["reason"]) for p in problems(run)] == [
        ("2", "DEC", "is blank, but this CHILD has a later episode (DECOM 01/09/2024): only the latest episode may be open")]


def test_a_change_of_legal_status_only_goes_on_with_the_placement(session, authority):
    """RNE L: one placement from the first episode's start, with the latest legal status."""
    return_files = child_episodes(episode(ls="V2", dec="01/09/2024", rec="X1"), episode(decom="01/09/2024", rne="L"))
    run = import_return(session, authority, return_files)
    assert run.outcome == ImportOutcome.IMPORTED and run.counts["placements"]["created"] == 1, run.problems_csv
    placement = session.scalar(select(Placement))
    assert (placement.started_on, placement.ended_on, placement.legal_status) == (date(2024, 5, 1), None, "C2")
    again = import_return(session, authority, return_files)
    assert again.counts["placements"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_a_change_of_legal_status_only_in_a_later_return_goes_on_with_the_stored_placement(session, authority):
    import_return(session, authority, child_episodes(episode(ls="V2")))
    later = child_episodes(episode(decom="01/09/2024", rne="L", dec="01/12/2024", rec="E8"))
    run = import_return(session, authority, later)
    assert run.counts["placements"] == {"created": 0, "updated": 1, "unchanged": 0}, run.problems_csv
    placement = session.scalar(select(Placement))
    assert (placement.started_on, placement.ended_on, placement.legal_status) == (date(2024, 5, 1), date(2024, 12, 1), "C2")
    assert import_return(session, authority, later).counts["placements"]["unchanged"] == 1


@pytest.mark.parametrize(("change", "column", "value", "reason"), [
    ({"place": "K2"}, "PLACE", "K2", "is not the U4 of the episode before, though RNE is L (a change of legal status only)"),
    ({"pl_post": "LU1 1AA"}, "PL_POST", "LU1 1AA",
     "is not the SW6 1AA of the episode before, though RNE is L (a change of legal status only)"),
])
def test_a_change_of_legal_status_only_must_keep_the_placement(session, authority, change, column, value, reason):
    run = import_return(session, authority, child_episodes(
        episode(dec="01/09/2024", rec="X1"), episode(decom="01/09/2024", rne="L", **change)))
    assert run.outcome == ImportOutcome.REFUSED
    assert [(p["column"], p["value"], p["reason"]) for p in problems(run)] == [(column, value, reason)]


@pytest.mark.parametrize(("urn", "stored_urn"), [("XXXXXXX", None), ("xxxxxxx", None), ("SC123456", "SC123456")])
def test_a_urn_of_seven_xs_means_none(session, authority, urn, stored_urn):
    run = import_return(session, authority, child_episodes(episode(place="K2", urn=urn)))
    assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv
    assert session.scalar(select(Placement.urn)) == stored_urn


@pytest.mark.parametrize("legal_status", ["V3", "V4", "C2"])
def test_a_placement_keeps_its_legal_status(session, authority, legal_status):
    run = import_return(session, authority, child_episodes(episode(ls=legal_status)))
    assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv
    assert session.scalar(select(Placement.legal_status)) == legal_status


@pytest.mark.parametrize("postcode", ["JE2 3AA", "IM1 1AA"])  # Jersey and the Isle of Man: no grid reference
def test_a_postcode_the_directory_has_without_a_grid_reference_is_accepted_with_no_place(session, authority, postcode):
    run = import_return(session, authority, child_episodes(
        EPISODE.format(decom="01/05/2024", rne="S", ls="C2", place="U4", dec="", rec="", pl_post=postcode, urn="")
        .replace("SW5 0AA", postcode)))
    assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv
    placement = session.scalar(select(Placement))
    child = session.scalar(select(YoungPerson))
    assert (placement.postcode, placement.location, placement.cells) == (postcode, None, None)
    assert (child.home_postcode, child.home_location, child.home_cells) == (postcode, None, None)


# ---- the UASC file ------------------------------------------------------------------------------

UASC_COLUMNS = "CHILD,SEX,DOB,DUC"


def with_uasc(made: dict, rows: list[str]) -> dict:
    return {**made, UASC: ("uasc.csv", table(UASC_COLUMNS, rows))}


def test_the_uasc_file_marks_who_is_or_was_an_unaccompanied_asylum_seeking_child(session, authority):
    run = import_return(session, authority, with_uasc(files(), ["102,M,02/11/2009,15/08/2025"]))
    assert run.outcome == ImportOutcome.IMPORTED and run.rows_read[UASC] == 1, run.problems_csv
    status = {reference: (seeking, ceased) for reference, seeking, ceased in session.execute(
        select(YoungPerson.reference, YoungPerson.asylum_seeking, YoungPerson.asylum_seeking_ceased_on))}
    assert status == {"101": (False, None), "102": (True, date(2025, 8, 15))}
    # Without the file nothing changes; with it, a child no longer listed is no longer marked.
    import_return(session, authority, files())
    assert session.scalar(select(YoungPerson.asylum_seeking).where(YoungPerson.reference == "102")) is True
    import_return(session, authority, with_uasc(files(), []))
    assert session.scalar(select(YoungPerson.asylum_seeking).where(YoungPerson.reference == "102")) is False


@pytest.mark.parametrize(("rows", "expected"), [
    (["999,M,02/11/2009,"], ("UASC", "2", "CHILD", "999", "is not in the Header file")),
    (["102,M,02/11/2009,", "102,M,02/11/2009,"], ("UASC", "3", "CHILD", "102", "is in the UASC file more than once")),
    (["102,M,03/11/2009,"], ("UASC", "2", "DOB", "03/11/2009", "is not the DOB in the Header file (02/11/2009)")),
    (["102,M,02/11/2009,01/01/2009"], ("UASC", "2", "DUC", "01/01/2009", "is before the child's DOB")),
    (["102,M,02/11/2009,31/02/2025"], ("UASC", "2", "DUC", "31/02/2025", "is not a date as dd/mm/YYYY")),
])
def test_each_problem_of_the_uasc_file_is_named(session, authority, rows, expected):
    run = import_return(session, authority, with_uasc(files(), rows))
    assert run.outcome == ImportOutcome.REFUSED
    assert expected in [tuple(p[k] for k in ("file", "row", "column", "value", "reason")) for p in problems(run)]
    assert stored(session)["young people"] == 0


# ---- warnings: told, not refused ----------------------------------------------------------------

def warnings(run: ImportRun) -> list[tuple]:
    return [(p["file"], p["row"], p["column"], p["value"], p["reason"]) for p in problems(run) if p["kind"] == "warning"]


def test_a_sex_not_known_is_imported_with_a_warning(session, authority):
    run = import_return(session, authority, one_child("U", "U4", "01/05/2024"))
    assert run.outcome == ImportOutcome.IMPORTED and run.problem_count == 0
    assert warnings(run) == [("Header", "2", "SEX", "U", "is not known: imported, though the DfE's validator "
                                                        "queries every U (its rule 232)")]


def with_distance(distance: str, pl_post: str = "SW6 1AA") -> dict:
    """One child placed from SW5 0AA (0.6 miles from SW6 1AA), with the return's own PL_DISTANCE."""
    columns = EPISODE_COLUMNS + ",PL_DISTANCE"
    row = f"201,01/05/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,{pl_post},,{distance}"
    return {**files(header=["201,F,14/03/2010,,,,"], missing=None), EPISODES: ("episodes.csv", table(columns, [row]))}


@pytest.mark.parametrize(("distance", "pl_post", "reason"), [
    ("0.6", "SW6 1AA", None), ("0.7", "SW6 1AA", None), ("0.5", "SW6 1AA", None), ("", "SW6 1AA", None),
    ("0.9", "SW6 1AA", "is not the 0.6 miles between HOME_POST and PL_POST by the DfE's formula on the ONS Postcode "
                       "Directory's grid references"),
    ("far", "SW6 1AA", "is not a distance in miles from 0.0 to 999.9, like 2.5: left aside"),
    ("12.0", "JE2 3AA", "is given, but HOME_POST and PL_POST do not both have a grid reference in the ONS Postcode "
                        "Directory: the DfE records no distance"),
])
def test_a_returns_own_distance_that_is_not_the_dfes_figure_is_told_not_refused(session, authority, distance,
                                                                                  pl_post, reason):
    run = import_return(session, authority, with_distance(distance, pl_post))
    assert run.outcome == ImportOutcome.IMPORTED and run.problem_count == 0, run.problems_csv
    assert warnings(run) == ([("Episodes", "2", "PL_DISTANCE", distance, reason)] if reason else [])
    kept = session.scalar(select(Placement.return_distance_miles))  # the return's own figure is kept
    assert kept == (Decimal(distance) if distance not in ("", "far") else None)


def with_derived(pl_post: str, pl_la: str, pl_location: str) -> dict:
    """One child placed from SW5 0AA (Kensington and Chelsea, the test authority's own), with the
    return's own PL_LA and PL_LOCATION."""
    columns = EPISODE_COLUMNS + ",PL_LA,PL_LOCATION"
    row = f"201,01/05/2024,S,C2,N1,U4,PR1,,,,SW5 0AA,{pl_post},,{pl_la},{pl_location}"
    return {**files(header=["201,F,14/03/2010,,,,"], missing=None), EPISODES: ("episodes.csv", table(columns, [row]))}


@pytest.mark.parametrize(("pl_post", "pl_la", "pl_location", "told"), [
    ("SW6 1AA", "E09000013", "OUT", []),  # Hammersmith and Fulham
    ("W8 4AA", "e09000020", "in", []),
    ("BT1 1AA", "NIR", "OUT", []),
    ("SW6 1AA", "E09000020", "", [("PL_LA", "E09000020", "is not E09000013, the authority of PL_POST as the DfE "
                                                         "derives it from the ONS Postcode Directory")]),
    ("SW6 1AA", "", "IN", [("PL_LOCATION", "IN", "is not OUT: PL_POST is in E09000013, not the responsible "
                                                 "authority (E09000020)")]),
    ("W8 4AA", "", "OUT", [("PL_LOCATION", "OUT", "is not IN: PL_POST is in E09000020, the responsible authority "
                                                  "(E09000020)")]),
])
def test_a_returns_own_authority_and_location_are_set_against_the_dfes(session, authority, pl_post, pl_la,
                                                                        pl_location, told):
    run = import_return(session, authority, with_derived(pl_post, pl_la, pl_location))
    assert run.outcome == ImportOutcome.IMPORTED, run.problems_csv
    assert [(column, value, reason) for _, _, column, value, reason in warnings(run)] == told
