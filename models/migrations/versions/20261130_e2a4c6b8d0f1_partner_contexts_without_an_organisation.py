"""With no organisation named, csmap_partner_contexts() is empty instead of failing.

Revision ID: e2a4c6b8d0f1
Revises: 6c8e0a2b4d71
Create Date: 2026-11-30 07:00:00

``ARRAY[csmap_acting_organisation()]`` is ``{NULL}`` when a transaction names no organisation, and
the GIN index on ``case_records.agency_ids`` refuses a null ("array must not contain nulls"): every
read of contexts through that index failed instead of seeing nothing. Found on a signed-in user's
404 page, whose menu counted the user's items before any organisation had been named.
"""

from alembic import op

revision = "e2a4c6b8d0f1"
down_revision = "6c8e0a2b4d71"
branch_labels = None
depends_on = None

GUARDED = """CREATE OR REPLACE FUNCTION csmap_partner_contexts() RETURNS integer[] LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        acting integer := csmap_acting_organisation();
    BEGIN
        IF acting IS NULL THEN
            RETURN '{}';
        END IF;
        RETURN (SELECT coalesce(array_agg(id), '{}') FROM (
            SELECT id FROM contexts WHERE responsible_organisation_id = acting
            UNION SELECT context_id FROM case_records WHERE agency_ids @> ARRAY[acting]
        ) involved);
    END $$"""
# As 3f5b7d9e1a2c made it.
UNGUARDED = """CREATE OR REPLACE FUNCTION csmap_partner_contexts() RETURNS integer[] LANGUAGE sql STABLE
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(array_agg(id), '{}') FROM (
        SELECT id FROM contexts WHERE responsible_organisation_id = csmap_acting_organisation()
        UNION SELECT context_id FROM case_records WHERE agency_ids @> ARRAY[csmap_acting_organisation()]
    ) involved $$"""


def upgrade() -> None:
    op.execute(GUARDED)


def downgrade() -> None:
    op.execute(UNGUARDED)
