"""A token that changes with every write to missing_episodes, so counts read from them can be kept
in memory and known to be current (models.aggregates.EpisodeDataVersion).

Revision ID: e7f8a9b0c1d2
Revises: 5fddbb853258
Create Date: 2026-11-27 00:40:00

A new random token per writing statement, not a counter: a rolled-back transaction's token is
never seen again, so nothing cached under it can be mistaken for the data of another.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "e7f8a9b0c1d2"
down_revision = "5fddbb853258"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episode_data_versions",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("token", postgresql.UUID(as_uuid=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_episode_data_versions_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_data_versions")),
    )
    op.execute("INSERT INTO episode_data_versions (id, token) VALUES (1, gen_random_uuid())")
    op.execute("""
        CREATE FUNCTION new_episode_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE episode_data_versions SET token = gen_random_uuid() WHERE id = 1;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER episode_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
               "ON missing_episodes FOR EACH STATEMENT EXECUTE FUNCTION new_episode_data_version()")


def downgrade() -> None:
    op.execute("DROP TRIGGER episode_data_version ON missing_episodes")
    op.execute("DROP FUNCTION new_episode_data_version()")
    op.drop_table("episode_data_versions")
