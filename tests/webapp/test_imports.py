"""The SSDA903 import page and command: roles, a refused upload, a partial one, and scheduled loads."""

import io

import pytest
from sqlalchemy import func, select

from models.codes import Role
from models.imports import ImportRun
from models.safeguarding import Placement, YoungPerson
from tests.models.test_ssda903 import EPISODE_COLUMNS, GOOD_EPISODES, GOOD_HEADER, HEADER_COLUMNS, table


def upload(client, header=GOOD_HEADER, episodes=GOOD_EPISODES, **form):
    data = {"header": (io.BytesIO(table(HEADER_COLUMNS, header)), "header.csv"),
            "episodes": (io.BytesIO(table(EPISODE_COLUMNS, episodes)), "episodes.csv"), **form}
    return client.post("/imports/ssda903", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("role, status", [
    (Role.PLACEMENT_COMMISSIONER, 200), (Role.ADMINISTRATOR, 200), (Role.PANEL_MEMBER, 403),
    (Role.SOCIAL_WORKER, 403), (Role.POLICE_PARTNER, 403)])
def test_only_the_placements_team_and_administrators_import(client, auth, role, status):
    auth.sign_in(role.value)
    assert client.get("/imports/").status_code == status


@pytest.fixture
def commissioner(client, auth):
    auth.sign_in(Role.PLACEMENT_COMMISSIONER.value)
    return client


def test_a_clean_upload_is_imported_and_recorded(commissioner, session):
    response = upload(commissioner)
    assert response.status_code == 303
    page = commissioner.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported." in page and "header.csv" in page
    assert session.scalar(select(func.count()).select_from(Placement)) == 3
    assert "header.csv" in commissioner.get("/imports/").get_data(as_text=True)


def test_a_refused_upload_lists_each_problem_and_writes_nothing(commissioner, session):
    response = upload(commissioner, episodes=["101,01/04/2024,S,C2,N1,Q9,PR1,,,,SW5 0AA,SW6 1AA,"])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "<td>PLACE</td><td><code>Q9</code></td><td>is not a placement type of 2024/25</td>" in page
    assert session.scalar(select(func.count()).select_from(YoungPerson)) == 0


def test_valid_rows_only_imports_the_rest_and_offers_the_rejected_as_csv(commissioner, session):
    episodes = GOOD_EPISODES + ["102,01/08/2025,P,C2,N1,QQ,PR1,,,,NW1 2DB,SW5 0AB,"]
    response = upload(commissioner, episodes=episodes, valid_rows_only="1")
    assert response.status_code == 303
    run = session.scalar(select(ImportRun))
    rejected = commissioner.get(f"/imports/{run.id}/problems.csv")
    assert rejected.mimetype == "text/csv"
    assert rejected.get_data(as_text=True).splitlines() == [
        "file,row,CHILD,column,value,reason,kind,collection_year",
        "Episodes,5,102,PLACE,QQ,is not a placement type of 2025/26,problem,2025/26"]
    assert session.scalar(select(func.count()).select_from(Placement)) == 3


def test_the_header_file_is_required(commissioner):
    response = commissioner.post("/imports/ssda903", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "header: &#39;&#39; is missing: choose the Header file" in response.get_data(as_text=True)


def test_another_organisations_import_is_not_found(commissioner, session, organisations):
    upload(commissioner)
    run = session.scalar(select(ImportRun))
    run.organisation_id = organisations[next(k for k in organisations if organisations[k].id != run.organisation_id)].id
    session.flush()
    assert commissioner.get(f"/imports/{run.id}").status_code == 404
    assert commissioner.get(f"/imports/{run.id}/problems.csv").status_code == 404


def test_the_command_imports_for_scheduled_loads_and_exits_1_when_refused(app, session, organisations, tmp_path):
    header, episodes = tmp_path / "header.csv", tmp_path / "episodes.csv"
    header.write_bytes(table(HEADER_COLUMNS, GOOD_HEADER))
    episodes.write_bytes(table(EPISODE_COLUMNS, GOOD_EPISODES[:2] + ["102,15/06/2025,S,V2,N1,U1,PR2,,,,NW1 2DB,XX1 1XX,"]))
    authority = organisations[next(iter(organisations))].name
    runner = app.test_cli_runner()
    args = ["import-ssda903", "--organisation", authority, "--header", str(header), "--episodes", str(episodes)]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 1
    assert "Episodes,4,102,PL_POST,XX1 1XX,is not in the ONS Postcode Directory" in refused.output
    rejected = tmp_path / "rejected.csv"
    partial = runner.invoke(args=[*args, "--valid-rows-only", "--problems", str(rejected)])
    assert partial.exit_code == 0, partial.output
    assert "placements: 2 created, 0 updated, 0 unchanged" in partial.output
    assert rejected.read_text().count("\n") == 2
    again = runner.invoke(args=[*args, "--valid-rows-only"])
    assert "placements: 0 created, 0 updated, 2 unchanged" in again.output


def test_the_command_names_an_unknown_organisation(app, tmp_path):
    header = tmp_path / "header.csv"
    header.write_bytes(table(HEADER_COLUMNS, GOOD_HEADER))
    result = app.test_cli_runner().invoke(args=["import-ssda903", "--organisation", "Nowhere", "--header", str(header)])
    assert result.exit_code == 2 and "'Nowhere' is not an organisation in the app" in result.output


def test_a_problem_value_with_a_line_separator_still_shows(commissioner):
    response = upload(commissioner, header=['101,"M\u2028F",14/03/2010,,,,'])
    assert response.status_code == 400 and "is not a sex code of 2025/26" in response.get_data(as_text=True)


def test_an_organisation_without_an_authority_code_cannot_import(commissioner, session, users):
    users[Role.PLACEMENT_COMMISSIONER].organisation.local_authority_code = None
    session.flush()
    assert commissioner.get("/imports/").status_code == 403


def test_the_year_chosen_on_the_page_is_checked_and_shown(commissioner, session):
    """A 2024/25 return (M and F) stated as 2023/24: refused in words naming the year."""
    response = upload(commissioner, collection_year="2023/24")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "checked against the codes of 2023/24" in page
    assert "is not a sex code of 2023/24, whose codes are 1 and 2 (F is one from 2024/25)" in page


@pytest.mark.parametrize("year", ["2024/2025", "2024-25", "2024/26", "<b>"])
def test_a_collection_year_not_written_as_the_dfe_writes_it_is_named(commissioner, session, year):
    response = upload(commissioner, collection_year=year)
    assert response.status_code == 400
    error = response.get_data(as_text=True)
    assert "collection_year: " in error and "is not a collection year written as the DfE writes it, like 2024/25" in error
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_the_command_takes_a_collection_year(app, tmp_path, session):
    header = tmp_path / "header.csv"
    header.write_bytes(table(HEADER_COLUMNS, GOOD_HEADER))
    result = app.test_cli_runner().invoke(args=["import-ssda903", "--organisation", "Nowhere", "--header", str(header),
                                                "--collection-year", "24/25"])
    assert result.exit_code == 2 and "--collection-year" in result.output and "like 2024/25" in result.output


@pytest.mark.parametrize(("sex", "shown"), [("F", "female"), ("M", "male"), ("U", "not known")])
def test_a_childs_page_gives_her_sex_as_the_return_does(commissioner, session, sex, shown):
    assert upload(commissioner, header=[f"101,{sex},14/03/2010,,,,"], episodes=[]).status_code == 303
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "101"))
    page = commissioner.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert f'<dt class="col-sm-2">Sex</dt><dd class="col-sm-10">{shown}</dd>' in page


def test_a_childs_page_names_each_placements_legal_status(commissioner, session):
    episodes = ["101,01/04/2024,S,V3,N1,U4,PR1,,,,SW5 0AA,SW6 1AA,"]
    assert upload(commissioner, header=["101,F,14/03/2010,,,,"], episodes=episodes).status_code == 303
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "101"))
    page = commissioner.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert "<td>Short breaks (each recorded) (V3)</td>" in page


def test_warnings_show_on_the_run_page_though_the_rows_were_imported(commissioner, session):
    response = upload(commissioner, header=["101,U,14/03/2010,,,,", "102,M,02/11/2009,,,,"], episodes=[])
    assert response.status_code == 303
    page = commissioner.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported." in page and "<h2 class=\"h5\">Warnings</h2>" in page
    assert "<td>warning: imported</td>" in page and "queries every U (its rule 232)" in page
    assert session.scalar(select(func.count()).select_from(YoungPerson)) == 2
