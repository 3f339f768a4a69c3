"""The Citus distribution plan, checked against the catalogue: small schemas that break one rule
each, and the real one."""

import re

import pytest
from sqlalchemy import select, text

from models.base import make_engine
from models.codes import ContextKind
from models.distribution import ANCHOR, PLAN, Placing, adjustments, blockers, distribution_sql, tables
from models.queries import EpisodeSelection, episode_hex_counts
from models.safeguarding import MissingEpisode, Placement, YoungPerson
from models.security import act_for
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
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.tally (n int)",
      f"""CREATE FUNCTION {SCHEMA}.count_people() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN UPDATE {SCHEMA}.tally SET n = n + 1; RETURN NULL; END $$""",
      f"CREATE TRIGGER counted AFTER INSERT ON {SCHEMA}.{ANCHOR} EXECUTE FUNCTION {SCHEMA}.count_people()"],
     {ANCHOR: Placing.DISTRIBUTED, "tally": Placing.REFERENCE},
     f"{ANCHOR}: trigger counted runs count_people(), which writes beyond its own row"),
])
def test_each_rule_citus_enforces_is_named(scratch, statements, plan, problem):
    for statement in statements:
        scratch.execute(text(statement))
    found = [str(blocker) for blocker in blockers(scratch, plan, SCHEMA)]
    assert [blocker for blocker in found if blocker.startswith(problem)], found


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


def test_every_distributed_table_holds_the_key_refers_to_the_others_by_it_and_reads_settings(connection):
    """Done so far (migrations f4b6d8a0c2e3 and b8d0f2a4c6e1); README "Past one machine" lists
    what remains: the triggers."""
    problems = [str(blocker) for blocker in blockers(connection)]
    assert all(" trigger " in problem for problem in problems), problems


def test_the_statements_create_what_a_table_refers_to_first(connection):
    statements = distribution_sql(connection)
    assert statements[:len(adjustments(connection))] == adjustments(connection)
    order = {statement.split("'")[1]: position for position, statement in enumerate(statements)
             if statement.startswith("SELECT")}
    assert order.keys() == PLAN.keys() - {"alembic_version"}
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


@pytest.mark.parametrize("query", [
    episode_hex_counts(8),  # the monthly totals
    episode_hex_counts(9, EpisodeSelection(hours=(22, 6), concerns=frozenset({"11A"}))),  # episodes, people, links
    select(MissingEpisode.started_at, Placement.postcode).select_from(YoungPerson).join(MissingEpisode).join(Placement)
    .where(YoungPerson.reference == "YP-0001"),
], ids=["monthly totals", "filtered episodes", "a child's page"])
def test_each_distributed_table_a_query_reads_is_filtered_by_its_own_key(as_the_app, query):
    """Under Citus each of these scans runs on the shards holding the organisations named."""
    with as_the_app.begin() as connection:
        act_for(connection, 1)
        plan = explain(connection, query)
    read = [node for node in scans(plan) if PLAN.get(node["Relation Name"]) == Placing.DISTRIBUTED]
    assert read
    for node in read:
        conditions = " ".join(str(node.get(key, "")) for key in ("Filter", "Index Cond", "Recheck Cond"))
        assert f"{node['Alias']}.organisation_id = ANY" in conditions, (node["Relation Name"], conditions)


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


@pytest.mark.parametrize("selection", [
    EpisodeSelection(organisations=(1, 2)),
    EpisodeSelection(organisations=(1, 2), sex=2, ages=(13, 15), hours=(22, 6), concerns=frozenset({"11A"}),
                     kinds=frozenset({ContextKind.TAKEAWAY})),
], ids=["monthly totals", "every filter"])
def test_a_selection_names_its_organisations_as_constants_and_joins_on_the_key(as_the_app, selection):
    """What Citus needs to send a map's query to the shards of those organisations only: a constant
    key on every distributed table, and every join between a child's rows made on the key too."""
    with as_the_app.begin() as connection:
        act_for(connection, 1)
        every = nodes(explain(connection, episode_hex_counts(8, selection)))
    joins = [conditions_of(node) for node in every if JOIN_ON_A_CHILD.search(conditions_of(node))]
    assert joins or selection.by_date_and_place_only
    assert all(JOIN_ON_THE_KEY.search(condition) for condition in joins), joins
    # Each table holds the constants itself, or is joined on the key to one that does.
    joined_on_the_key = {alias for condition in joins for alias in re.findall(r"(\w+)\.organisation_id", condition)}
    for node in every:
        if PLAN.get(node.get("Relation Name")) == Placing.DISTRIBUTED:
            constant = f"{node['Alias']}.organisation_id = ANY ('{{1,2}}'::integer[])" in conditions_of(node)
            assert constant or node["Alias"] in joined_on_the_key, (node["Alias"], conditions_of(node), joins)
