"""Monthly hexagon totals by organisation, under row-level security like the episodes they count.

Revision ID: a4c8e2f61b93
Revises: 0d2bb04159e4
Create Date: 2026-11-30 01:20:00

The totals held every organisation's young people in one row per hexagon and month, so in a
database of several authorities the dashboard's whole-month counts (and the placement check's
hotspot field) mixed them, whatever the episodes' own policy said. Each row now belongs to the
organisation of its young people and is read under the same rule as they are. A young person moved
to another organisation takes her totals with her: her episodes are touched, and the triggers
recount them.
"""

from alembic import op

revision = "a4c8e2f61b93"
down_revision = "0d2bb04159e4"
branch_labels = None
depends_on = None

VISIBLE = "organisation_id = ANY (csmap_visible_organisations())"
OWNER_ONLY = "SECURITY DEFINER SET search_path = public, pg_temp"


def row_key(by_organisation: bool) -> tuple[str, str, str]:
    """A total's key as selected, its columns, and the join that finds an episode's organisation."""
    if by_organisation:
        return ("k.layer, k.resolution, k.month, k.cell, y.organisation_id",
                "layer, resolution, month, cell, organisation_id",
                "JOIN young_people AS y ON y.id = e.young_person_id")
    return "k.layer, k.resolution, k.month, k.cell", "layer, resolution, month, cell", ""


def maintain_function(by_organisation: bool) -> str:
    """The trigger function of migration c3d9e1f2a7b4, with the organisation in each row's key
    when ``by_organisation``. It runs as the owner (migration 116d89ef252f), so it sees and keeps
    every organisation's rows."""
    key, columns, owner = row_key(by_organisation)
    return f"""
CREATE OR REPLACE FUNCTION maintain_episode_hex_months() RETURNS trigger LANGUAGE plpgsql {OWNER_ONLY} AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'));
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE episode_hex_months;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO episode_hex_months AS total ({columns}, young_people)
        SELECT {key}, sort(array_agg(k.young_person_id))
        FROM new_rows AS e {owner}
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
        GROUP BY {key}
        ON CONFLICT ({columns})
        DO UPDATE SET young_people = sort(total.young_people || excluded.young_people);
        RETURN NULL;
    END IF;

    CREATE TEMP TABLE touched_hex_months ON COMMIT DROP AS
    SELECT DISTINCT k.layer, k.resolution, k.month, k.cell
    FROM old_rows AS e
    CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO touched_hex_months
        SELECT DISTINCT k.layer, k.resolution, k.month, k.cell
        FROM new_rows AS e
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k;
    END IF;

    -- Every organisation's row of a touched hexagon and month goes, and is counted again.
    DELETE FROM episode_hex_months AS total
    USING touched_hex_months AS t
    WHERE (total.layer, total.resolution, total.month, total.cell) = (t.layer, t.resolution, t.month, t.cell);

    INSERT INTO episode_hex_months ({columns}, young_people)
    SELECT {key}, sort(array_agg(k.young_person_id))
    FROM (SELECT DISTINCT month FROM touched_hex_months) AS touched
    JOIN missing_episodes AS e
      ON e.started_at >= timezone('Europe/London', touched.month::timestamp)
     AND e.started_at < timezone('Europe/London', (touched.month + interval '1 month')::timestamp)
    {owner}
    CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
    JOIN (SELECT DISTINCT * FROM touched_hex_months) AS t
      ON (t.layer, t.resolution, t.month, t.cell) = (k.layer, k.resolution, k.month, k.cell)
    GROUP BY {key};

    DROP TABLE touched_hex_months;
    RETURN NULL;
END
$$
"""


def recount(by_organisation: bool) -> str:
    key, columns, owner = row_key(by_organisation)
    return f"""
        INSERT INTO episode_hex_months ({columns}, young_people)
        SELECT {key}, sort(array_agg(k.young_person_id))
        FROM missing_episodes AS e {owner}
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
        GROUP BY {key}
    """


MOVE_FUNCTION = f"""
CREATE FUNCTION move_episode_hex_months() RETURNS trigger LANGUAGE plpgsql {OWNER_ONLY} AS $$
BEGIN
    -- A no-op update of her episodes: their statement trigger recounts the totals they touch.
    UPDATE missing_episodes SET young_person_id = young_person_id WHERE young_person_id = NEW.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("TRUNCATE episode_hex_months")
    op.execute("ALTER TABLE episode_hex_months DROP CONSTRAINT pk_episode_hex_months")
    op.execute("ALTER TABLE episode_hex_months ADD COLUMN organisation_id integer NOT NULL "
               "CONSTRAINT fk_episode_hex_months_organisation_id_organisations REFERENCES organisations (id)")
    op.execute("ALTER TABLE episode_hex_months ADD CONSTRAINT pk_episode_hex_months "
               "PRIMARY KEY (layer, resolution, month, cell, organisation_id)")
    op.execute(maintain_function(by_organisation=True))
    op.execute(recount(by_organisation=True))
    op.execute(MOVE_FUNCTION)
    op.execute("CREATE TRIGGER episode_hex_months_move AFTER UPDATE OF organisation_id ON young_people "
               "FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id) "
               "EXECUTE FUNCTION move_episode_hex_months()")
    op.execute("ALTER TABLE episode_hex_months ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY episode_hex_months_by_organisation ON episode_hex_months USING ({VISIBLE})")


def downgrade() -> None:
    op.execute("DROP POLICY episode_hex_months_by_organisation ON episode_hex_months")
    op.execute("ALTER TABLE episode_hex_months DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TRIGGER episode_hex_months_move ON young_people")
    op.execute("DROP FUNCTION move_episode_hex_months()")
    op.execute("TRUNCATE episode_hex_months")
    op.execute("ALTER TABLE episode_hex_months DROP CONSTRAINT pk_episode_hex_months")
    op.execute("ALTER TABLE episode_hex_months DROP COLUMN organisation_id")
    op.execute("ALTER TABLE episode_hex_months ADD CONSTRAINT pk_episode_hex_months "
               "PRIMARY KEY (layer, resolution, month, cell)")
    op.execute(maintain_function(by_organisation=False))
    op.execute(recount(by_organisation=False))
