"""Data version tokens for young people and for contexts with their links, beside the episodes'.

Revision ID: 6c8e0a2b4d71
Revises: 3f5b7d9e1a2c
Create Date: 2026-11-30 05:05:00

Results kept in memory under the tokens (webapp.data_cache) now include the dashboard and the hex
API, whose figures depend on the young people (sex and age filters), the contexts (their counts
and kinds) and the links (concern and kind filters), not only on the missing episodes. A token's
row is locked by the transaction that changes it until it ends, so each group of tables has a row
of its own: a context edited while an import runs (young people and episodes) does not wait for it.
Rows: 1 missing episodes, 2 contexts and links, 3 young people.
"""

from alembic import op

revision = "6c8e0a2b4d71"
down_revision = "3f5b7d9e1a2c"
branch_labels = None
depends_on = None

TRIGGERS = {"contexts": 2, "context_links": 2, "young_people": 3}


def upgrade() -> None:
    op.drop_constraint(op.f("ck_episode_data_versions_one_row"), "episode_data_versions", type_="check")
    op.create_check_constraint(op.f("ck_episode_data_versions_known_rows"), "episode_data_versions", "id IN (1, 2, 3)")
    op.execute("INSERT INTO episode_data_versions (id, token) VALUES (2, gen_random_uuid()), (3, gen_random_uuid())")
    # Run as the owner, like new_episode_data_version(): the app's role may not write the tokens itself.
    op.execute("""
        CREATE FUNCTION new_data_version() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = public, pg_temp AS $$
        BEGIN
            UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = TG_ARGV[0]::smallint;
            RETURN NULL;
        END $$""")
    for table, row in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION new_data_version('{row}')")


def downgrade() -> None:
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DROP FUNCTION new_data_version()")
    op.execute("DELETE FROM episode_data_versions WHERE id <> 1")
    op.drop_constraint(op.f("ck_episode_data_versions_known_rows"), "episode_data_versions", type_="check")
    op.create_check_constraint(op.f("ck_episode_data_versions_one_row"), "episode_data_versions", "id = 1")
