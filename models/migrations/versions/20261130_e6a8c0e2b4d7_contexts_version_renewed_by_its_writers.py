"""The contexts' data version token is renewed by the writers of contexts, not by a trigger.

Revision ID: e6a8c0e2b4d7
Revises: d4f6a8c0e2b5
Create Date: 2026-11-30 11:30:00

contexts is a reference table on Citus (models.distribution): a copy on every node, each of which
would fire a trigger that writes another table, starting a write to every node from each. The
writers renew the token in their own transaction instead, through csmap_new_contexts_version():
every session that flushes or runs a statement changing contexts (models.contexts), and the demo's
bulk load. A change made outside the app (psql) calls it too, or the app's kept results stay as
they were until it restarts.
"""

from alembic import op

revision = "e6a8c0e2b4d7"
down_revision = "d4f6a8c0e2b5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # As the owner: the app's role may read the token but not write the table.
    op.execute("""
        CREATE FUNCTION csmap_new_contexts_version() RETURNS void LANGUAGE sql SECURITY DEFINER
        SET search_path = public, pg_temp AS $$
        UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = 2 $$""")
    op.execute("DROP TRIGGER contexts_data_version ON contexts")
    op.execute("DROP FUNCTION new_data_version()")


def downgrade() -> None:
    # As 6c8e0a2b4d71 made them.
    op.execute("""
        CREATE FUNCTION new_data_version() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = public, pg_temp AS $$
        BEGIN
            UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = TG_ARGV[0]::smallint;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER contexts_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contexts "
               "FOR EACH STATEMENT EXECUTE FUNCTION new_data_version('2')")
    op.execute("DROP FUNCTION csmap_new_contexts_version()")
