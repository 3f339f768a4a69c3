"""The policies' organisations come from a setting the transaction names, not from a table.

Revision ID: b8d0f2a4c6e1
Revises: a7c9e1b3d5f2
Create Date: 2026-11-30 10:00:00

Citus evaluates a distributed table's policy on each shard alone, where it may read settings but
no table. ``models.security.act_for`` now names both the organisation (``csmap.organisation_id``)
and the organisations it may read (``csmap.visible_organisations``: its own and those sharing with
it, from ``csmap_organisations_visible_to``), and ``csmap_visible_organisations()``, which the
policies call, only reads that setting.

The policies keep c9e3f7a1d5b8's form, ``(SELECT csmap_visible_organisations())``, which reads the
setting once per query: called directly, the setting was read and parsed for every row, and scans
of a million episodes took 0.1 s longer (the night-time filter 662 ms instead of 564). Citus
refuses even that subquery, so the distribution step rewrites these policies to the direct call
(models.distribution.adjustments).
"""

from alembic import op

revision = "b8d0f2a4c6e1"
down_revision = "a7c9e1b3d5f2"
branch_labels = None
depends_on = None

VISIBLE_TO = """CREATE FUNCTION csmap_organisations_visible_to(organisation integer) RETURNS integer[]
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN organisation IS NULL THEN '{}'::integer[]
           ELSE array_append(ARRAY(SELECT authority_id FROM organisation_sharing WHERE partner_id = organisation),
                             organisation) END $$"""
FROM_SETTING = """CREATE OR REPLACE FUNCTION csmap_visible_organisations() RETURNS integer[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('csmap.visible_organisations', true), '')::integer[], '{}') $$"""
# As 116d89ef252f made it.
FROM_SHARING = """CREATE OR REPLACE FUNCTION csmap_visible_organisations() RETURNS integer[] LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN csmap_acting_organisation() IS NULL THEN '{}'::integer[]
               ELSE array_append(ARRAY(SELECT authority_id FROM organisation_sharing
                                       WHERE partner_id = csmap_acting_organisation()),
                                 csmap_acting_organisation()) END $$"""


def upgrade() -> None:
    op.execute(VISIBLE_TO)
    op.execute(FROM_SETTING)


def downgrade() -> None:
    op.execute(FROM_SHARING)
    op.execute("DROP FUNCTION csmap_organisations_visible_to(integer)")
