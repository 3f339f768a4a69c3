"""The Citus distribution plan, checked against the catalogue: small schemas that break one rule
each, and the real one."""

import pytest
from sqlalchemy import text

from models.distribution import ANCHOR, PLAN, Placing, blockers, distribution_sql, tables

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
    ([f"CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, id int PRIMARY KEY)"],
     {ANCHOR: Placing.DISTRIBUTED}, f"{ANCHOR}: {ANCHOR}_pkey (id) must include organisation_id"),
    ([ANCHOR_TABLE, f"ALTER TABLE {SCHEMA}.{ANCHOR} ADD CONSTRAINT one_id UNIQUE (id)",
      f"CREATE TABLE {SCHEMA}.links (organisation_id int NOT NULL, person_id int REFERENCES {SCHEMA}.{ANCHOR} (id))"],
     {ANCHOR: Placing.DISTRIBUTED, "links": Placing.DISTRIBUTED},
     f"links: links_person_id_fkey refers to {ANCHOR} without organisation_id"),
    ([ANCHOR_TABLE, f"""CREATE TABLE {SCHEMA}.notes (organisation_id int, person_id int,
                       FOREIGN KEY (organisation_id, person_id) REFERENCES {SCHEMA}.{ANCHOR} (organisation_id, id))"""],
     {ANCHOR: Placing.DISTRIBUTED, "notes": Placing.REFERENCE},
     "notes: notes_organisation_id_person_id_fkey: a reference table may refer only to reference tables"),
    ([f"CREATE TABLE {SCHEMA}.audit (id int PRIMARY KEY)",
      f"CREATE TABLE {SCHEMA}.{ANCHOR} (organisation_id int NOT NULL, audit_id int REFERENCES {SCHEMA}.audit)"],
     {ANCHOR: Placing.DISTRIBUTED, "audit": Placing.COORDINATOR},
     f"{ANCHOR}: {ANCHOR}_audit_id_fkey refers to audit, which is on the coordinator only"),
    ([ANCHOR_TABLE, f"CREATE TABLE {SCHEMA}.visits (organisation_id int NOT NULL, person_id int)",
      f"ALTER TABLE {SCHEMA}.visits ENABLE ROW LEVEL SECURITY",
      f"CREATE POLICY by_person ON {SCHEMA}.visits USING (EXISTS (SELECT 1 FROM {SCHEMA}.{ANCHOR} p "
      f"WHERE p.id = person_id))"],
     {ANCHOR: Placing.DISTRIBUTED, "visits": Placing.DISTRIBUTED},
     f"visits: policy by_person reads {ANCHOR} for each row"),
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


def test_every_table_of_the_schema_is_placed(connection):
    assert tables(connection) == PLAN.keys()
    assert not [blocker for blocker in blockers(connection) if "placed" in blocker.problem]


def test_the_statements_create_what_a_table_refers_to_first(connection):
    statements = distribution_sql(connection)
    order = {statement.split("'")[1]: position for position, statement in enumerate(statements)}
    assert order.keys() == PLAN.keys() - {"alembic_version"}
    assert statements[order[ANCHOR]] == f"SELECT create_distributed_table('{ANCHOR}', 'organisation_id');"
    references = connection.execute(text("""
        SELECT DISTINCT c.relname, f.relname FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid
        WHERE k.contype = 'f' AND k.conrelid <> k.confrelid""")).all()
    for table, target in references:
        if PLAN[table] == PLAN[target] == Placing.REFERENCE:
            assert order[target] < order[table], (table, target)
