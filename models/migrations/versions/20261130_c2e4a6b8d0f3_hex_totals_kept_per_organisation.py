"""The monthly hexagon totals are kept per organisation: a change to one authority's episodes
recounts only that authority's totals, from its own episodes.

Revision ID: c2e4a6b8d0f3
Revises: b8d0f2a4c6e1
Create Date: 2026-11-30 10:30:00

Before, the trigger looked each episode's organisation up in young_people, and a changed episode's
hexagon and month were deleted and recounted for every organisation. Episodes carry their
organisation now (f4b6d8a0c2e3), so the trigger reads and writes only rows of the organisations of
the episodes that fired it, and waits only for other writers of the same organisations' totals.
That is what lets it run on Citus (models.distribution): each shard
fires it for its own episodes, and its writes, keyed by the same organisation, land in the
co-located shard of the totals. The TRUNCATE trigger goes: a shard's truncate would empty every
organisation's totals (nothing in the app truncates episodes; the owner truncates both tables
together).
"""

from alembic import op

revision = "c2e4a6b8d0f3"
down_revision = "b8d0f2a4c6e1"
branch_labels = None
depends_on = None

OWNER_ONLY = "SECURITY DEFINER SET search_path = public, pg_temp"
KEYS = "CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k"

PER_ORGANISATION = f"""
CREATE OR REPLACE FUNCTION maintain_episode_hex_months() RETURNS trigger LANGUAGE plpgsql {OWNER_ONLY} AS $$
BEGIN
    -- One writer of an organisation's totals at a time; organisations in order, against deadlocks.
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'), o.organisation_id)
        FROM (SELECT DISTINCT organisation_id FROM new_rows ORDER BY organisation_id) AS o;
        INSERT INTO episode_hex_months AS total (organisation_id, layer, resolution, month, cell, young_people)
        SELECT e.organisation_id, k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
        FROM new_rows AS e {KEYS}
        GROUP BY e.organisation_id, k.layer, k.resolution, k.month, k.cell
        ON CONFLICT (layer, resolution, month, cell, organisation_id)
        DO UPDATE SET young_people = sort(total.young_people || excluded.young_people);
        RETURN NULL;
    END IF;

    CREATE TEMP TABLE touched_hex_months ON COMMIT DROP AS
    SELECT DISTINCT e.organisation_id, k.layer, k.resolution, k.month, k.cell FROM old_rows AS e {KEYS};
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO touched_hex_months
        SELECT DISTINCT e.organisation_id, k.layer, k.resolution, k.month, k.cell FROM new_rows AS e {KEYS};
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'), o.organisation_id)
    FROM (SELECT DISTINCT organisation_id FROM touched_hex_months ORDER BY organisation_id) AS o;

    -- The organisation's row of each hexagon and month it touched goes, and is counted again
    -- from that organisation's episodes of the month.
    DELETE FROM episode_hex_months AS total
    USING touched_hex_months AS t
    WHERE (total.organisation_id, total.layer, total.resolution, total.month, total.cell)
        = (t.organisation_id, t.layer, t.resolution, t.month, t.cell);

    INSERT INTO episode_hex_months (organisation_id, layer, resolution, month, cell, young_people)
    SELECT e.organisation_id, k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
    FROM (SELECT DISTINCT organisation_id, month FROM touched_hex_months) AS touched
    JOIN missing_episodes AS e
      ON e.organisation_id = touched.organisation_id
     AND e.started_at >= timezone('Europe/London', touched.month::timestamp)
     AND e.started_at < timezone('Europe/London', (touched.month + interval '1 month')::timestamp)
    {KEYS}
    JOIN (SELECT DISTINCT * FROM touched_hex_months) AS t
      ON (t.organisation_id, t.layer, t.resolution, t.month, t.cell)
       = (e.organisation_id, k.layer, k.resolution, k.month, k.cell)
    GROUP BY e.organisation_id, k.layer, k.resolution, k.month, k.cell;

    DROP TABLE touched_hex_months;
    RETURN NULL;
END
$$
"""

# As a4c8e2f61b93 made it.
EVERY_ORGANISATION = f"""
CREATE OR REPLACE FUNCTION maintain_episode_hex_months() RETURNS trigger LANGUAGE plpgsql {OWNER_ONLY} AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'));
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE episode_hex_months;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO episode_hex_months AS total (layer, resolution, month, cell, organisation_id, young_people)
        SELECT k.layer, k.resolution, k.month, k.cell, y.organisation_id, sort(array_agg(k.young_person_id))
        FROM new_rows AS e JOIN young_people AS y ON y.id = e.young_person_id
        {KEYS}
        GROUP BY k.layer, k.resolution, k.month, k.cell, y.organisation_id
        ON CONFLICT (layer, resolution, month, cell, organisation_id)
        DO UPDATE SET young_people = sort(total.young_people || excluded.young_people);
        RETURN NULL;
    END IF;

    CREATE TEMP TABLE touched_hex_months ON COMMIT DROP AS
    SELECT DISTINCT k.layer, k.resolution, k.month, k.cell FROM old_rows AS e {KEYS};
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO touched_hex_months
        SELECT DISTINCT k.layer, k.resolution, k.month, k.cell FROM new_rows AS e {KEYS};
    END IF;

    DELETE FROM episode_hex_months AS total
    USING touched_hex_months AS t
    WHERE (total.layer, total.resolution, total.month, total.cell) = (t.layer, t.resolution, t.month, t.cell);

    INSERT INTO episode_hex_months (layer, resolution, month, cell, organisation_id, young_people)
    SELECT k.layer, k.resolution, k.month, k.cell, y.organisation_id, sort(array_agg(k.young_person_id))
    FROM (SELECT DISTINCT month FROM touched_hex_months) AS touched
    JOIN missing_episodes AS e
      ON e.started_at >= timezone('Europe/London', touched.month::timestamp)
     AND e.started_at < timezone('Europe/London', (touched.month + interval '1 month')::timestamp)
    JOIN young_people AS y ON y.id = e.young_person_id
    {KEYS}
    JOIN (SELECT DISTINCT * FROM touched_hex_months) AS t
      ON (t.layer, t.resolution, t.month, t.cell) = (k.layer, k.resolution, k.month, k.cell)
    GROUP BY k.layer, k.resolution, k.month, k.cell, y.organisation_id;

    DROP TABLE touched_hex_months;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("DROP TRIGGER episode_hex_months_truncate ON missing_episodes")
    op.execute(PER_ORGANISATION)


def downgrade() -> None:
    op.execute(EVERY_ORGANISATION)
    op.execute("CREATE TRIGGER episode_hex_months_truncate AFTER TRUNCATE ON missing_episodes "
               "FOR EACH STATEMENT EXECUTE FUNCTION maintain_episode_hex_months()")
