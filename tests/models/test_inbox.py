"""Other organisations' items: which referred contexts an organisation sees, when one is new, and
what row-level security lets such an organisation read as the app's role (never the children)."""

from datetime import date

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from werkzeug.security import generate_password_hash

from models.base import make_engine
from models.cases import add_case_note, add_case_record
from models.codes import OrganisationKind, Role
from models.contexts import new_context
from models.inbox import mark_read, new_item_count, organisation_item, organisation_items
from models.people import Organisation, User
from models.safeguarding import CaseNote, CaseRecord, Context, ContextChange, ContextLink, YoungPerson
from models.security import act_for
from tests.conftest import as_app_role, copy_template_database, drop_database

TODAY = date(2026, 11, 30)


@pytest.fixture
def staff(session, organisations) -> dict[OrganisationKind, User]:
    """A partner user at the school and at the housing provider."""
    made = {}
    for kind in (OrganisationKind.SCHOOL, OrganisationKind.HOUSING):
        made[kind] = User(username=f"{kind.value}.user", display_name=f"{kind.value} user", password_hash="x",
                          role=Role.COMMUNITY_PARTNER, organisation_id=organisations[kind].id)
        session.add(made[kind])
    session.commit()
    return made


@pytest.fixture
def places(session, worker, organisations) -> dict[str, Context]:
    """The school the Test school runs, and a takeaway nobody else runs."""
    made = {
        "school": new_context(session, name="Ashgrove Academy", kind="school", location="SW5 0AA",
                              responsible=str(organisations[OrganisationKind.SCHOOL].id),
                              organisation_id=worker.organisation_id, user=worker),
        "takeaway": new_context(session, name="Chicken Hut", kind="takeaway", location="SW5 9AA",
                                organisation_id=worker.organisation_id, user=worker),
    }
    session.commit()
    return made


def refer(session, context, worker, *agencies: Organisation, held="2026-11-02"):
    add_case_record(session, context, worker, stage="referral", held_on=held, owner=str(worker.id),
                    agencies=[str(worker.organisation_id), *(str(agency.id) for agency in agencies)],
                    decision="Referred to the panel", next_review="2026-12-01", today=TODAY)
    session.commit()


def items(session, user) -> dict[str, tuple[bool, bool]]:
    """{context name: (responsible, new)} in the user's list."""
    return {row.Context.name: (row.responsible, row.new)
            for row in session.execute(organisation_items(user.id, user.organisation_id))}


def test_a_context_appears_once_referred_to_the_organisation_that_runs_it(session, worker, staff, places):
    school = staff[OrganisationKind.SCHOOL]
    assert items(session, school) == {}  # registered, not referred: nothing to act on yet
    refer(session, places["school"], worker)
    assert items(session, school) == {"Ashgrove Academy": (True, True)}
    assert items(session, staff[OrganisationKind.HOUSING]) == {}
    assert items(session, worker) == {}  # the authority's own contexts are in its register instead


def test_a_case_naming_an_agency_puts_the_context_in_its_list(session, worker, staff, places, organisations):
    refer(session, places["takeaway"], worker, organisations[OrganisationKind.HOUSING])
    assert items(session, staff[OrganisationKind.HOUSING]) == {"Chicken Hut": (False, True)}
    assert items(session, staff[OrganisationKind.SCHOOL]) == {}
    housing = organisations[OrganisationKind.HOUSING].id
    assert session.scalar(organisation_item(housing, places["takeaway"].id)) is places["takeaway"]
    assert session.scalar(organisation_item(housing, places["school"].id)) is None


def test_an_item_is_new_until_opened_and_again_when_someone_else_adds_to_it(session, worker, staff, places):
    school = staff[OrganisationKind.SCHOOL]
    count = select(new_item_count(school.id, school.organisation_id).scalar_subquery())
    refer(session, places["school"], worker)
    assert session.scalar(count) == 1
    mark_read(session, school.id, places["school"].id)
    session.commit()
    assert session.scalar(count) == 0
    add_case_note(session, places["school"], school, "Our DSL has briefed staff at the gates")
    session.commit()
    assert session.scalar(count) == 0  # one's own note is not news
    add_case_note(session, places["school"], worker, "Two more sightings reported by the police")
    session.commit()
    assert items(session, school) == {"Ashgrove Academy": (True, True)}
    mark_read(session, school.id, places["school"].id)  # a second reading moves the mark on
    session.commit()
    assert session.scalar(count) == 0


def test_new_items_come_first_then_the_latest(session, worker, staff, places, organisations):
    school = staff[OrganisationKind.SCHOOL]
    refer(session, places["school"], worker)
    refer(session, places["takeaway"], worker, organisations[OrganisationKind.SCHOOL])
    assert list(items(session, school)) == ["Chicken Hut", "Ashgrove Academy"]
    mark_read(session, school.id, places["takeaway"].id)
    session.commit()
    assert list(items(session, school)) == ["Ashgrove Academy", "Chicken Hut"]


# ---- row-level security, as the app's role -----------------------------------------------------

@pytest.fixture(scope="module")
def partners():
    """Kensington shares with nobody. Its school is run by Ashgrove, a child is linked to it (with
    the link's history row), and its takeaway's case names the housing provider."""
    url = copy_template_database("partners")
    owner = make_engine(url)
    ids = {}
    with owner.begin() as connection:
        for name, kind in (("Kensington", "local_authority"), ("Ashgrove", "school"), ("Westway", "housing"),
                           ("Bystander", "community")):
            ids[name] = connection.scalar(insert(Organisation).values(name=name, kind=kind).returning(Organisation.id))
        ids["worker"] = connection.scalar(insert(User).values(
            username="worker", display_name="Worker", password_hash=generate_password_hash("x"), role="social_worker",
            organisation_id=ids["Kensington"]).returning(User.id))
        for name, kind, responsible in (("Ashgrove Academy", "school", ids["Ashgrove"]), ("Chicken Hut", "takeaway", None)):
            ids[name] = connection.scalar(insert(Context).values(
                name=name, kind=kind, geometry="SRID=4326;POINT(-0.19 51.49)", organisation_id=ids["Kensington"],
                responsible_organisation_id=responsible).returning(Context.id))
            connection.execute(insert(ContextChange).values(context_id=ids[name], username="worker", action="created",
                                                            changes={}))
        child = connection.scalar(insert(YoungPerson).values(
            reference="YP-SECRET", birth_month=date(2011, 1, 1), sex=2, responsible_authority_code="E09000020",
            organisation_id=ids["Kensington"]).returning(YoungPerson.id))
        link = connection.scalar(insert(ContextLink).values(
            young_person_id=child, context_id=ids["Ashgrove Academy"], role="attends", first_seen_on=date(2026, 9, 1),
            recorded_by_id=ids["Kensington"], reliability="corroborated").returning(ContextLink.id))
        connection.execute(insert(ContextChange).values(
            context_id=ids["Ashgrove Academy"], username="worker", action="edited", link_id=link,
            changes={"young person": ["", "YP-SECRET"]}))
        for name, agencies in (("Ashgrove Academy", [ids["Kensington"]]), ("Chicken Hut", [ids["Kensington"], ids["Westway"]])):
            connection.execute(insert(CaseRecord).values(
                context_id=ids[name], stage="referral", held_on=date(2026, 11, 2), owner_id=ids["worker"],
                agency_ids=agencies, decision="Referred", next_review_on=date(2026, 12, 1), recorded_by_id=ids["worker"]))
    owner.dispose()
    app = make_engine(as_app_role(url))
    yield app, ids
    app.dispose()
    drop_database(url)


@pytest.mark.parametrize(("acting", "contexts"), [
    ("Ashgrove", {"Ashgrove Academy"}),  # runs it
    ("Westway", {"Chicken Hut"}),  # named as an agency in its case
    ("Bystander", set()),
    ("Kensington", {"Ashgrove Academy", "Chicken Hut"}),
    (None, set()),  # a transaction that names nobody sees nothing, without failing
])
def test_a_partner_reads_the_contexts_that_involve_it_and_never_the_children(partners, acting, contexts):
    engine, ids = partners
    with engine.begin() as connection:
        act_for(connection, ids[acting] if acting else None)
        assert set(connection.scalars(select(Context.name))) == contexts
        assert connection.scalar(select(func.count()).select_from(CaseRecord)) == len(contexts)
        children = acting == "Kensington"
        assert set(connection.scalars(select(YoungPerson.reference))) == ({"YP-SECRET"} if children else set())
        assert connection.scalar(select(func.count()).select_from(ContextLink)) == (1 if children else 0)
        # The history of a link names the child: it is read with the link, or not at all.
        history = {(row.context_id, row.link_id is not None) for row in connection.execute(select(ContextChange))}
        assert history == {(ids[name], False) for name in contexts} | (
            {(ids["Ashgrove Academy"], True)} if children else set())


def test_a_partner_adds_notes_but_cannot_change_the_context(partners):
    engine, ids = partners
    with engine.connect() as connection:
        with connection.begin():
            act_for(connection, ids["Ashgrove"])
            connection.execute(insert(CaseNote).values(context_id=ids["Ashgrove Academy"], organisation_id=ids["Ashgrove"],
                                                       author_id=ids["worker"], text="Staff briefed"))
        with connection.begin():
            act_for(connection, ids["Ashgrove"])
            with pytest.raises(DBAPIError, match="row-level security"):
                connection.execute(update(Context).where(Context.id == ids["Ashgrove Academy"]).values(name="Renamed"))
        with connection.begin():
            act_for(connection, ids["Bystander"])
            with pytest.raises(DBAPIError, match="row-level security"):
                connection.execute(insert(CaseNote).values(context_id=ids["Chicken Hut"], organisation_id=ids["Bystander"],
                                                           author_id=ids["worker"], text="Not ours"))


def test_the_partner_contexts_are_named_to_the_policy(partners):
    engine, ids = partners
    with engine.begin() as connection:
        reach = act_for(connection, ids["Ashgrove"])
        plan = "\n".join(connection.scalars(text("EXPLAIN (VERBOSE) SELECT name FROM contexts")))
    # Looked up once for the request, then named as a setting that the policy reads, with no table.
    assert reach.contexts == tuple(sorted(reach.contexts)) != ()
    assert "current_setting('csmap.partner_contexts'" in plan and "case_records" not in plan, plan
