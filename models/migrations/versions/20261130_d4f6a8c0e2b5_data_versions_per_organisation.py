"""Data version tokens per organisation for its young people, links and missing episodes.

Revision ID: d4f6a8c0e2b5
Revises: c2e4a6b8d0f3
Create Date: 2026-11-30 11:00:00

One token per table for every organisation together meant that one authority's import made every
other organisation's kept results (webapp.data_cache) be worked out again, and that the triggers
wrote a table shared by all (a reference table on Citus, which a shard's trigger must not write).
Each statement now renews the tokens of the organisations whose rows it wrote, in
organisation_data_versions: kept with the organisation's shard on Citus, so the trigger writes only
co-located rows under the key of the rows that fired it (models.distribution). Transition tables
name those organisations, which takes a trigger per kind of statement. The contexts' token stays
in episode_data_versions (row 2; rows 1 and 3 go). TRUNCATE renews nothing any more: nothing in the
app truncates these tables, and a shard's truncate could not name its organisations.
"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6a8c0e2b5"
down_revision = "c2e4a6b8d0f3"
branch_labels = None
depends_on = None

APP_ROLE = "csmap_app"
TABLES = ("young_people", "context_links", "missing_episodes")
OLD_TRIGGERS = {"young_people": "young_people_data_version", "context_links": "context_links_data_version",
                "missing_episodes": "episode_data_version"}
# Each kind of statement, and the transition tables its trigger reads.
STATEMENTS = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
              "delete": "OLD TABLE AS old_rows"}

RENEW = """
CREATE FUNCTION new_organisation_data_version() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    -- As the owner: the app's role may read the tokens but not write them. The table's name comes
    -- as an argument, since on a Citus shard TG_TABLE_NAME is the shard's. In the organisations'
    -- order, so that two statements renewing the same ones wait for each other, not deadlock.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
        SELECT organisation_id, TG_ARGV[0], gen_random_uuid() FROM (SELECT DISTINCT organisation_id FROM new_rows) AS w
        ORDER BY organisation_id
        ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
        SELECT organisation_id, TG_ARGV[0], gen_random_uuid()
        FROM (SELECT organisation_id FROM new_rows UNION SELECT organisation_id FROM old_rows) AS w
        ORDER BY organisation_id
        ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token;
    ELSE
        INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
        SELECT organisation_id, TG_ARGV[0], gen_random_uuid() FROM (SELECT DISTINCT organisation_id FROM old_rows) AS w
        ORDER BY organisation_id
        ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token;
    END IF;
    RETURN NULL;
END $$"""

# As e7f8a9b0c1d2 and 6c8e0a2b4d71 made them.
OLD_EPISODE_FUNCTION = """
CREATE FUNCTION new_episode_data_version() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = 1;
    RETURN NULL;
END $$"""
OLD_ROWS = {"young_people": 3, "context_links": 2}


def upgrade() -> None:
    op.create_table(
        "organisation_data_versions",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("token", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_organisation_data_versions_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("organisation_id", "table_name", name=op.f("pk_organisation_data_versions")),
    )
    op.execute(f"GRANT SELECT ON organisation_data_versions TO {APP_ROLE}")
    op.execute("ALTER TABLE organisation_data_versions ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY organisation_data_versions_by_organisation ON organisation_data_versions "
               "USING (organisation_id = ANY (csmap_visible_organisations()))")
    for table in TABLES:
        op.execute(f"""
            INSERT INTO organisation_data_versions (organisation_id, table_name, token)
            SELECT organisation_id, '{table}', gen_random_uuid() FROM (SELECT DISTINCT organisation_id FROM {table}) AS o""")
    op.execute(RENEW)
    for table in TABLES:
        op.execute(f"DROP TRIGGER {OLD_TRIGGERS[table]} ON {table}")
        for statement, transitions in STATEMENTS.items():
            op.execute(f"CREATE TRIGGER {table}_data_version_{statement} AFTER {statement.upper()} ON {table} "
                       f"REFERENCING {transitions} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION new_organisation_data_version('{table}')")
    op.execute("DROP FUNCTION new_episode_data_version()")
    op.execute("DELETE FROM episode_data_versions WHERE id <> 2")
    op.drop_constraint(op.f("ck_episode_data_versions_known_rows"), "episode_data_versions", type_="check")
    op.create_check_constraint(op.f("ck_episode_data_versions_contexts_row"), "episode_data_versions", "id = 2")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_episode_data_versions_contexts_row"), "episode_data_versions", type_="check")
    op.create_check_constraint(op.f("ck_episode_data_versions_known_rows"), "episode_data_versions", "id IN (1, 2, 3)")
    op.execute("INSERT INTO episode_data_versions (id, token) VALUES (1, gen_random_uuid()), (3, gen_random_uuid())")
    op.execute(OLD_EPISODE_FUNCTION)
    for table in TABLES:
        for statement in STATEMENTS:
            op.execute(f"DROP TRIGGER {table}_data_version_{statement} ON {table}")
        if table == "missing_episodes":
            op.execute("CREATE TRIGGER episode_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       "ON missing_episodes FOR EACH STATEMENT EXECUTE FUNCTION new_episode_data_version()")
        else:
            op.execute(f"CREATE TRIGGER {OLD_TRIGGERS[table]} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION new_data_version('{OLD_ROWS[table]}')")
    op.execute("DROP FUNCTION new_organisation_data_version()")
    op.drop_table("organisation_data_versions")
