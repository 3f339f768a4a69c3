"""A child's episodes, placements, meetings and links carry her authority's organisation_id.

Revision ID: f4b6d8a0c2e3
Revises: e2a4c6b8d0f1
Create Date: 2026-11-30 07:30:00

The first step of the Citus plan (models.distribution): the rows of one authority's children can
only share a shard with her if they hold the distribution key themselves. A foreign key on
(organisation_id, young_person_id) keeps the copy equal to hers. It does not cascade, because
Citus refuses both a cascading key on the distribution column and an update that moves a row to
another shard: a child with records stays with the organisation that holds them (an authority
taking a child on records her under its own reference, as SSDA903 does), so
move_episode_hex_months(), which carried her totals along, goes.

Row-level security tests the column itself instead of looking her up for every row, which is also
what a shard can do alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "f4b6d8a0c2e3"
down_revision = "e2a4c6b8d0f1"
branch_labels = None
depends_on = None

TABLES = ("missing_episodes", "placements", "child_meetings", "context_links")
POLICIES = {"missing_episodes": "missing_episodes_by_organisation", "placements": "placements_by_organisation",
            "child_meetings": "child_meetings_by_organisation", "context_links": "context_links_by_organisation"}
VISIBLE = "organisation_id = ANY ((SELECT csmap_visible_organisations())::integer[])"
HER = "EXISTS (SELECT 1 FROM young_people y WHERE y.id = young_person_id)"
OWNER_ONLY = "SECURITY DEFINER SET search_path = public, pg_temp"

MOVE_FUNCTION = f"""
CREATE FUNCTION move_episode_hex_months() RETURNS trigger LANGUAGE plpgsql {OWNER_ONLY} AS $$
BEGIN
    -- A no-op update of her episodes: their statement trigger recounts the totals they touch.
    UPDATE missing_episodes SET young_person_id = young_person_id WHERE young_person_id = NEW.id;
    RETURN NULL;
END $$"""
MOVE_TRIGGER = """
CREATE TRIGGER episode_hex_months_move AFTER UPDATE OF organisation_id ON young_people
FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
EXECUTE FUNCTION move_episode_hex_months()"""


def upgrade() -> None:
    op.create_unique_constraint(op.f("uq_young_people_organisation_id_id"), "young_people", ["organisation_id", "id"])
    for table in TABLES:
        op.add_column(table, sa.Column("organisation_id", sa.Integer(), nullable=True))
        # Copying the key changes nothing a trigger keeps (the totals, the data versions, the history).
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        op.execute(f"UPDATE {table} t SET organisation_id = y.organisation_id FROM young_people y "
                   "WHERE y.id = t.young_person_id")
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        op.alter_column(table, "organisation_id", nullable=False)
        op.drop_constraint(op.f(f"fk_{table}_young_person_id_young_people"), table, type_="foreignkey")
        op.create_foreign_key(op.f(f"fk_{table}_organisation_id_young_people"), table, "young_people",
                              ["organisation_id", "young_person_id"], ["organisation_id", "id"])
        op.execute(f"ALTER POLICY {POLICIES[table]} ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")
    op.execute("DROP TRIGGER episode_hex_months_move ON young_people")
    op.execute("DROP FUNCTION move_episode_hex_months()")


def downgrade() -> None:
    op.execute(MOVE_FUNCTION)
    op.execute(MOVE_TRIGGER)
    for table in reversed(TABLES):
        op.execute(f"ALTER POLICY {POLICIES[table]} ON {table} USING ({HER}) WITH CHECK ({HER})")
        op.drop_constraint(op.f(f"fk_{table}_organisation_id_young_people"), table, type_="foreignkey")
        op.create_foreign_key(op.f(f"fk_{table}_young_person_id_young_people"), table, "young_people",
                              ["young_person_id"], ["id"])
        op.drop_column(table, "organisation_id")
    op.drop_constraint(op.f("uq_young_people_organisation_id_id"), "young_people", type_="unique")
