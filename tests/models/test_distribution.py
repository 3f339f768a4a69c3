"""The Citus distribution plan, checked against the catalogue: small schemas that break one rule
each, and the real one."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from geo.coords import LatLng
from geo.hexes import MAP_RESOLUTIONS, cells_of
from models.aggregates import AGGREGATED_RESOLUTIONS, EpisodeHexMonth, OrganisationDataVersion
from models.base import make_engine
from models.codes import ContextKind, LinkRole, MissingType, OrganisationKind, Reliability
from models.distribution import (
    ANCHOR,
    EXTENSIONS,
    PLAN,
    Placing,
    adjustments,
    blockers,
    distribution_sql,
    joining_metadata,
    tables,
)
from models.links import removed_links
from models.meetings import meetings_of
from models.nearby import her_contexts_near, her_episodes_near, peers_near
from models.peers import shared_context_pairs, shared_episode_pairs
from models.placement_report import (
    context_ids_by_person,
    current_placements,
    flagged_near,
    homes_and_current_placements,
)
from models.queries import (
    EpisodeSelection,
    context_links,
    episode_hex_counts,
    episodes_near,
    episodes_near_by_start,
    her_context_ids,
    her_links,
    hers,
    linked_people,
    linked_people_by_cell,
)
from models.reports import Period, harm_by_concern, harm_by_kind, meeting_sources_by_kind, meetings_considering_harm
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson
from models.security import APP_ROLE, act_for
from tests.conftest import as_app_role, copy_template_database, drop_database

SCHEMA = "citus_check"
ANCHOR_TABLE = f"""CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, id int,
                   PRIMARY KEY (organisation_id, id))"""
READY = [
    ANCHOR_TABLE,
    f"CREATE TABLE {SCHEMA}.orgs (id int PRIMARY KEY)",
    f"""CREATE TABLE {SCHEMA}.episodes (organisation_id int NOT NULL REFERENCES {SCHEMA}.orgs, id int,
        person_id int, PRIMARY KEY (organisation_id, id),
        FOREIGN KEY (organisation_id, person_id) REFERENCES {SCHEMA}.{ANCHOR} (organisation_id, id))""",
    f"ALTER TABLE {SCHEMA}.episodes ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY by_organisation ON {SCHEMA}.episodes USING (organisation_id = 1)",
]
PLACED = {ANCHOR: Placing.DISTRIBUTED, "episodes": Placing.DISTRIBUTED, "orgs": Placing.REFERENCE}


@pytest.fixture
def scratch(connection):
    connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    return connection


def test_a_schema_that_follows_the_rules_has_no_blockers(scratch):
    for statement in READY:
        scratch.execute(text(statement))
    assert blockers(scratch, PLACED, SCHEMA) == []
    assert distribution_sql(scratch, PLACED, SCHEMA) == [
        "SET citus.enable_local_reference_table_foreign_keys TO off;",
        "SELECT create_reference_table('orgs');",
        f"SELECT create_distributed_table('{ANCHOR}', 'organisation_id');",
        f"SELECT create_distributed_table('episodes', 'organisation_id', colocate_with => '{ANCHOR}');",
    ]


@pytest.mark.parametrize(("statements", "plan", "problem"), [
    ([f"CREATE TABLE {SCHEMA}.loose (id int)"], {}, "loose: not placed"),
    ([], {"ghost": Placing.REFERENCE}, "ghost: placed but not in the schema"),
    ([f"CREATE TABLE {SCHEMA}.{ANCHOR} (id int PRIMARY KEY)"], {ANCHOR: Placing.DISTRIBUTED},
     f"{ANCHOR}: has no organisation_id column"),
    ([f"CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int, id int)"],
     {ANCHOR: Placing.DISTRIBUTED}, f"{ANCHOR}: organisation_id may be empty"),
    ([f"CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.notes (organisation_id int NOT NULL, person_id int REFERENCES {SCHEMA}.{ANCHOR})"],
     {ANCHOR: Placing.DISTRIBUTED, "notes": Placing.DISTRIBUTED},
     f"{ANCHOR}: {ANCHOR}_pkey (id) must include organisation_id, and notes_person_id_fkey refers to it"),
    ([ANCHOR_TABLE, f"ALTER TABLE {SCHEMA}.{ANCHOR} ADD CONSTRAINT one_id UNIQUE (id)",
      f"CREATE TABLE {SCHEMA}.links (organisation_id int NOT NULL, person_id int REFERENCES {SCHEMA}.{ANCHOR} (id))"],
     {ANCHOR: Placing.DISTRIBUTED, "links": Placing.DISTRIBUTED},
     f"links: links_person_id_fkey refers to {ANCHOR} without organisation_id"),
    ([ANCHOR_TABLE, f"""CREATE TABLE {SCHEMA}.notes (organisation_id int, person_id int,
                       FOREIGN KEY (organisation_id, person_id) REFERENCES {SCHEMA}.{ANCHOR} (organisation_id, id))"""],
     {ANCHOR: Placing.DISTRIBUTED, "notes": Placing.REFERENCE},
     "notes: notes_organisation_id_person_id_fkey: a reference table may refer only to reference tables"),
    ([ANCHOR_TABLE, f"""CREATE TABLE {SCHEMA}.notes (organisation_id int NOT NULL, person_id int,
                       FOREIGN KEY (organisation_id, person_id) REFERENCES {SCHEMA}.{ANCHOR} (organisation_id, id)
                       ON UPDATE CASCADE)"""],
     {ANCHOR: Placing.DISTRIBUTED, "notes": Placing.DISTRIBUTED},
     "notes: notes_organisation_id_person_id_fkey would change organisation_id on its own"),
    ([f"CREATE TABLE {SCHEMA}.audit (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, audit_id int REFERENCES {SCHEMA}.audit)"],
     {ANCHOR: Placing.DISTRIBUTED, "audit": Placing.COORDINATOR},
     f"{ANCHOR}: {ANCHOR}_audit_id_fkey refers to audit, which is on the coordinator only"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.visits (organisation_id int NOT NULL, person_id int)",
      f"ALTER TABLE {SCHEMA}.visits ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY by_person ON {SCHEMA}.visits USING (EXISTS (SELECT 1 FROM {SCHEMA}.{ANCHOR} p "
      f"WHERE p.id = person_id))"],
     {ANCHOR: Placing.DISTRIBUTED, "visits": Placing.DISTRIBUTED},
     "visits: policy by_person holds a subquery"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.sharing (partner int, authority int)",
      f"""CREATE FUNCTION {SCHEMA}.shared_with_me() RETURNS int[] LANGUAGE sql STABLE AS $$
          SELECT array_agg(authority) FROM {SCHEMA}.sharing
          WHERE partner = current_setting('csmap.organisation_id')::int $$""",
      f"ALTER TABLE {SCHEMA}.{ANCHOR} ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY shared ON {SCHEMA}.{ANCHOR} USING (organisation_id = ANY ({SCHEMA}.shared_with_me()))"],
     {ANCHOR: Placing.DISTRIBUTED, "sharing": Placing.REFERENCE},
     f"{ANCHOR}: policy shared calls shared_with_me(), which reads a table"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.visits (organisation_id int NOT NULL)",
      f"CREATE FUNCTION {SCHEMA}.visible_ids() RETURNS int[] LANGUAGE sql STABLE AS $$ SELECT '{{1}}'::int[] $$",
      f"ALTER TABLE {SCHEMA}.visits ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY once ON {SCHEMA}.visits USING (organisation_id = ANY ((SELECT {SCHEMA}.visible_ids())::integer[]))"],
     {ANCHOR: Placing.DISTRIBUTED, "visits": Placing.DISTRIBUTED},
     "visits: policy once holds a subquery"),
    ([f"CREATE TABLE {SCHEMA}.places (id int PRIMARY KEY, organisation_id int)",
      f"ALTER TABLE {SCHEMA}.places ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY theirs ON {SCHEMA}.places USING (organisation_id = (SELECT 1))"],
     {"places": Placing.REFERENCE},
     "places: policy theirs holds a subquery"),
    ([f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.audit (user_id int REFERENCES {SCHEMA}.users, organisation_id int)",
      f"ALTER TABLE {SCHEMA}.audit ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY theirs ON {SCHEMA}.audit USING (organisation_id = (SELECT 1))"],
     {"users": Placing.REFERENCE, "audit": Placing.COORDINATOR},
     "audit: policy theirs holds a subquery"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.tally (n int)",
      f"""CREATE FUNCTION {SCHEMA}.count_people() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN UPDATE {SCHEMA}.tally SET n = n + 1; RETURN NULL; END $$""",
      f"CREATE TRIGGER counted AFTER INSERT ON {SCHEMA}.{ANCHOR} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.count_people()"],
     {ANCHOR: Placing.DISTRIBUTED, "tally": Placing.REFERENCE},
     f"{ANCHOR}: trigger counted runs count_people() on each shard"),
    ([f"CREATE TABLE {SCHEMA}.places (id int PRIMARY KEY)", f"CREATE TABLE {SCHEMA}.tally (n int)",
      f"""CREATE FUNCTION {SCHEMA}.count_places() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN UPDATE {SCHEMA}.tally SET n = n + 1; RETURN NULL; END $$""",
      f"CREATE TRIGGER counted AFTER INSERT ON {SCHEMA}.places FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.count_places()"],
     {"places": Placing.REFERENCE, "tally": Placing.REFERENCE},
     "places: trigger counted runs count_places() on every node's copy"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.tally (n int)",
      f"""CREATE FUNCTION {SCHEMA}.count_people() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN UPDATE {SCHEMA}.tally SET n = n + 1; RETURN NULL; END $$""",
      f"CREATE TRIGGER counted AFTER INSERT ON {SCHEMA}.{ANCHOR} EXECUTE FUNCTION {SCHEMA}.count_people()"],
     {ANCHOR: Placing.DISTRIBUTED, "tally": Placing.REFERENCE},
     f"{ANCHOR}: trigger counted runs count_people() once per statement, which each shard fires again"),
    ([ANCHOR_TABLE,
      f"""CREATE FUNCTION {SCHEMA}.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'append only'; END $$""",
      f"CREATE TRIGGER seen AFTER INSERT ON {SCHEMA}.{ANCHOR} REFERENCING NEW TABLE AS new_rows "
      f"EXECUTE FUNCTION {SCHEMA}.refuse_history_change()"],
     {ANCHOR: Placing.DISTRIBUTED},
     f"{ANCHOR}: trigger seen reads transition tables"),
    ([f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.audit (id int, user_id int REFERENCES {SCHEMA}.users)",
      f"""CREATE FUNCTION {SCHEMA}.note_audit() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RETURN NULL; END $$""",
      f"CREATE TRIGGER noted AFTER INSERT ON {SCHEMA}.audit REFERENCING NEW TABLE AS new_rows "
      f"EXECUTE FUNCTION {SCHEMA}.note_audit()"],
     {"users": Placing.REFERENCE, "audit": Placing.COORDINATOR},
     "audit: trigger noted reads transition tables"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.audit (organisation_id int, person_id int, "
                    f"FOREIGN KEY (organisation_id, person_id) REFERENCES {SCHEMA}.{ANCHOR})"],
     {ANCHOR: Placing.DISTRIBUTED, "audit": Placing.COORDINATOR},
     f"audit: audit_organisation_id_person_id_fkey refers to {ANCHOR}, which is distributed"),
    ([f"CREATE TABLE {SCHEMA}.orgs (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY, org_id int REFERENCES {SCHEMA}.orgs)",
      f"GRANT SELECT, UPDATE ON {SCHEMA}.users TO {APP_ROLE}", f"GRANT SELECT, INSERT ON {SCHEMA}.orgs TO {APP_ROLE}"],
     {"orgs": Placing.REFERENCE, "users": Placing.REFERENCE},
     f"users: {APP_ROLE} may update or delete it, and Citus then locks orgs, which it refers to, as {APP_ROLE}: "
     f"grant {APP_ROLE} one of UPDATE, DELETE, TRUNCATE on orgs"),
    ([f"CREATE TABLE {SCHEMA}.orgs (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY, org_id int REFERENCES {SCHEMA}.orgs)",
      f"CREATE TABLE {SCHEMA}.notes (user_id int REFERENCES {SCHEMA}.users)",
      f"GRANT SELECT, INSERT ON {SCHEMA}.notes, {SCHEMA}.users TO {APP_ROLE}",
      f"GRANT SELECT ON {SCHEMA}.orgs TO {APP_ROLE}"],
     {"orgs": Placing.REFERENCE, "users": Placing.REFERENCE, "notes": Placing.REFERENCE},
     f"notes: {APP_ROLE} may insert into it, and Citus then locks orgs, which it refers to, as {APP_ROLE}: "
     f"grant {APP_ROLE} one of INSERT, UPDATE, DELETE, TRUNCATE on orgs"),
    # The trial of writes on a cluster: each function the upkeep called was refused.
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.tokens (organisation_id int NOT NULL, name text, token uuid, "
                    "PRIMARY KEY (organisation_id, name))",
      f"""CREATE FUNCTION {SCHEMA}.renew(organisation int) RETURNS void LANGUAGE sql AS $$
          INSERT INTO {SCHEMA}.tokens VALUES (organisation, 'people', gen_random_uuid())
          ON CONFLICT (organisation_id, name) DO UPDATE SET token = excluded.token $$"""],
     {ANCHOR: Placing.DISTRIBUTED, "tokens": Placing.DISTRIBUTED},
     "tokens: function renew() writes it in LANGUAGE sql with parameters, which Citus cannot plan"),
    ([f"CREATE TABLE {SCHEMA}.versions (id int PRIMARY KEY, token uuid)",
      f"""CREATE FUNCTION {SCHEMA}.new_version() RETURNS void LANGUAGE plpgsql AS $$
          BEGIN UPDATE {SCHEMA}.versions SET token = gen_random_uuid() WHERE id = 2; END $$"""],
     {"versions": Placing.REFERENCE},
     "versions: function new_version() updates it calling gen_random_uuid(), which is volatile"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.totals (organisation_id int NOT NULL, n int)",
      f"""CREATE FUNCTION {SCHEMA}.recount(organisation int) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
          BEGIN DELETE FROM {SCHEMA}.totals WHERE organisation_id = organisation; END $$"""],
     {ANCHOR: Placing.DISTRIBUTED, "totals": Placing.DISTRIBUTED},
     "totals: function recount() writes it as its owner (SECURITY DEFINER)"),
])
def test_each_rule_citus_enforces_is_named(scratch, statements, plan, problem):
    for statement in statements:
        scratch.execute(text(statement))
    found = [str(blocker) for blocker in blockers(scratch, plan, SCHEMA)]
    assert [blocker for blocker in found if blocker.startswith(problem)], found


def test_functions_that_write_as_their_caller_in_pl_pgsql_with_values_worked_out_first_may_stay(scratch):
    for statement in (
        ANCHOR_TABLE,
        f"CREATE TABLE {SCHEMA}.versions (id int PRIMARY KEY, token uuid)",
        f"""CREATE FUNCTION {SCHEMA}.new_version(which int) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE fresh uuid := gen_random_uuid();
            BEGIN UPDATE {SCHEMA}.versions SET token = fresh WHERE id = which; END $$""",
        f"""CREATE FUNCTION {SCHEMA}.people_of(organisation int) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
            AS $$ SELECT count(*) FROM {SCHEMA}.{ANCHOR} WHERE organisation_id = organisation $$""",
    ):
        scratch.execute(text(statement))
    assert blockers(scratch, {ANCHOR: Placing.DISTRIBUTED, "versions": Placing.REFERENCE}, SCHEMA) == []


def test_the_coordinator_tables_tied_to_a_reference_table_join_citus_s_metadata(scratch):
    for statement in (f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY)",
                      f"CREATE TABLE {SCHEMA}.audit (id int PRIMARY KEY, user_id int REFERENCES {SCHEMA}.users)",
                      f"CREATE TABLE {SCHEMA}.audit_notes (audit_id int REFERENCES {SCHEMA}.audit)",
                      f"CREATE TABLE {SCHEMA}.versions (version text)"):
        scratch.execute(text(statement))
    plan = {"users": Placing.REFERENCE, "audit": Placing.COORDINATOR, "audit_notes": Placing.COORDINATOR,
            "versions": Placing.COORDINATOR}
    assert joining_metadata(scratch, plan, SCHEMA) == {"audit", "audit_notes"}
    assert blockers(scratch, plan, SCHEMA) == []
    assert distribution_sql(scratch, plan, SCHEMA) == [
        "SET citus.enable_local_reference_table_foreign_keys TO off;",
        "SELECT create_reference_table('users');",
        "RESET citus.enable_local_reference_table_foreign_keys;",
        "BEGIN;",
        "ALTER TABLE audit DROP CONSTRAINT audit_user_id_fkey;",
        "SELECT citus_add_local_table_to_metadata('audit', cascade_via_foreign_keys => true);",
        "SELECT citus_add_local_table_to_metadata('audit_notes', cascade_via_foreign_keys => true);",
        f"ALTER TABLE audit ADD CONSTRAINT audit_user_id_fkey FOREIGN KEY (user_id) REFERENCES {SCHEMA}.users(id);",
        "COMMIT;",
    ]


def test_triggers_that_only_refuse_and_policies_that_read_settings_may_stay(scratch):
    for statement in (ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.notes (id int PRIMARY KEY, organisation_id int)",
                      f"""CREATE FUNCTION {SCHEMA}.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
                          BEGIN RAISE EXCEPTION 'append only'; END $$""",
                      f"""CREATE FUNCTION {SCHEMA}.acting_for() RETURNS int LANGUAGE sql STABLE AS $$
                          SELECT nullif(current_setting('csmap.organisation_id', true), '')::int $$""",
                      f"CREATE TRIGGER kept BEFORE UPDATE OR DELETE ON {SCHEMA}.{ANCHOR} FOR EACH ROW "
                      f"EXECUTE FUNCTION {SCHEMA}.refuse_history_change()",
                      f"CREATE TRIGGER whole BEFORE TRUNCATE ON {SCHEMA}.notes "
                      f"EXECUTE FUNCTION {SCHEMA}.refuse_history_change()",
                      f"ALTER TABLE {SCHEMA}.notes ENABLE ROW LEVEL SECURITY",
                      f"CREATE POLICY acting ON {SCHEMA}.notes USING (organisation_id = {SCHEMA}.acting_for())",
                      f"GRANT SELECT, INSERT, UPDATE ON {SCHEMA}.notes TO {APP_ROLE}"):
        scratch.execute(text(statement))
    plan = {ANCHOR: Placing.DISTRIBUTED, "notes": Placing.REFERENCE}
    assert blockers(scratch, plan, SCHEMA) == []
    assert "SET citus.enable_unsafe_triggers TO on;" in distribution_sql(scratch, plan, SCHEMA)


@pytest.mark.parametrize("granted", ["UPDATE", "DELETE", "TRUNCATE"])
def test_any_one_right_to_change_the_referenced_table_lets_the_app_write(scratch, granted):
    for statement in (f"CREATE TABLE {SCHEMA}.orgs (id int PRIMARY KEY)",
                      f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY, org_id int REFERENCES {SCHEMA}.orgs)",
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON {SCHEMA}.users TO {APP_ROLE}",
                      f"GRANT SELECT, {granted} ON {SCHEMA}.orgs TO {APP_ROLE}"):
        scratch.execute(text(statement))
    assert blockers(scratch, {"orgs": Placing.REFERENCE, "users": Placing.REFERENCE}, SCHEMA) == []


# The schema as it was before migration 1a3c5e7b9d2f, in small: what the first trial on a Citus
# cluster refused (README "Past one machine").
OLD_CONSTRUCTS = [
    ANCHOR_TABLE,
    f"CREATE TABLE {SCHEMA}.orgs (id int PRIMARY KEY)",
    f"CREATE TABLE {SCHEMA}.users (id int PRIMARY KEY, organisation_id int REFERENCES {SCHEMA}.orgs)",
    f"CREATE TABLE {SCHEMA}.contexts (id int PRIMARY KEY, organisation_id int REFERENCES {SCHEMA}.orgs)",
    f"CREATE TABLE {SCHEMA}.case_notes (context_id int REFERENCES {SCHEMA}.contexts, "
    f"author_id int REFERENCES {SCHEMA}.users)",
    f"""CREATE TABLE {SCHEMA}.episodes (organisation_id int NOT NULL, id int, young_person_id int,
        PRIMARY KEY (organisation_id, id),
        FOREIGN KEY (organisation_id, young_person_id) REFERENCES {SCHEMA}.{ANCHOR})""",
    f"CREATE TABLE {SCHEMA}.hex_months (organisation_id int NOT NULL, n int)",
    f"CREATE TABLE {SCHEMA}.audit (organisation_id int REFERENCES {SCHEMA}.orgs, user_id int REFERENCES {SCHEMA}.users)",
    f"CREATE FUNCTION {SCHEMA}.old_visible() RETURNS int[] LANGUAGE sql STABLE AS $$ SELECT '{{1}}'::int[] $$",
    f"CREATE FUNCTION {SCHEMA}.old_acting() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 1 $$",
    f"CREATE TABLE {SCHEMA}.links (organisation_id int NOT NULL, context_id int REFERENCES {SCHEMA}.contexts)",
    # As csmap_partner_contexts() read context_links: a distributed query from inside a shard's.
    f"CREATE FUNCTION {SCHEMA}.old_partner_contexts() RETURNS int[] LANGUAGE sql STABLE "
    f"AS $$ SELECT array_agg(context_id) FROM {SCHEMA}.links $$",
    *(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY" for table in ("episodes", "contexts", "case_notes",
                                                                              "audit")),
    f"CREATE POLICY by_organisation ON {SCHEMA}.episodes "
    f"USING (organisation_id = ANY ((SELECT {SCHEMA}.old_visible())::integer[]))",
    f"CREATE POLICY by_organisation ON {SCHEMA}.contexts USING (organisation_id = ANY "
    f"((SELECT {SCHEMA}.old_visible())::integer[]) OR id = ANY ((SELECT {SCHEMA}.old_partner_contexts())::integer[]))",
    f"CREATE POLICY by_context ON {SCHEMA}.case_notes "
    f"USING (EXISTS (SELECT 1 FROM {SCHEMA}.contexts c WHERE c.id = case_notes.context_id))",
    f"CREATE POLICY read ON {SCHEMA}.audit FOR SELECT USING (organisation_id = (SELECT {SCHEMA}.old_acting()))",
    f"""CREATE FUNCTION {SCHEMA}.maintain_hex_months() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO {SCHEMA}.hex_months SELECT organisation_id, count(*) FROM new_rows GROUP BY 1;
        RETURN NULL; END $$""",
    f"CREATE TRIGGER hex_months_insert AFTER INSERT ON {SCHEMA}.episodes REFERENCING NEW TABLE AS new_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.maintain_hex_months()",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON {SCHEMA}.contexts, {SCHEMA}.users TO {APP_ROLE}",
    f"GRANT SELECT ON {SCHEMA}.orgs TO {APP_ROLE}",
]
OLD_PLAN = {ANCHOR: Placing.DISTRIBUTED, "episodes": Placing.DISTRIBUTED, "hex_months": Placing.DISTRIBUTED,
            "orgs": Placing.REFERENCE, "users": Placing.REFERENCE, "contexts": Placing.REFERENCE,
            "case_notes": Placing.REFERENCE, "audit": Placing.COORDINATOR, "links": Placing.DISTRIBUTED}


def test_every_refusal_of_the_first_trial_on_a_cluster_is_named(scratch):
    for statement in OLD_CONSTRUCTS:
        scratch.execute(text(statement))
    found = [str(blocker) for blocker in blockers(scratch, OLD_PLAN, SCHEMA)]
    refused = [
        "episodes: policy by_organisation holds a subquery",  # (SELECT csmap_visible_organisations())
        "contexts: policy by_organisation holds a subquery",  # and (SELECT csmap_partner_contexts())
        "case_notes: policy by_context holds a subquery",  # EXISTS on another table
        "contexts: policy by_organisation calls old_partner_contexts(), which reads a table",
        "audit: policy read holds a subquery",  # (SELECT csmap_acting_organisation()), in Citus's metadata
        "episodes: trigger hex_months_insert reads transition tables",
        "episodes: trigger hex_months_insert runs maintain_hex_months() once per statement",
        f"contexts: {APP_ROLE} may update or delete it, and Citus then locks orgs",
        f"users: {APP_ROLE} may update or delete it, and Citus then locks orgs",
    ]
    assert [problem for problem in refused if not any(blocker.startswith(problem) for blocker in found)] == [], found


def test_a_key_nothing_refers_to_gains_the_distribution_key_on_the_way(scratch):
    for statement in (f"""CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, id int PRIMARY KEY,
                          born tstzrange, EXCLUDE USING gist (id WITH =, born WITH &&))""",):
        scratch.execute(text(statement))
    assert blockers(scratch, {ANCHOR: Placing.DISTRIBUTED}, SCHEMA) == []
    assert adjustments(scratch, {ANCHOR: Placing.DISTRIBUTED}, SCHEMA) == [
        f"ALTER TABLE {ANCHOR} DROP CONSTRAINT {ANCHOR}_id_born_excl, ADD CONSTRAINT {ANCHOR}_id_born_excl "
        "EXCLUDE USING gist (organisation_id WITH =, id WITH =, born WITH &&);",
        f"ALTER TABLE {ANCHOR} DROP CONSTRAINT {ANCHOR}_pkey, ADD CONSTRAINT {ANCHOR}_pkey PRIMARY KEY (organisation_id, id);",
    ]


def test_the_schema_takes_its_adjustments(connection):
    """Run here on plain PostgreSQL (and rolled back): each is valid on the real schema, and after
    them every key of a distributed table holds the distribution key."""
    for statement in adjustments(connection):
        connection.execute(text(statement))
    assert adjustments(connection) == []


def test_every_table_of_the_schema_is_placed(connection):
    assert tables(connection) == PLAN.keys()
    assert not [blocker for blocker in blockers(connection) if "placed" in blocker.problem]


def test_the_schema_is_ready_to_distribute(connection):
    """Migrations f4b6d8a0c2e3 to 1a3c5e7b9d2f (README "Past one machine")."""
    assert [str(blocker) for blocker in blockers(connection)] == []


def test_the_policies_call_only_the_functions_that_read_the_transaction_s_settings(connection):
    called = set(connection.scalars(text("""
        SELECT DISTINCT p.proname FROM pg_policy pol
        JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
                        AND d.refclassid = 'pg_proc'::regclass
        JOIN pg_proc p ON p.oid = d.refobjid""")))
    assert called == {"csmap_visible_organisations", "csmap_acting_organisation", "csmap_partner_contexts"}
    bodies = connection.scalars(text("SELECT prosrc FROM pg_proc WHERE proname = ANY(:names)"),
                                {"names": sorted(called)}).all()
    assert len(bodies) == len(called) and all("current_setting" in body for body in bodies)


def test_the_audit_log_joins_citus_s_metadata_and_the_migrations_version_does_not(connection):
    assert joining_metadata(connection) == {"audit_events"}


def test_the_deployment_creates_the_extensions_the_migrations_use(connection):
    assert set(connection.scalars(text("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"))) == set(
        EXTENSIONS)


def test_the_statements_create_what_a_table_refers_to_first(connection):
    statements = distribution_sql(connection)
    assert statements[:len(adjustments(connection))] == adjustments(connection)
    assert statements.index("SET citus.enable_local_reference_table_foreign_keys TO off;") < min(
        position for position, statement in enumerate(statements) if statement.startswith("SELECT create_"))
    order = {statement.split("'")[1]: position for position, statement in enumerate(statements)
             if statement.startswith("SELECT")}
    # Coordinator tables with no key to a reference table (alembic_version, sign_in_failures) stay plain tables.
    plain = {table for table, placing in PLAN.items() if placing == Placing.COORDINATOR} - joining_metadata(connection)
    assert plain >= {"alembic_version", "sign_in_failures"}
    assert order.keys() == PLAN.keys() - plain
    assert statements[order[ANCHOR]] == f"SELECT create_distributed_table('{ANCHOR}', 'organisation_id');"
    references = connection.execute(text("""
        SELECT DISTINCT c.relname, f.relname FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid
        WHERE k.contype = 'f' AND k.conrelid <> k.confrelid""")).all()
    for table, target in references:
        if PLAN[table] == PLAN[target] == Placing.REFERENCE:
            assert order[target] < order[table], (table, target)


# ---- routable by the key: what a shard can check alone -------------------------------------------

@pytest.fixture(scope="module")
def as_the_app():
    """An empty database read as the app's role, under row-level security."""
    url = copy_template_database("distribution")
    engine = make_engine(as_app_role(url))
    yield engine
    engine.dispose()
    drop_database(url)


def explain(connection, query) -> dict:
    """The plan PostgreSQL makes for ``query`` with its parameters' values."""
    compiled = query.compile(connection, compile_kwargs={"render_postcompile": True})
    return connection.exec_driver_sql(f"EXPLAIN (VERBOSE, FORMAT JSON) {compiled}", compiled.params).scalar()[0]["Plan"]


def scans(plan: dict) -> list[dict]:
    """Every node of an EXPLAIN (FORMAT JSON) plan that reads a table."""
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


JOIN_ON_A_CHILD = re.compile(r"\w+\.(young_person_id|id) = \w+\.young_person_id|\w+\.young_person_id = \w+\.(young_person_id|id)")
JOIN_ON_THE_KEY = re.compile(r"\w+\.organisation_id = \w+\.organisation_id")


def conditions_of(node: dict) -> str:
    """A node's conditions; a bitmap heap scan's include those of the index scans beneath it."""
    own = " ".join(str(node.get(key, "")) for key in ("Filter", "Index Cond", "Recheck Cond", "Hash Cond",
                                                       "Merge Cond", "Join Filter"))
    if node["Node Type"] not in ("Bitmap Heap Scan", "BitmapAnd", "BitmapOr"):
        return own
    return " ".join([own, *(conditions_of(child) for child in node.get("Plans", []))])


def nodes(plan: dict) -> list[dict]:
    """Every node of a plan but the bitmap index scans, whose conditions are their heap scan's."""
    beneath = [] if plan["Node Type"] == "Bitmap Heap Scan" else plan.get("Plans", [])
    return [plan, *(node for child in beneath for node in nodes(child))]


def constant_key(node: dict) -> bool:
    """Whether a scan tests its own organisation_id against constants."""
    return bool(re.search(rf"\b{node['Alias']}\.organisation_id = (ANY \('{{[\d,]+}}'::integer\[\]\)|\d+\))",
                          conditions_of(node)))


def assert_routed(every: list[dict]) -> None:
    """What Citus needs to send a query to the shards of the organisations it names only: each
    distributed table holding a constant key itself or joined on the key to one that does, and
    every join between a child's rows made on the key as well as her id unless both sides hold the
    same constant (PostgreSQL then drops the key's join as implied)."""
    read = [node for node in every if PLAN.get(node.get("Relation Name")) == Placing.DISTRIBUTED]
    assert read
    constant = {node["Alias"] for node in read if constant_key(node)}
    joins = [conditions_of(node) for node in every if JOIN_ON_A_CHILD.search(conditions_of(node))]
    unkeyed = [condition for condition in joins if not JOIN_ON_THE_KEY.search(condition)
               and not set(re.findall(r"(\w+)\.(?:young_person_id|id)\b", condition)) <= constant]
    assert not unkeyed, unkeyed
    joined_on_the_key = {alias for condition in joins for alias in re.findall(r"(\w+)\.organisation_id", condition)}
    for node in read:
        assert node["Alias"] in constant | joined_on_the_key, (node["Alias"], conditions_of(node), joins)


@pytest.mark.parametrize("selection", [
    EpisodeSelection(organisations=(1, 2)),
    EpisodeSelection(organisations=(1, 2), sex=2, ages=(13, 15), hours=(22, 6), concerns=frozenset({"11A"}),
                     kinds=frozenset({ContextKind.TAKEAWAY})),
], ids=["monthly totals", "every filter"])
def test_a_selection_names_its_organisations_as_constants_and_joins_on_the_key(as_the_app, selection):
    """The maps' queries (hex API, dashboard, live and shared maps)."""
    with as_the_app.begin() as connection:
        act_for(connection, 1)
        every = nodes(explain(connection, episode_hex_counts(8, selection)))
    assert_routed(every)
    assert selection.by_date_and_place_only or [node for node in every if JOIN_ON_A_CHILD.search(conditions_of(node))]


CHILD = YoungPerson(id=1, organisation_id=1)
PLACE = LatLng(51.49, -0.19)
SINCE = datetime(2025, 12, 1, tzinfo=timezone.utc)
QUARTER = Period.quarter("2026-Q3")


@pytest.mark.parametrize("query", [
    select(YoungPerson).where(YoungPerson.organisation_id == 1, YoungPerson.id == 1),
    her_links(CHILD),
    select(MissingEpisode).where(hers(MissingEpisode, CHILD)),
    select(Placement).where(hers(Placement, CHILD)),
    meetings_of(CHILD),
    context_links(1, (1, 2)),
    linked_people(1, (1, 2)),
    episodes_near(1, 250, (1, 2)).limit(500),
    episodes_near_by_start(1, 250, (1, 2)),
    her_context_ids(CHILD),
    her_contexts_near(CHILD, PLACE, 1600),
    peers_near(CHILD, [1, 2], PLACE, 1600, (1, 2)),
    her_episodes_near(CHILD, SINCE, PLACE, 1600),
    current_placements(1, 8),
    flagged_near(1, SINCE, 1600),
    homes_and_current_placements((1, 2)),
    context_ids_by_person((1, 2)),
    harm_by_kind(1, QUARTER, (1, 2)),
    harm_by_concern(1, QUARTER, (1, 2)),
    meetings_considering_harm(1, QUARTER),
    meeting_sources_by_kind(1, QUARTER),
    removed_links(1, (1, 2)),
    linked_people_by_cell(8, EpisodeSelection(organisations=(1, 2), sex=2, concerns=frozenset({"11A"}))),
    shared_context_pairs([1, 2], (1, 2)),
    shared_episode_pairs([1, 2], (1, 2), among_them=True),
], ids=["a child", "her links", "her episodes", "her placements", "her meetings", "a context's links",
        "its linked young people", "episodes near it", "them by hour", "check: her contexts",
        "check: her contexts near", "check: peers near", "check: her episodes near", "report: placements",
        "report: flags near her own", "report: homes and placements", "report: who shares a context",
        "report: harm by kind", "report: harm by concern", "report: meetings", "report: meetings' sources",
        "a context's removed links", "map: linked young people", "peers: shared contexts",
        "peers: missing together"])
def test_the_pages_name_their_organisations_as_constants(as_the_app, query):
    """A child's page and the placement check's searches of her own rows read her shard only; a
    context's page, the check's peers and the reports, those of the organisations the reader may see."""
    with as_the_app.begin() as connection:
        act_for(connection, 1)
        assert_routed(nodes(explain(connection, query)))


POINT = LatLng(51.4901, -0.1901)
STARTED = datetime(2026, 3, 10, 23, tzinfo=timezone.utc)


@pytest.fixture
def two_authorities_one_hexagon(session, organisations):
    """Two organisations, each with a child who went missing from the same spot in the same month."""
    children = []
    for kind in (OrganisationKind.LOCAL_AUTHORITY, OrganisationKind.POLICE):
        child = YoungPerson(reference=f"YP-TWO-{kind.value[:6]}", birth_month=date(2011, 1, 1), sex=2,
                            responsible_authority_code="E09000020", organisation_id=organisations[kind].id)
        session.add(child)
        session.flush()
        session.add(MissingEpisode(young_person_id=child.id, missing_type=MissingType.MISSING, started_at=STARTED,
                                   ended_at=STARTED + timedelta(hours=3), last_seen_location=POINT.wkt,
                                   last_seen_cells=cells_of(POINT)))
        children.append(child)
    session.flush()
    return children


def stored_rows(session, table: str, organisation_id: int) -> list[str]:
    """Where each of the organisation's rows is stored: a row a statement rewrote moves."""
    return session.scalars(text(f"SELECT ctid::text FROM {table} WHERE organisation_id = :o ORDER BY 1"),
                           {"o": organisation_id}).all()


def tokens(session, organisation_id: int) -> dict:
    return dict(session.execute(select(OrganisationDataVersion.table_name, OrganisationDataVersion.token)
                                .where(OrganisationDataVersion.organisation_id == organisation_id)).all())


def test_the_monthly_totals_are_recounted_only_for_the_organisation_that_changed(session, two_authorities_one_hexagon):
    """Each statement names one organisation (models.upkeep), which Citus routes to its shards."""
    ours, theirs = two_authorities_one_hexagon
    before = stored_rows(session, "episode_hex_months", theirs.organisation_id)
    assert before and stored_rows(session, "episode_hex_months", ours.organisation_id)
    episode = session.scalar(select(MissingEpisode).where(MissingEpisode.young_person_id == ours.id))
    moved = LatLng(51.52, -0.10)
    episode.last_seen_location, episode.last_seen_cells = moved.wkt, cells_of(moved)
    session.flush()
    assert stored_rows(session, "episode_hex_months", theirs.organisation_id) == before
    cells = {cell for (cell,) in session.execute(select(EpisodeHexMonth.cell).where(
        EpisodeHexMonth.organisation_id == ours.organisation_id, EpisodeHexMonth.layer == "last_seen"))}
    assert cells == {cells_of(moved)[MAP_RESOLUTIONS.index(resolution)] for resolution in AGGREGATED_RESOLUTIONS}
    session.delete(episode)
    session.flush()
    assert stored_rows(session, "episode_hex_months", theirs.organisation_id) == before
    assert stored_rows(session, "episode_hex_months", ours.organisation_id) == []


@pytest.mark.parametrize(("table", "write"), [
    ("missing_episodes", "update"), ("missing_episodes", "delete"), ("young_people", "update"),
    ("context_links", "insert"),
])
def test_a_write_renews_only_its_own_organisation_s_data_version(session, two_authorities_one_hexagon, table, write):
    ours, theirs = two_authorities_one_hexagon
    context = Context(name="Versions park", kind=ContextKind.PARK, organisation_id=ours.organisation_id,
                      geometry=POINT.wkt, cells=cells_of(POINT))
    session.add(context)
    session.flush()
    ours_before, theirs_before = tokens(session, ours.organisation_id), tokens(session, theirs.organisation_id)
    episode = session.scalar(select(MissingEpisode).where(MissingEpisode.young_person_id == ours.id))
    if table == "missing_episodes" and write == "update":
        episode.ended_at = STARTED + timedelta(hours=5)
        session.flush()
    elif table == "missing_episodes":
        session.delete(episode)
        session.flush()
    elif table == "young_people":
        ours.sex = 1
        session.flush()
    else:
        session.add(ContextLink(young_person=ours, context_id=context.id, role=LinkRole.FREQUENTS,
                                first_seen_on=date(2026, 1, 1), recorded_by_id=ours.organisation_id,
                                reliability=Reliability.CORROBORATED))
        session.flush()
    after = tokens(session, ours.organisation_id)
    assert after[table] != ours_before.get(table)
    assert {name: token for name, token in after.items() if name != table} == {
        name: token for name, token in ours_before.items() if name != table}
    assert tokens(session, theirs.organisation_id) == theirs_before


def test_one_flush_renews_the_version_of_each_organisation_it_writes(session, two_authorities_one_hexagon):
    children = two_authorities_one_hexagon
    before = {child.organisation_id: tokens(session, child.organisation_id) for child in children}
    for episode in session.scalars(select(MissingEpisode).where(
            MissingEpisode.young_person_id.in_([c.id for c in children]))):
        episode.ended_at = STARTED + timedelta(hours=6)
    session.flush()
    for child in children:
        after = tokens(session, child.organisation_id)
        assert after["missing_episodes"] != before[child.organisation_id]["missing_episodes"]
        assert after["young_people"] == before[child.organisation_id]["young_people"]
