"""The totals and tokens a writer keeps are written as the writer, not as the owner.

Revision ID: 4a6c8e0b2d3f
Revises: 2e4a6c8b0d1f
Create Date: 2026-12-07 23:30:00

Tried on a Citus cluster, every write of the app failed (docs/distribution.md):

- ``csmap_recount_hex_months()``, ``csmap_renew_data_versions()`` and
  ``csmap_new_contexts_version()`` ran as the owner (SECURITY DEFINER) after the app's role had
  written rows in the same transaction. Citus refuses a second user on a shard placement the
  transaction has modified ("cannot perform query on placements that were modified in this
  transaction by a different user"). They now run as their caller, and the app's role may write
  its own organisation's totals and tokens (the organisation it acts for, ``csmap.organisation``)
  and the contexts' token, and nothing else of those tables; it still reads what it may see.
- ``csmap_renew_data_versions()`` was a ``LANGUAGE sql`` function with parameters writing a
  distributed table, which Citus cannot plan; it is PL/pgSQL now.
- ``csmap_new_contexts_version()`` evaluated ``gen_random_uuid()`` inside an UPDATE of a
  reference table, which Citus refuses for a volatile function; the token is drawn first.
"""

from alembic import op

from models.security import APP_ROLE

revision = "4a6c8e0b2d3f"
down_revision = "2e4a6c8b0d1f"
branch_labels = None
depends_on = None

VISIBLE = "organisation_id = ANY (csmap_visible_organisations())"
ACTING = "organisation_id = csmap_acting_organisation()"
KEPT = {"episode_hex_months": ("INSERT", "DELETE"), "organisation_data_versions": ("INSERT", "UPDATE")}

RENEW = """
CREATE OR REPLACE FUNCTION csmap_renew_data_versions(organisation integer, tables text[]) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    kept text;
BEGIN
    -- In the tables' order, so that two writers of the same organisation wait for each other
    -- rather than deadlock; each statement names one organisation, one shard on Citus.
    FOREACH kept IN ARRAY (SELECT array_agg(t ORDER BY t) FROM unnest(tables) AS t) LOOP
        INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
        VALUES (organisation, kept, gen_random_uuid())
        ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token;
    END LOOP;
END $$"""

NEW_CONTEXTS_VERSION = """
CREATE OR REPLACE FUNCTION csmap_new_contexts_version() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    fresh uuid := gen_random_uuid();  -- drawn here: no volatile function inside the write
BEGIN
    UPDATE episode_data_versions SET token = fresh WHERE id = 2;
END $$"""

# As 1a3c5e7b9d2f and e6a8c0e2b4d7 made them.
OLD_RENEW = """
CREATE OR REPLACE FUNCTION csmap_renew_data_versions(organisation integer, tables text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    -- As the owner: the app's role may read the tokens but not write them. In the tables' order,
    -- so that two writers of the same organisation wait for each other rather than deadlock.
    INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
    SELECT organisation, t, gen_random_uuid() FROM unnest(tables) AS t
    ORDER BY t
    ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token $$"""
OLD_NEW_CONTEXTS_VERSION = """
CREATE OR REPLACE FUNCTION csmap_new_contexts_version() RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = 2 $$"""


def upgrade() -> None:
    for table, writes in KEPT.items():
        op.execute(f"GRANT {', '.join(writes)} ON {table} TO {APP_ROLE}")
        op.execute(f"DROP POLICY {table}_by_organisation ON {table}")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({VISIBLE})")
        for write in writes:
            clause = f"WITH CHECK ({ACTING})" if write == "INSERT" else f"USING ({ACTING})"
            if write == "UPDATE":
                clause += f" WITH CHECK ({ACTING})"
            op.execute(f"CREATE POLICY {table}_{write.lower()}_own ON {table} FOR {write} {clause}")
    op.execute(f"GRANT UPDATE (token) ON episode_data_versions TO {APP_ROLE}")
    op.execute("ALTER TABLE episode_data_versions ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY episode_data_versions_read ON episode_data_versions FOR SELECT USING (true)")
    op.execute("CREATE POLICY episode_data_versions_contexts ON episode_data_versions FOR UPDATE "
               "USING (id = 2) WITH CHECK (id = 2)")
    op.execute("ALTER FUNCTION csmap_recount_hex_months(integer, date[]) SECURITY INVOKER")
    op.execute(RENEW)  # CREATE OR REPLACE without SECURITY DEFINER: they run as their caller
    op.execute(NEW_CONTEXTS_VERSION)


def downgrade() -> None:
    op.execute(OLD_NEW_CONTEXTS_VERSION)
    op.execute(OLD_RENEW)
    op.execute("ALTER FUNCTION csmap_recount_hex_months(integer, date[]) SECURITY DEFINER")
    op.execute("DROP POLICY episode_data_versions_contexts ON episode_data_versions")
    op.execute("DROP POLICY episode_data_versions_read ON episode_data_versions")
    op.execute("ALTER TABLE episode_data_versions DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE UPDATE (token) ON episode_data_versions FROM {APP_ROLE}")
    for table, writes in KEPT.items():
        for write in writes:
            op.execute(f"DROP POLICY {table}_{write.lower()}_own ON {table}")
        op.execute(f"DROP POLICY {table}_read ON {table}")
        op.execute(f"CREATE POLICY {table}_by_organisation ON {table} USING ({VISIBLE})")
        op.execute(f"REVOKE {', '.join(writes)} ON {table} FROM {APP_ROLE}")
