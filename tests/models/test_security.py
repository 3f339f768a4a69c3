"""Defence in depth, tried as the application's own database role on a database of its own: the
grants, row-level security by organisation and sharing, and the append-only audit log."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.hexes import cells_of
from models import upkeep
from models.aggregates import AGGREGATED_RESOLUTIONS, EpisodeHexMonth
from models.audit import AuditAction, AuditEvent
from models.base import Base, make_engine
from models.people import Organisation, OrganisationSharing
from models.queries import episode_hex_counts, within
from models.safeguarding import Context, ContextChange, MissingEpisode, YoungPerson
from models.security import APP_ROLE, Reach, act_for
from tests.conftest import as_app_role, copy_template_database, drop_database
from webapp.placement_check import hotspot_field

EARLS_COURT = LatLng(51.4905, -0.1947)


@pytest.fixture(scope="module")
def two_authorities():
    """Two boroughs with a child and an episode each, a police force that Kensington shares with,
    and a community group nobody shares with: committed, then the database as the app's role."""
    url = copy_template_database("security")
    owner = make_engine(url)
    ids = {}
    with owner.begin() as connection:
        for name, kind, code in (("Kensington", "local_authority", "E09000020"), ("Hammersmith", "local_authority", "E09000013"),
                                 ("Police", "police", None), ("Community", "community", None)):
            ids[name] = connection.scalar(insert(Organisation).values(name=name, kind=kind, local_authority_code=code)
                                          .returning(Organisation.id))
        connection.execute(insert(OrganisationSharing).values(authority_id=ids["Kensington"], partner_id=ids["Police"]))
        for borough in ("Kensington", "Hammersmith"):
            person = connection.scalar(insert(YoungPerson).values(
                reference=f"YP-{borough[:3].upper()}", birth_month=date(2011, 1, 1), sex=2,
                responsible_authority_code="E09000020", organisation_id=ids[borough]).returning(YoungPerson.id))
            # Both went missing from the same place: totals kept per hexagon must not mix them.
            connection.execute(insert(MissingEpisode).values(
                young_person_id=person, missing_type="M", started_at=func.now(),
                last_seen_location=EARLS_COURT.wkt, last_seen_cells=cells_of(EARLS_COURT)))
            upkeep.recount_organisation(connection, ids[borough])  # written past the sessions that keep them
            context = connection.scalar(insert(Context).values(name=f"{borough} park", kind="online_space",
                                                               organisation_id=ids[borough]).returning(Context.id))
            connection.execute(insert(ContextChange).values(context_id=context, username=f"{borough} worker",
                                                            action="created", changes={}))
        connection.execute(insert(AuditEvent).values(username="someone", organisation_id=ids["Kensington"],
                                                     action=AuditAction.SIGN_IN, target="/login", detail={}))
    owner.dispose()
    app = make_engine(as_app_role(url))
    yield app, ids
    app.dispose()
    drop_database(url)


def visible(connection, model) -> set[str]:
    column = model.reference if model is YoungPerson else model.name
    return set(connection.scalars(select(column)))


@pytest.mark.parametrize(("acting", "people"), [
    (None, set()),
    ("Kensington", {"YP-KEN"}),
    ("Hammersmith", {"YP-HAM"}),
    ("Police", {"YP-KEN"}),  # Kensington shares with the police
    ("Community", set()),  # nobody shares with the community group
])
def test_each_organisation_sees_its_own_rows_and_those_shared_with_it(two_authorities, acting, people):
    engine, ids = two_authorities
    with engine.begin() as connection:
        act_for(connection, ids[acting] if acting else None)
        assert visible(connection, YoungPerson) == people
        # A query that forgets every filter still sees only those children's episodes and contexts.
        assert connection.scalar(select(func.count()).select_from(MissingEpisode)) == len(people)
        parks = {"YP-KEN": "Kensington park", "YP-HAM": "Hammersmith park"}
        assert visible(connection, Context) == {parks[person] for person in people}
        workers = {"YP-KEN": "Kensington worker", "YP-HAM": "Hammersmith worker"}
        assert set(connection.scalars(select(ContextChange.username))) == {workers[person] for person in people}
        # Nor do the monthly hexagon totals the dashboard reads, at every resolution they keep.
        for resolution in AGGREGATED_RESOLUTIONS:
            counted = connection.execute(episode_hex_counts(resolution)).all()
            assert sum(row.young_people for row in counted) == len(people), resolution
        kept = {person for people in connection.scalars(select(EpisodeHexMonth.young_people)) for person in people}
        assert kept == set(connection.scalars(select(YoungPerson.id)))


@pytest.mark.parametrize("organisation", ["1'; RESET ROLE; --", "1.5", ""])
def test_only_a_number_names_the_organisation(two_authorities, organisation):
    """SET LOCAL takes no bind parameter, so anything else is refused before it reaches SQL."""
    engine, _ids = two_authorities
    with engine.begin() as connection, pytest.raises(ValueError):
        act_for(connection, organisation)


def test_the_organisation_lasts_one_transaction(two_authorities):
    engine, ids = two_authorities
    with engine.connect() as connection:
        with connection.begin():
            act_for(connection, ids["Kensington"])
            assert visible(connection, YoungPerson) == {"YP-KEN"}
        with connection.begin():
            assert visible(connection, YoungPerson) == set()


def test_the_policies_read_the_organisations_the_transaction_names(two_authorities):
    """act_for looks up whom the police may read (Kensington shares with them); the policies read
    only that setting, so naming fewer shows fewer, and naming the organisation alone shows none."""
    engine, ids = two_authorities
    with engine.connect() as connection:
        with connection.begin():
            assert act_for(connection, ids["Police"]).organisations == tuple(sorted((ids["Police"], ids["Kensington"])))
            assert visible(connection, YoungPerson) == {"YP-KEN"}
        with connection.begin():
            assert act_for(connection, ids["Police"], Reach((ids["Police"],))).organisations == (ids["Police"],)
            assert visible(connection, YoungPerson) == set()
        with connection.begin():
            connection.exec_driver_sql(f"SET LOCAL csmap.organisation_id = '{ids['Kensington']}'")
            assert visible(connection, YoungPerson) == set()


@pytest.mark.parametrize("readable", [["1'; RESET ROLE; --"], [1.5], ["two"]])
def test_only_numbers_name_the_organisations_it_may_read(two_authorities, readable):
    engine, ids = two_authorities
    with engine.begin() as connection, pytest.raises(ValueError):
        act_for(connection, ids["Police"], Reach(readable))


def test_no_organisation_may_write_a_record_for_another(two_authorities):
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Hammersmith"])
        with pytest.raises(DBAPIError, match="row-level security"):
            connection.execute(insert(YoungPerson).values(
                reference="YP-SNEAK", birth_month=date(2011, 1, 1), sex=1, responsible_authority_code="E09000020",
                organisation_id=ids["Kensington"]))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET username = 'nobody'",
    "DELETE FROM audit_events",
    "UPDATE context_changes SET note = 'rewritten'",
    "DELETE FROM context_changes",
    "TRUNCATE context_changes",
    "UPDATE case_records SET decision = 'rewritten'",
    "DELETE FROM case_notes",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "DROP TABLE audit_events",
    "ALTER TABLE young_people DISABLE ROW LEVEL SECURITY",
    "DROP POLICY young_people_by_organisation ON young_people",
    "SET ROLE csmap",
])
def test_the_app_role_cannot_alter_the_audit_log_or_the_policies(two_authorities, statement):
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        with pytest.raises(DBAPIError, match="permission denied|must be owner|append-only"):
            connection.execute(text(statement))


def test_the_app_role_adds_to_the_audit_log_and_reads_only_its_organisations(two_authorities):
    engine, ids = two_authorities
    with engine.begin() as connection:
        act_for(connection, ids["Hammersmith"])
        connection.execute(insert(AuditEvent).values(username="hammersmith.user", organisation_id=ids["Hammersmith"],
                                                     action=AuditAction.SIGN_IN, target="/login", detail={}))
        assert set(connection.scalars(select(AuditEvent.username))) == {"hammersmith.user"}


def test_the_app_role_owns_nothing_and_bypasses_nothing(two_authorities):
    engine, _ = two_authorities
    with engine.connect() as connection:
        role = connection.execute(text("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                                       "WHERE rolname = current_user")).one()
        assert connection.scalar(text("SELECT current_user")) == APP_ROLE
        assert tuple(role) == (False, False, False, False)
        owned = connection.scalar(text("SELECT count(*) FROM pg_class WHERE relowner = "
                                       "(SELECT oid FROM pg_roles WHERE rolname = current_user)"))
        assert owned == 0


# Tables the app role may write; every other table of ours it may only read, or read and add to.
WRITTEN = {"young_people", "contexts", "context_links", "missing_episodes", "placements", "import_runs",
           "api_tokens", "users", "sign_in_failures"}
APPEND_ONLY = {"audit_events", "context_changes", "case_records", "case_notes", "child_meetings"}
UPSERTED = {"context_reads"}  # added or moved on, never removed
# UPDATE only for the lock Citus takes on a referenced reference table; its policy lets no row change.
LOCKED = {"organisations"}
# Totals and tokens the writers keep as themselves (models.upkeep), their own organisation's only.
KEPT = {"episode_hex_months": {"INSERT", "DELETE"}, "organisation_data_versions": {"INSERT", "UPDATE"}}


def test_every_table_has_the_grants_it_should(two_authorities):
    """A new table without its grants fails here, not in production."""
    engine, _ = two_authorities
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) <= tables
        for table in Base.metadata.tables:
            rights = {right: connection.scalar(text("SELECT has_table_privilege(current_user, :t, :r)"),
                                               {"t": table, "r": right})
                      for right in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")}
            expected_writes = table in WRITTEN
            kept = KEPT.get(table, set())
            assert rights["SELECT"], table
            assert rights["INSERT"] == (expected_writes or table in APPEND_ONLY | UPSERTED or "INSERT" in kept), table
            assert rights["UPDATE"] == (expected_writes or table in UPSERTED | LOCKED or "UPDATE" in kept), table
            assert rights["DELETE"] == (expected_writes or "DELETE" in kept), table
            assert not rights["TRUNCATE"], table


@pytest.mark.parametrize("statement", [
    "INSERT INTO organisation_data_versions (organisation_id, table_name, token) VALUES (:other, 'young_people', "
    "gen_random_uuid())",
    "UPDATE organisation_data_versions SET token = gen_random_uuid() WHERE organisation_id = :other",
    "INSERT INTO episode_hex_months (organisation_id, layer, resolution, month, cell, young_people) "
    "VALUES (:other, 'last_seen', 6, '2026-01-01', 1, '{1}')",
    "DELETE FROM episode_hex_months WHERE organisation_id = :other",
    "UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id <> 2",
])
def test_the_app_role_keeps_its_own_organisation_s_totals_and_tokens_and_nobody_else_s(two_authorities, statement):
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        try:
            changed = connection.execute(text(statement), {"other": ids["Hammersmith"]}).rowcount
        except DBAPIError as refused:
            assert "row-level security" in str(refused)
        else:
            assert changed == 0


def test_the_app_role_recounts_and_renews_its_own_organisation(two_authorities):
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        before = connection.scalar(text("SELECT token FROM organisation_data_versions WHERE organisation_id = :own "
                                        "AND table_name = 'young_people'"), {"own": ids["Kensington"]})
        upkeep.recount_organisation(connection, ids["Kensington"])
        after = connection.scalar(text("SELECT token FROM organisation_data_versions WHERE organisation_id = :own "
                                       "AND table_name = 'young_people'"), {"own": ids["Kensington"]})
        assert after is not None and after != before
        connection.execute(text("SELECT csmap_new_contexts_version()"))


def test_the_app_role_may_lock_the_organisations_but_change_none(two_authorities):
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        changed = connection.execute(text("UPDATE organisations SET name = 'Renamed'"))
        assert changed.rowcount == 0
        assert connection.scalar(text("SELECT count(*) FROM organisations WHERE name = 'Renamed'")) == 0
        assert connection.scalar(text("SELECT count(*) FROM organisations")) >= len(ids)


def test_records_tables_have_row_level_security(two_authorities):
    engine, _ = two_authorities
    with engine.connect() as connection:
        secured = set(connection.scalars(text("SELECT relname FROM pg_class WHERE relrowsecurity")))
    assert {"young_people", "contexts", "context_links", "missing_episodes", "placements", "import_runs",
            "audit_events", "episode_hex_months", "context_changes", "case_records", "case_notes", "child_meetings",
            "context_reads", "organisations"} <= secured


def test_the_placement_checks_hotspot_field_is_kept_per_organisation(two_authorities):
    """The check keeps its hexagon counts in memory between requests: one organisation's must
    never answer another's."""
    engine, ids = two_authorities
    since = datetime.now(timezone.utc) - timedelta(days=400)
    counted = {}
    for acting in ("Kensington", "Community", "Police"):
        with engine.connect() as connection, connection.begin():
            act_for(connection, ids[acting])
            counted[acting] = sum(hotspot_field(Session(bind=connection), since).counts.values())
    assert counted == {"Kensington": 1, "Community": 0, "Police": 1}


@pytest.mark.parametrize(("column", "index"), [
    (YoungPerson.home_location, "idx_young_people_home_location"),
    (MissingEpisode.last_seen_location, "idx_missing_episodes_last_seen_location"),
    (Context.geometry, "idx_contexts_geometry"),
])
def test_box_searches_keep_their_spatial_index_under_row_level_security(two_authorities, column, index):
    """Without PostGIS's && marked leakproof (migration b7d1e5a9c3f2), the policy comes first and
    every box search reads the whole table."""
    engine, ids = two_authorities
    query = select(column).where(within(column, (-0.2, 51.48, -0.18, 51.5)))
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: make the index the only way
        plan = "\n".join(connection.scalars(text("EXPLAIN " + sql)))
    assert index in plan, plan


@pytest.mark.parametrize(("table", "setting"), [
    ("young_people", "csmap.visible_organisations"),
    ("missing_episodes", "csmap.visible_organisations"),
    ("contexts", "csmap.partner_contexts"),
    ("episode_hex_months", "csmap.visible_organisations"),
    ("context_changes", "csmap.partner_contexts"),
    ("case_notes", "csmap.visible_organisations"),
    ("import_runs", "csmap.organisation_id"),
    ("audit_events", "csmap.organisation_id"),
])
def test_policies_compare_the_row_with_a_setting_and_read_no_table(two_authorities, table, setting):
    """Citus refuses a subquery in the policy of any table it holds, even the once-per-query
    ``(SELECT f())``: each policy tests the row's own columns against the transaction's settings."""
    engine, ids = two_authorities
    with engine.connect() as connection, connection.begin():
        act_for(connection, ids["Kensington"])
        plan = "\n".join(connection.scalars(text(f"EXPLAIN VERBOSE SELECT * FROM {table}")))
    assert f"current_setting('{setting}'" in plan, plan
    assert not re.search(r"InitPlan|SubPlan|organisation_sharing|case_records", plan), plan