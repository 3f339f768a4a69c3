"""Let row-level security keep the spatial indexes: PostGIS's bounding-box overlap is leakproof.

Revision ID: b7d1e5a9c3f2
Revises: a4c8e2f61b93
Create Date: 2026-11-30 02:00:00

Under row-level security PostgreSQL applies a query's own conditions after the policy's unless
their functions are marked LEAKPROOF, and only then may an index serve them. PostGIS marks none
of its operators so (PostGIS ticket 3676), so every box search of the app's role read whole tables:
the placement check's search of homes near a candidate went from 10 ms to 180 ms, the dashboard's
charts from 100 to 250 ms each. ``&&`` compares two stored bounding boxes and raises no error that
depends on a row, so marking it cannot reveal a row the policy hides. The app's box searches use
``&&`` first (models.queries.within, models.nearby) and refine with the exact test after.

Only a superuser may mark a function. ./scripts/run and ./scripts/test do it when they create the
database (scripts/lib/setup.sh); here it is done when the migrating role is a superuser (as in
docker compose), and otherwise a warning names the statement for the database administrator.
"""

import logging

from alembic import op
from sqlalchemy import text

revision = "b7d1e5a9c3f2"
down_revision = "a4c8e2f61b93"
branch_labels = None
depends_on = None

MARK = "ALTER FUNCTION geometry_overlaps(geometry, geometry) {}"


def _superuser() -> bool:
    return op.get_bind().scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))


def upgrade() -> None:
    if _superuser():
        op.execute(MARK.format("LEAKPROOF"))
    elif not op.get_bind().scalar(text("SELECT proleakproof FROM pg_proc "
                                       "WHERE oid = 'geometry_overlaps(geometry, geometry)'::regprocedure")):
        logging.getLogger("alembic.runtime.migration").warning(
            "spatial searches under row-level security will not use their indexes until a superuser runs: %s",
            MARK.format("LEAKPROOF"))


def downgrade() -> None:
    if _superuser():
        op.execute(MARK.format("NOT LEAKPROOF"))
