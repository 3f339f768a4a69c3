"""Monthly hexagon totals of missing episodes (models.aggregates), kept by triggers.

Revision ID: c3d9e1f2a7b4
Revises: b450ab42d1a9
Create Date: 2026-11-26 18:10:00

Inserts merge their episodes into the rows they touch. Updates and deletes recount the rows they
touch from the episodes of those months (a range scan on started_at). A transaction-level
advisory lock serialises the maintenance, so two writers never recount from stale snapshots.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "c3d9e1f2a7b4"
down_revision = "b450ab42d1a9"
branch_labels = None
depends_on = None

# Resolutions 6 to 9: positions 1 to 4 of the stored cells arrays (models.aggregates).
KEYS_FUNCTION = """
CREATE FUNCTION episode_hex_keys(last_seen_cells bigint[], found_cells bigint[], started_at timestamptz,
                                 young_person_id integer)
RETURNS TABLE (layer varchar, resolution smallint, month date, cell bigint, young_person_id integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ends.layer, (5 + position)::smallint,
           date_trunc('month', timezone('Europe/London', started_at))::date,
           ends.cells[position], young_person_id
    FROM (VALUES ('last_seen'::varchar, last_seen_cells), ('found', found_cells)) AS ends (layer, cells)
    CROSS JOIN generate_series(1, 4) AS position
    WHERE ends.cells IS NOT NULL
$$
"""

MAINTAIN_FUNCTION = """
CREATE FUNCTION maintain_episode_hex_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'));
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE episode_hex_months;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO episode_hex_months AS total (layer, resolution, month, cell, young_people)
        SELECT k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
        FROM new_rows AS e
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (layer, resolution, month, cell)
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

    DELETE FROM episode_hex_months AS total
    USING touched_hex_months AS t
    WHERE (total.layer, total.resolution, total.month, total.cell) = (t.layer, t.resolution, t.month, t.cell);

    INSERT INTO episode_hex_months (layer, resolution, month, cell, young_people)
    SELECT k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
    FROM (SELECT DISTINCT month FROM touched_hex_months) AS touched
    JOIN missing_episodes AS e
      ON e.started_at >= timezone('Europe/London', touched.month::timestamp)
     AND e.started_at < timezone('Europe/London', (touched.month + interval '1 month')::timestamp)
    CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
    JOIN (SELECT DISTINCT * FROM touched_hex_months) AS t
      ON (t.layer, t.resolution, t.month, t.cell) = (k.layer, k.resolution, k.month, k.cell)
    GROUP BY 1, 2, 3, 4;

    DROP TABLE touched_hex_months;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    # intarray (a trusted contrib extension) merges sorted integer arrays in C. Only where missing,
    # as Citus passes CREATE EXTENSION on to the workers even when it exists (see 7c247435eb7e).
    if not op.get_bind().scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'intarray'")):
        op.execute("CREATE EXTENSION intarray")
    op.execute("CREATE AGGREGATE distinct_union (integer[]) (SFUNC = _int_union, STYPE = integer[], INITCOND = '{}')")
    op.create_table(
        "episode_hex_months",
        sa.Column("layer", sa.String(length=9), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("young_people", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("layer", "resolution", "month", "cell", name=op.f("pk_episode_hex_months")),
    )
    op.execute(KEYS_FUNCTION)
    op.execute(MAINTAIN_FUNCTION)
    for event, tables in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                          ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(
            f"CREATE TRIGGER episode_hex_months_{event.lower()} AFTER {event} ON missing_episodes "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION maintain_episode_hex_months()"
        )
    op.execute("CREATE TRIGGER episode_hex_months_truncate AFTER TRUNCATE ON missing_episodes "
               "FOR EACH STATEMENT EXECUTE FUNCTION maintain_episode_hex_months()")
    op.execute("""
        INSERT INTO episode_hex_months (layer, resolution, month, cell, young_people)
        SELECT k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
        FROM missing_episodes AS e
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
        GROUP BY 1, 2, 3, 4
    """)


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER episode_hex_months_{event} ON missing_episodes")
    op.execute("DROP FUNCTION maintain_episode_hex_months()")
    op.execute("DROP FUNCTION episode_hex_keys(bigint[], bigint[], timestamptz, integer)")
    op.drop_table("episode_hex_months")
    op.execute("DROP AGGREGATE distinct_union (integer[])")
